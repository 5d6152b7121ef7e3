// OpenID Connect sign-in: authorization code + PKCE (RFC 7636) against the issuer the server
// publishes at GET /v1/auth/config, with oauth4webapi (standards-only, works with Entra ID and
// any OIDC issuer; DESIGN.md "Web sign-in" says why not MSAL). The UI is a public client: no
// secret, PKCE instead. Tokens live in this tab's sessionStorage only (never localStorage): a
// reload keeps the session, closing the tab ends it. The access token is renewed with the refresh
// token before it expires; without one the user is asked to sign in again.
import * as oauth from "oauth4webapi";

export interface OidcConfig {
  issuer: string;
  client_id: string | null;
  scopes: string[];
  redirect_uri: string | null;
}

export interface AuthConfig {
  auth_enabled: boolean;
  methods: string[];
  oidc: OidcConfig | null;
}

interface Session {
  access_token: string;
  refresh_token?: string;
  id_token?: string;
  expires_at: number; // ms since the epoch
}

interface Pending {
  verifier: string;
  state: string;
  nonce: string;
  hash: string; // where the user was (#/c/<conversation>)
}

const SESSION_KEY = "kaito-rag.oidc-session";
const PENDING_KEY = "kaito-rag.oidc-pending";
const RENEW_MARGIN_MS = 60_000; // renew a token this long before it expires

let config: AuthConfig = { auth_enabled: false, methods: [], oidc: null };
let server: oauth.AuthorizationServer | null = null;
let renewing: Promise<string | null> | null = null;

export function authConfig(): AuthConfig {
  return config;
}

// OIDC sign-in is offered when the server has an issuer and a client id for the UI.
export function oidcAvailable(): boolean {
  return Boolean(config.oidc?.client_id);
}

export function signedIn(): boolean {
  return readSession() !== null;
}

export async function loadAuthConfig(): Promise<AuthConfig> {
  try {
    const res = await fetch("/v1/auth/config");
    if (res.ok) config = (await res.json()) as AuthConfig;
  } catch {
    /* the server is unreachable: start() reports it */
  }
  return config;
}

function readSession(): Session | null {
  try {
    return JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? "null") as Session | null;
  } catch {
    return null;
  }
}

function saveTokens(result: oauth.TokenEndpointResponse, previous?: Session): void {
  const session: Session = {
    access_token: result.access_token,
    refresh_token: result.refresh_token ?? previous?.refresh_token,
    id_token: result.id_token ?? previous?.id_token,
    expires_at: Date.now() + (result.expires_in ?? 3600) * 1000,
  };
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
}

function client(): oauth.Client {
  return { client_id: config.oidc!.client_id! };
}

function redirectUri(): string {
  return config.oidc?.redirect_uri || `${location.origin}/`;
}

// http is accepted only for an issuer on this machine (tests, local development).
function httpOptions(issuer: URL): { [oauth.allowInsecureRequests]?: boolean } {
  const loopback = ["127.0.0.1", "localhost", "[::1]"].includes(issuer.hostname);
  return issuer.protocol === "http:" && loopback ? { [oauth.allowInsecureRequests]: true } : {};
}

async function authorizationServer(): Promise<oauth.AuthorizationServer> {
  if (server) return server;
  const issuer = new URL(config.oidc!.issuer);
  const response = await oauth.discoveryRequest(issuer, { algorithm: "oidc", ...httpOptions(issuer) });
  server = await oauth.processDiscoveryResponse(issuer, response);
  return server;
}

function options(): { [oauth.allowInsecureRequests]?: boolean } {
  return httpOptions(new URL(config.oidc!.issuer));
}

