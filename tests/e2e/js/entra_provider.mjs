// A stand-in for Microsoft Entra ID's token endpoint in workload identity federation, for
// tests/e2e/test_sources_workload_identity.py: oidc-provider (certified OpenID Connect
// implementation) serving client_credentials at /{tenant}/oauth2/v2.0/token, where Entra serves
// it. The client authenticates with private_key_jwt: its "federated token" is a JWT signed with
// the key registered for it (Entra checks a Kubernetes service account token against the
// cluster's OIDC issuer instead; the request on the wire is the same). Access tokens are JWTs for
// https://storage.azure.com with Entra's v1 issuer (https://sts.windows.net/{tenant}/), which is
// what Azurite's `--oauth basic` accepts.
//
//   node entra_provider.mjs PORT TENANT CLIENT_ID CLIENT_JWKS_FILE TOKEN_TTL_SECONDS
// GET /__test/stats -> {"issued": n, "refused": n}: token requests answered with and without a token.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import Provider from "oidc-provider";

const [port, tenant, clientId, jwksFile, ttl] = process.argv.slice(2);
const STORAGE = "https://storage.azure.com";
const SCOPE = `${STORAGE}/.default`;
const stats = { issued: 0, refused: 0 };

const provider = new Provider(`https://sts.windows.net/${tenant}/`, {
  clients: [{
    client_id: clientId,
    token_endpoint_auth_method: "private_key_jwt",
    token_endpoint_auth_signing_alg: "RS256",
    jwks: JSON.parse(readFileSync(jwksFile, "utf8")),
    grant_types: ["client_credentials"],
    redirect_uris: [],
    response_types: [],
  }],
  routes: { token: `/${tenant}/oauth2/v2.0/token` },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => STORAGE,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resource) => {
        if (resource !== STORAGE) throw new Error(`unknown resource ${resource}`);
        return { scope: SCOPE, audience: STORAGE, accessTokenTTL: Number(ttl), accessTokenFormat: "jwt" };
      },
    },
  },
  // Entra's tokens carry nbf and tid; Azurite requires nbf.
  cookies: { keys: [randomUUID()] },
  extraTokenClaims: () => ({ nbf: Math.floor(Date.now() / 1000) - 5, tid: tenant }),
});
provider.on("grant.success", () => { stats.issued += 1; });
provider.on("grant.error", () => { stats.refused += 1; });

const handler = provider.callback();
const server = http.createServer((req, res) => {
  if (req.url === "/__test/stats") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(stats));
    return;
  }
  handler(req, res);
});
server.listen(Number(port), "127.0.0.1", () => console.log(`entra stand-in listening on ${port}`));
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => server.close(() => process.exit(0)));
