"""A real OpenID provider for the auth tests: ``oidc-provider`` from npm (tests/e2e/js/oidc_provider.mjs)
on 127.0.0.1, plus tokens the tests mint themselves for the negative cases.

The provider publishes, next to its own keys, a "test" RSA key whose private half this module
holds: a token signed with it verifies, so a test that changes one claim proves that claim alone
is what the server refuses.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import jwt  # PyJWT
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from conftest import free_port, tail

JS_DIR = Path(__file__).resolve().parent / "js"
AUDIENCE = "api://kaito-rag"
AUDIENCE_ES = "api://kaito-rag-es"
TEST_KID = "test-rsa"


def npm_ci() -> None:
    """Installs tests/e2e/js once (npm ci); the provider is a required part of these tests."""
    if (JS_DIR / "node_modules" / "oidc-provider").exists():
        return
    assert shutil.which("node") and shutil.which("npm"), "node/npm are needed (scripts/setup.sh installs them)"
    proc = subprocess.run(["npm", "ci", "--prefix", str(JS_DIR), "--no-audit", "--no-fund"], capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, f"npm ci failed: {proc.stderr[-2000:]}"


class OidcProvider:
    def __init__(self, tmp: Path):
        npm_ci()
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.test_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private_jwk = json.loads(RSAAlgorithm.to_jwk(self.test_key))
        private_jwk.update(kid=TEST_KID, use="sig", alg="RS256")
        keys_file = Path(tmp) / "test-keys.json"
        keys_file.write_text(json.dumps({"keys": [private_jwk]}))
        self.log_path = Path(tmp) / "oidc-provider.log"
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(["node", str(JS_DIR / "oidc_provider.mjs"), str(self.port), str(keys_file)],
                                         stdout=log, stderr=subprocess.STDOUT, cwd=JS_DIR)
        deadline = time.time() + 30
        while time.time() < deadline:
            assert self.proc.poll() is None, f"oidc-provider exited:\n{tail(self.log_path)}"
            try:
                if requests.get(self.issuer + "/.well-known/openid-configuration", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise AssertionError(f"oidc-provider did not start:\n{tail(self.log_path)}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def token(self, client: str, resource: str = AUDIENCE) -> str:
        """A real access token (client_credentials + resource indicator -> JWT) for a client standing for a user."""
        r = requests.post(self.issuer + "/token", data={"grant_type": "client_credentials", "client_id": client,
                                                        "client_secret": f"{client}-secret", "resource": resource,
                                                        "scope": "api"}, timeout=10)
        assert r.status_code == 200, r.text
        return r.json()["access_token"]

    def rotate(self) -> str:
        """The provider signs with a new RSA key from now on (old keys stay published); returns its kid."""
        r = requests.post(self.issuer + "/__test/rotate", timeout=10)
        assert r.status_code == 200, r.text
        return r.json()["signing_kid"]

    def jwks_kids(self) -> list[str]:
        return [k["kid"] for k in requests.get(self.issuer + "/jwks", timeout=10).json()["keys"]]

    # -- tokens minted by the tests ------------------------------------------------------------
    def claims(self, **overrides) -> dict:
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": AUDIENCE, "sub": "minted-user", "iat": now, "nbf": now - 5,
                  "exp": now + 300, "roles": ["reader"]}
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def mint(self, key=None, kid: str = TEST_KID, alg: str = "RS256", **overrides) -> str:
        return jwt.encode(self.claims(**overrides), key or self.test_key, algorithm=alg, headers={"kid": kid})