// Leaves the page for the issuer's sign-in; completeSignIn() picks up the answer.
export async function beginSignIn(): Promise<void> {
  const as = await authorizationServer();
  const pending: Pending = {
    verifier: oauth.generateRandomCodeVerifier(),
    state: oauth.generateRandomState(),
    nonce: oauth.generateRandomNonce(),
    hash: location.hash,
  };
  sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  const url = new URL(as.authorization_endpoint!);
  url.searchParams.set("client_id", config.oidc!.client_id!);
  url.searchParams.set("redirect_uri", redirectUri());
  url.searchParams.set("response_type", "code");
  url.searchParams.set("scope", ["openid", "profile", ...config.oidc!.scopes].join(" "));
  url.searchParams.set("code_challenge", await oauth.calculatePKCECodeChallenge(pending.verifier));
  url.searchParams.set("code_challenge_method", "S256");
  url.searchParams.set("state", pending.state);
  url.searchParams.set("nonce", pending.nonce);
  location.assign(url.href);
}

// After the issuer redirected back with ?code=…&state=… (or ?error=…): trades the code for
// tokens. Returns false when this page load is not a sign-in answer; throws with a readable
// message when the sign-in failed.
export async function completeSignIn(): Promise<boolean> {
  const params = new URLSearchParams(location.search);
  const raw = sessionStorage.getItem(PENDING_KEY);
  if (!raw || (!params.has("code") && !params.has("error"))) return false;
  sessionStorage.removeItem(PENDING_KEY);
  const pending = JSON.parse(raw) as Pending;
  // The code is single-use: take it out of the address bar and history at once.
  history.replaceState(null, "", location.pathname + pending.hash);
  if (!oidcAvailable()) throw new Error("this server no longer offers sign-in");
  const as = await authorizationServer();
  let callback: URLSearchParams;
  try {
    callback = oauth.validateAuthResponse(as, client(), params, pending.state);
  } catch (e) {
    const described = e instanceof oauth.AuthorizationResponseError ? e.error_description || e.error : (e as Error).message;
    throw new Error(`sign-in was not completed: ${described}`);
  }
  const response = await oauth.authorizationCodeGrantRequest(as, client(), oauth.None(), callback, redirectUri(), pending.verifier, options());
  const result = await oauth.processAuthorizationCodeResponse(as, client(), response, { expectedNonce: pending.nonce, requireIdToken: true });
  saveTokens(result);
  return true;
}

// The token for API calls, renewed first when it is about to expire; null when there is no
// session or it expired and cannot be renewed (the user has to sign in again).
export async function accessToken(): Promise<string | null> {
  const session = readSession();
  if (!session) return null;
  if (session.expires_at - Date.now() > RENEW_MARGIN_MS) return session.access_token;
  return renew();
}

// Renews with the refresh token (one renewal at a time); on failure the session ends.
export function renew(): Promise<string | null> {
  renewing ??= (async () => {
    const session = readSession();
    try {
      if (!session?.refresh_token || !oidcAvailable()) throw new Error("no refresh token");
      const as = await authorizationServer();
      const response = await oauth.refreshTokenGrantRequest(as, client(), oauth.None(), session.refresh_token, options());
      const result = await oauth.processRefreshTokenResponse(as, client(), response);
      saveTokens(result, session);
      return result.access_token;
    } catch {
      sessionStorage.removeItem(SESSION_KEY);
      return null;
    } finally {
      renewing = null;
    }
  })();
  return renewing;
}

// Ends the session here, then at the issuer when it supports RP-initiated logout (so the
// next sign-in asks for the password again); the issuer sends the browser back to the UI.
export async function signOut(): Promise<void> {
  const session = readSession();
  sessionStorage.removeItem(SESSION_KEY);
  if (!session || !oidcAvailable()) return;
  let endSession: string | undefined;
  try {
    endSession = (await authorizationServer()).end_session_endpoint;
  } catch {
    return;
  }
  if (!endSession) return;
  const url = new URL(endSession);
  url.searchParams.set("client_id", config.oidc!.client_id!);
  url.searchParams.set("post_logout_redirect_uri", redirectUri());
  if (session.id_token) url.searchParams.set("id_token_hint", session.id_token);
  location.assign(url.href);
}
