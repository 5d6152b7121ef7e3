// A real OpenID provider for tests/e2e/test_auth.py: oidc-provider (certified OpenID Connect
// implementation) on 127.0.0.1, issuing JWT access tokens by client_credentials with resource
// indicators. Clients stand for users and carry Entra-style app roles in a `roles` claim.
//
//   node oidc_provider.mjs PORT KEYS_FILE
// KEYS_FILE: {"keys": [private JWKs]} used besides the provider's own generated keys (the test
// signs its negative-case tokens with them). POST /__test/rotate puts a new RSA signing key
// first; the old keys stay published, as an issuer's rollover does.
import { generateKeyPairSync, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import Provider from "oidc-provider";

const [port, keysFile] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;
const extraKeys = keysFile ? JSON.parse(readFileSync(keysFile, "utf8")).keys : [];

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

// Signing keys, first match per algorithm signs.
let keys = [newKey("RSA"), newKey("EC"), ...extraKeys];

function makeProvider() {
  const provider = new Provider(issuer, {
    clients: Object.keys(ROLES).map((id) => ({
      client_id: id,
      client_secret: `${id}-secret`,
      grant_types: ["client_credentials"],
      redirect_uris: [],
      response_types: [],
      token_endpoint_auth_method: "client_secret_post",
    })),
    jwks: { keys },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => "api://kaito-rag",
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
    extraTokenClaims: (ctx, token) => ({ roles: ROLES[token.clientId] ?? [] }),
    cookies: { keys: [randomUUID()] },
  });
  return provider.callback();
}

let handler = makeProvider();

const server = http.createServer((req, res) => {
  if (req.method === "POST" && req.url === "/__test/rotate") {
    keys = [newKey("RSA"), ...keys];
    handler = makeProvider();
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ signing_kid: keys[0].kid }));
    return;
  }
  handler(req, res);
});
server.listen(Number(port), "127.0.0.1", () => console.log(`oidc-provider listening on ${issuer}`));
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => server.close(() => process.exit(0)));
