"""Azure Blob sources authenticated as the pod's workload identity, end to end on 127.0.0.1:

- the server gets AZURE_CLIENT_ID / AZURE_TENANT_ID / AZURE_FEDERATED_TOKEN_FILE / AZURE_AUTHORITY_HOST as the
  workload identity webhook injects them;
- the token exchange goes to a real OpenID provider (oidc-provider, tests/e2e/js/entra_provider.mjs) at Entra's
  path {authority}{tenant}/oauth2/v2.0/token; it verifies the federated token as a private_key_jwt client
  assertion (signature, issuer, audience, one use per jti) and issues a JWT for https://storage.azure.com;
- Azurite runs with `--oauth basic` over HTTPS (a CA and a certificate this test makes; the server trusts the CA
  through --source-ca-file) and accepts the bearer token after checking its issuer, audience and lifetime (Azurite
  does not check signatures: that half is the provider's).
"""
import datetime
import ipaddress
import json
import subprocess
import time
import uuid

import jwt
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from jwt.algorithms import RSAAlgorithm

from conftest import Server, free_port, tail
from oidc import npm_ci
from test_sources_azure import JS_DIR, Azurite, add, docs, sync

TENANT = "72f988bf-0000-4000-8000-00000000c0de"
CLIENT = "5c1e0f1a-0000-4000-8000-00000000b10b"
ISSUER = f"https://sts.windows.net/{TENANT}/"
TOKEN_TTL = 40  # seconds; renewed after half (20 s): two syncs fit before it on a loaded machine, the test waits it out


def make_tls(tmp):
    """A CA and a certificate for 127.0.0.1 it signed: (ca.pem, cert.pem, key.pem)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kaito-rag test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                        x509.DNSName("localhost")]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = tmp / "ca.pem", tmp / "cert.pem", tmp / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    return paths


class EntraStandIn:
    """entra_provider.mjs plus the key the test signs federated tokens with (the cluster issuer's role)."""

    def __init__(self, tmp):
        npm_ci()
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        public.update(kid="cluster-issuer", use="sig", alg="RS256")
        jwks = tmp / "client-jwks.json"
        jwks.write_text(json.dumps({"keys": [public]}))
        self.port = free_port()
        self.authority = f"http://127.0.0.1:{self.port}/"
        self.log = tmp / "entra.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(["node", str(JS_DIR / "entra_provider.mjs"), str(self.port), TENANT, CLIENT,
                                          str(jwks), str(TOKEN_TTL)], stdout=log, stderr=subprocess.STDOUT, cwd=JS_DIR)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"entra_provider.mjs exited:\n{tail(self.log)}"
            try:
                self.stats()
                return
            except requests.ConnectionError:
                time.sleep(0.2)
        raise AssertionError(f"entra_provider.mjs did not start:\n{tail(self.log)}")

    def stats(self):
        return requests.get(f"{self.authority}__test/stats", timeout=5).json()

    def federated_token(self, key=None):
        """What the kubelet projects into the pod, here as a private_key_jwt assertion for CLIENT (fresh jti)."""
        now = int(time.time())
        claims = {"iss": CLIENT, "sub": CLIENT, "aud": ISSUER, "jti": str(uuid.uuid4()), "iat": now, "exp": now + 3600}
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": "cluster-issuer"})

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    return make_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def azurite_oauth(tmp_path_factory, tls):
    ca, cert, key = tls
    a = Azurite(tmp_path_factory.mktemp("azurite_oauth"), ["--oauth", "basic", "--cert", str(cert), "--key", str(key)],
                ca_file=ca)
    yield a
    a.stop()


@pytest.fixture(scope="module")
def entra(tmp_path_factory):
    e = EntraStandIn(tmp_path_factory.mktemp("entra"))
    yield e
    e.stop()


@pytest.fixture()
def token_file(tmp_path, entra):
    path = tmp_path / "azure-identity-token"
    path.write_text(entra.federated_token() + "\n")
    return path


def start_server(tmp_path, tls, entra, token_file, **env_overrides):
    env = {"AZURE_CLIENT_ID": CLIENT, "AZURE_TENANT_ID": TENANT, "AZURE_FEDERATED_TOKEN_FILE": str(token_file),
           "AZURE_AUTHORITY_HOST": entra.authority, **env_overrides}
    return Server(tmp_path, args=["--source-url-allow", "127.0.0.1", "--source-ca-file", str(tls[0])],
                  env={k: v for k, v in env.items() if v is not None}).start()


