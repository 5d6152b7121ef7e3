// A real OpenID provider for tests/e2e/test_auth.py and the web UI's sign-in test
// (web/tests/browser/signin.test.mjs): oidc-provider (certified OpenID Connect implementation) on
// 127.0.0.1, issuing JWT access tokens with resource indicators
//  - by client_credentials: clients stand for users and carry Entra-style app roles in `roles`;
//  - by authorization code + PKCE to the public client "kaito-rag-ui" (the web UI, like Entra's
//    single-page-application platform): a user signs in on the login page below.
//
//   node oidc_provider.mjs PORT KEYS_FILE [UI_REDIRECT_URIS]
// KEYS_FILE: {"keys": [private JWKs]} used besides the provider's own generated keys (the test
// signs its negative-case tokens with them); "" for none. UI_REDIRECT_URIS: comma-separated
// redirect URIs of the web UI client (its origins are also the ones CORS allows).
// POST /__test/rotate puts a new RSA signing key first; the old keys stay published, as an
// issuer's rollover does.
import { generateKeyPairSync, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import Provider from "oidc-provider";

const [port, keysFile, uiRedirects = ""] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;
const extraKeys = keysFile ? JSON.parse(readFileSync(keysFile, "utf8")).keys : [];
const uiRedirectUris = uiRedirects.split(",").filter(Boolean);
const uiOrigins = new Set(uiRedirectUris.map((u) => new URL(u).origin));

// client_id -> app roles (what Entra puts into `roles` for assigned users and apps)
const ROLES = {
  alice: ["reader"],
  bob: ["reader"],
  writer: ["writer"],
  admin: ["admin"],
  norole: [],
};

function newKey(type) {
  const { privateKey } = type === "EC"
    ? generateKeyPairSync("ec", { namedCurve: "P-256" })
    : generateKeyPairSync("rsa", { modulusLength: 2048 });
  const jwk = privateKey.export({ format: "jwk" });
  return { ...jwk, kid: `${type.toLowerCase()}-${randomUUID().slice(0, 8)}`, use: "sig", alg: type === "EC" ? "ES256" : "RS256" };
}

// People who sign in at the login page: password and app roles.
const USERS = {
  alice: { password: "alice-password", name: "Alice Example", roles: ["reader"] },
  carol: { password: "carol-password", name: "Carol Example", roles: ["writer"] },
};
const UI_CLIENT = "kaito-rag-ui";
const API = "api://kaito-rag";

// Signing keys, first match per algorithm signs.
let keys = [newKey("RSA"), newKey("EC"), ...extraKeys];

function makeProvider() {
  const provider = new Provider(issuer, {
    clients: [
      ...Object.keys(ROLES).map((id) => ({
        client_id: id,
        client_secret: `${id}-secret`,
        grant_types: ["client_credentials"],
        redirect_uris: [],
        response_types: [],
        token_endpoint_auth_method: "client_secret_post",
      })),
      ...(uiRedirectUris.length === 0 ? [] : [{
        client_id: UI_CLIENT,
        application_type: "web",
        token_endpoint_auth_method: "none", // public client: PKCE instead of a secret
        grant_types: ["authorization_code", "refresh_token"],
        response_types: ["code"],
        redirect_uris: uiRedirectUris,
        post_logout_redirect_uris: uiRedirectUris,
      }]),
    ],
    jwks: { keys },
    claims: { openid: ["sub"], profile: ["name", "preferred_username"] },
    findAccount: (ctx, id) => USERS[id] && {
      accountId: id,
      claims: () => ({ sub: id, name: USERS[id].name, preferred_username: `${id}@example.test` }),
    },
    // The web UI is a first-party app: its users are not asked for consent (as with Entra's
    // admin consent), so the grant is made here.
    loadExistingGrant: async (ctx) => {
      const id = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (id) return ctx.oidc.provider.Grant.find(id);
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope("openid profile");
      grant.addResourceScope(API, "api");
      await grant.save();
      return grant;
    },
    // Refresh tokens for the public browser client (rotated on use), as Entra does for SPAs.
    issueRefreshToken: async (ctx, client, code) =>
      client.grantTypeAllowed("refresh_token") && (code.scopes.has("offline_access") || client.clientAuthMethod === "none"),
    clientBasedCORS: (ctx, origin) => uiOrigins.has(origin),
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        // The default page loads a web font; tests run offline.
        logoutSource: async (ctx, form) => {
          ctx.body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign out - test issuer</title></head>
<body><main><h1>Sign out of the test issuer?</h1>${form}
<button type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button></main></body></html>`;
        },
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => API,
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, resource) => {
          if (resource !== "api://kaito-rag" && resource !== "api://kaito-rag-es") {
            throw new Error(`unknown resource ${resource}`);
          }
          return {
            scope: "api",
            audience: resource,
            accessTokenTTL: 600,
            accessTokenFormat: "jwt",
            jwt: { sign: { alg: resource.endsWith("-es") ? "ES256" : "RS256" } },
          };
        },
      },
    },
    extraTokenClaims: (ctx, token) =>
      token.accountId
        ? { roles: USERS[token.accountId]?.roles ?? [], name: USERS[token.accountId]?.name, preferred_username: `${token.accountId}@example.test` }
        : { roles: ROLES[token.clientId] ?? [] },
    cookies: { keys: [randomUUID()] },
  });
  return provider;
}

let provider = makeProvider();

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function loginPage(uid, message) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in - test issuer</title></head>
<body><main><h1>Sign in to the test issuer</h1>${message ? `<p role="alert">${escape(message)}</p>` : ""}
<form method="post" action="/interaction/${escape(uid)}/login">
<label for="username">Username</label> <input id="username" name="username" autocomplete="username" autofocus>
<label for="password">Password</label> <input id="password" name="password" type="password" autocomplete="current-password">
<button type="submit">Sign in</button></form></main></body></html>`;
}

async function readForm(req) {
  let body = "";
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

// The interaction (login page) the provider sends users to: /interaction/<uid>.
async function interaction(req, res) {
  const match = /^\/interaction\/([^/?]+)(\/login)?/.exec(req.url);
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== match[1]) throw new Error("interaction mismatch");
  if (req.method === "POST" && match[2]) {
    const form = await readForm(req);
    const user = USERS[form.get("username")];
    if (!user || user.password !== form.get("password")) {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(loginPage(details.uid, "Wrong username or password."));
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: form.get("username") } }, { mergeWithLastSubmission: false });
    return;
  }
  res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
  res.end(loginPage(details.uid, ""));
}

let handler = provider.callback();

const server = http.createServer((req, res) => {
  if (req.method === "POST" && req.url === "/__test/rotate") {
    keys = [newKey("RSA"), ...keys];
    provider = makeProvider();
    handler = provider.callback();
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ signing_kid: keys[0].kid }));
    return;
  }
  if (req.url.startsWith("/interaction/")) {
    interaction(req, res).catch((e) => {
      res.writeHead(400, { "content-type": "text/plain" });
      res.end(`interaction failed: ${e.message}`);
    });
    return;
  }
  handler(req, res);
});
server.listen(Number(port), "127.0.0.1", () => console.log(`oidc-provider listening on ${issuer}`));
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => server.close(() => process.exit(0)));