def test_workload_identity_syncs_over_https_with_a_cached_then_renewed_token(tmp_path, tls, azurite_oauth, entra,
                                                                             token_file):
    azurite_oauth.create_container("identity")
    azurite_oauth.put("identity", "leave.md", "# Leave\nParental leave is 20 weeks.\n", metadata={"owner": "hr"})
    azurite_oauth.put("identity", "travel.txt", "Book trains for trips under 600 km.\n")
    server = start_server(tmp_path, tls, entra, token_file)
    try:
        server.create_collection("wi")
        src = add(server, "wi", location=f"{azurite_oauth.base}/identity", auth="workload_identity")
        assert src["credentials"] == "workload_identity"
        before = entra.stats()["issued"]

        first = sync(server, "wi", src["id"])
        assert first.status_code == 200, first.text
        assert (first.json()["listed"], first.json()["added"], first.json()["failed"]) == (2, 2, 0)
        assert docs(server, "wi")["leave.md"]["metadata"]["owner"] == "hr"
        azurite_oauth.put("identity", "travel.txt", "Book trains for trips under 800 km.\n")
        again = sync(server, "wi", src["id"]).json()  # within the token's lifetime: no second exchange
        assert (again["updated"], again["unchanged"]) == (1, 1)
        assert entra.stats()["issued"] == before + 1

        # The kubelet rotates the projected token; the cached access token nears expiry. The provider accepts
        # each assertion once (jti), so this sync passes only if the server re-read the file.
        token_file.write_text(entra.federated_token())
        time.sleep(TOKEN_TTL / 2 + 0.5)
        third = sync(server, "wi", src["id"])
        assert third.status_code == 200, third.text
        assert third.json()["unchanged"] == 2
        assert entra.stats()["issued"] == before + 2
        assert token_file.read_text().strip() not in server.log()  # the credential is never logged
    finally:
        server.stop()


def test_refused_exchange_missing_environment_and_bad_requests(tmp_path, tls, azurite_oauth, entra, token_file):
    azurite_oauth.create_container("refused")
    azurite_oauth.put("refused", "a.txt", "secret\n")
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token_file.write_text(entra.federated_token(key=stranger))  # not the key registered for the client
    server = start_server(tmp_path, tls, entra, token_file)
    try:
        server.create_collection("refused")
        src = add(server, "refused", location=f"{azurite_oauth.base}/refused", auth="workload_identity")
        r = sync(server, "refused", src["id"])
        assert r.status_code == 403, r.text
        message = r.json()["error"]["message"]
        assert "Entra ID refused the workload identity token exchange" in message and CLIENT in message
        assert "invalid_client" in message
        assert docs(server, "refused") == {}

        r = server.post("/v1/collections/refused/sources", json={"kind": "azure_blob", "auth": "workload_identity",
                                                                  "location": f"{azurite_oauth.base}/refused",
                                                                  "sas_token": "sv=x"})
        assert r.status_code == 400 and "takes no account_key or sas_token" in r.json()["error"]["message"]
        r = server.post("/v1/collections/refused/sources", json={"kind": "azure_blob", "auth": "managed",
                                                                  "location": f"{azurite_oauth.base}/refused"})
        assert r.status_code == 400 and "workload_identity" in r.json()["error"]["message"]
        r = server.post("/v1/collections/refused/sources", json={"kind": "url", "auth": "workload_identity",
                                                                  "location": "https://example.com/"})
        assert r.status_code == 400 and "azure_blob sources only" in r.json()["error"]["message"]
    finally:
        server.stop()

    (tmp_path / "bare").mkdir()
    bare = start_server(tmp_path / "bare", tls, entra, token_file, AZURE_CLIENT_ID=None, AZURE_FEDERATED_TOKEN_FILE=None)
    try:
        bare.create_collection("bare")
        r = bare.post("/v1/collections/bare/sources", json={"kind": "azure_blob", "auth": "workload_identity",
                                                            "location": f"{azurite_oauth.base}/refused"})
        assert r.status_code == 409, r.text
        message = r.json()["error"]["message"]
        assert "AZURE_CLIENT_ID, AZURE_FEDERATED_TOKEN_FILE" in message and "azure.workload.identity/use" in message
    finally:
        bare.stop()


def test_untrusted_certificate_is_refused(tmp_path, azurite_oauth, entra, token_file):
    """Without --source-ca-file the emulator's certificate (from the test's own CA) does not verify."""
    env = {"AZURE_CLIENT_ID": CLIENT, "AZURE_TENANT_ID": TENANT, "AZURE_FEDERATED_TOKEN_FILE": str(token_file),
           "AZURE_AUTHORITY_HOST": entra.authority}
    server = Server(tmp_path, args=["--source-url-allow", "127.0.0.1"], env=env).start()
    try:
        azurite_oauth.create_container("untrusted")
        server.create_collection("untrusted")
        src = add(server, "untrusted", location=f"{azurite_oauth.base}/untrusted", auth="workload_identity")
        r = sync(server, "untrusted", src["id"])
        assert r.status_code == 503, r.text
        assert "SSL" in r.json()["error"]["message"] or "certificate" in r.json()["error"]["message"].lower()
    finally:
        server.stop()
