"""Azure Blob container sources against a real Azure Storage emulator (Azurite from npm, started here on
127.0.0.1): shared-key and SAS authentication, add/change/delete blobs reflected by each sync, idempotent
re-sync, blob metadata as document metadata, and clear errors for a missing container or a bad key."""
import base64
import datetime
import hashlib
import hmac
import shutil
import subprocess
import time
import urllib.parse
from pathlib import Path

import pytest
import requests

from conftest import HERE, Server, free_port, tail

JS_DIR = HERE / "js"
AZURITE = JS_DIR / "node_modules" / ".bin" / "azurite-blob"
ACCOUNT = "devstoreaccount1"  # Azurite's well-known development account and key
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
VERSION = "2021-08-06"


def install_azurite():
    if AZURITE.exists():
        return
    assert shutil.which("npm"), "npm is needed (scripts/setup.sh installs it)"
    proc = subprocess.run(["npm", "ci", "--prefix", str(JS_DIR), "--no-audit", "--no-fund"], capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, f"npm ci failed: {proc.stderr[-2000:]}"


class Azurite:
    """The emulator plus a minimal shared-key client for the test's own writes."""

    def __init__(self, tmp: Path, extra_args=(), ca_file=None):
        """`ca_file`: serve HTTPS (extra_args carry --cert/--key) and trust that CA in the test's own calls."""
        install_azurite()
        self.port = free_port()
        self.log = tmp / "azurite.log"
        self.verify = str(ca_file) if ca_file else True
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [str(AZURITE), "--blobHost", "127.0.0.1", "--blobPort", str(self.port), "--inMemoryPersistence", "--skipApiVersionCheck", "--disableTelemetry", "--silent", *extra_args],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=tmp)
        self.base = f"{'https' if ca_file else 'http'}://127.0.0.1:{self.port}/{ACCOUNT}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"azurite exited:\n{tail(self.log)}"
            try:
                requests.get(self.base, timeout=1, verify=self.verify)
                return
            except requests.ConnectionError:
                time.sleep(0.2)
        raise AssertionError(f"azurite did not start:\n{tail(self.log)}")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)

    def _call(self, method, path, query=None, body=b"", headers=None):
        query = query or {}
        headers = {"x-ms-date": datetime.datetime.now(datetime.timezone.utc).strftime("%a, %d %b %Y %H:%M:%S GMT"),
                   "x-ms-version": VERSION, **(headers or {})}
        ms = "".join(f"{k}:{v}\n" for k, v in sorted((k.lower(), v) for k, v in headers.items() if k.startswith("x-ms-")))
        resource = f"/{ACCOUNT}/{ACCOUNT}{path}" + "".join(f"\n{k}:{v}" for k, v in sorted(query.items()))
        length = str(len(body)) if body else ""
        content_type = headers.get("Content-Type", "")
        to_sign = f"{method}\n\n\n{length}\n\n{content_type}\n\n\n\n\n\n\n{ms}{resource}"
        signature = base64.b64encode(hmac.new(base64.b64decode(KEY), to_sign.encode(), hashlib.sha256).digest())
        headers["Authorization"] = f"SharedKey {ACCOUNT}:{signature.decode()}"
        url = f"{self.base}{path}" + ("?" + urllib.parse.urlencode(query) if query else "")
        r = requests.request(method, url, data=body, headers=headers, timeout=30, verify=self.verify)
        assert r.status_code < 300, f"{method} {path}: {r.status_code} {r.text}"
        return r

    def create_container(self, name):
        self._call("PUT", f"/{name}", {"restype": "container"})

    def put(self, container, blob, text, metadata=None):
        headers = {"x-ms-blob-type": "BlockBlob", "Content-Type": "text/plain"}
        headers.update({f"x-ms-meta-{k}": v for k, v in (metadata or {}).items()})
        self._call("PUT", f"/{container}/{urllib.parse.quote(blob)}", body=text.encode(), headers=headers)

    def delete(self, container, blob):
        self._call("DELETE", f"/{container}/{urllib.parse.quote(blob)}")

    def sas(self, container, permissions="rl"):
        """A service SAS for the container (version 2020-12-06+ string-to-sign)."""
        expiry = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        fields = [permissions, "", expiry, f"/blob/{ACCOUNT}/{container}", "", "", "", VERSION, "c", "", "",
                  "", "", "", "", ""]
        signature = base64.b64encode(hmac.new(base64.b64decode(KEY), "\n".join(fields).encode(),
                                              hashlib.sha256).digest()).decode()
        return urllib.parse.urlencode({"sv": VERSION, "sr": "c", "sp": permissions, "se": expiry, "sig": signature})


@pytest.fixture(scope="module")
def azurite(tmp_path_factory):
    a = Azurite(tmp_path_factory.mktemp("azurite"))
    yield a
    a.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("sources_azure"), args=["--source-url-allow", "127.0.0.1",
                                                                  "--source-list-page-size", "7"]).start()
    yield s
    s.stop()


def docs(server, collection):
    r = server.get(f"/v1/collections/{collection}/documents")
    assert r.status_code == 200, r.text
    return {d["name"]: d for d in r.json()["documents"]}


def sync(server, collection, source_id):
    return server.post(f"/v1/collections/{collection}/sources/{source_id}/sync?wait=true")


def add(server, collection, **body):
    r = server.post(f"/v1/collections/{collection}/sources", json={"kind": "azure_blob", **body})
    assert r.status_code == 201, r.text
    return r.json()


def test_shared_key_sync_follows_the_container(server, azurite):
    azurite.create_container("handbook")
    azurite.put("handbook", "vacation.md", "# Vacation\nEmployees get 25 days of paid vacation.\n",
                metadata={"team": "hr"})
    azurite.put("handbook", "policies/remote work.txt", "Remote work needs a manager's approval.\n")
    server.create_collection("blobs")
    src = add(server, "blobs", location=f"{azurite.base}/handbook", account_key=KEY)
    assert src["credentials"] == "shared_key" and "account_key" not in src

    first = sync(server, "blobs", src["id"])
    assert first.status_code == 200, first.text
    assert (first.json()["listed"], first.json()["added"], first.json()["failed"]) == (2, 2, 0)
    stored = docs(server, "blobs")
    assert sorted(stored) == ["policies/remote work.txt", "vacation.md"]
    assert stored["vacation.md"]["metadata"]["team"] == "hr"

    again = sync(server, "blobs", src["id"]).json()  # idempotent: nothing fetched again
    assert (again["unchanged"], again["added"], again["updated"], again["deleted"]) == (2, 0, 0, 0)

    azurite.put("handbook", "vacation.md", "# Vacation\nEmployees get 30 days of paid vacation.\n",
                metadata={"team": "hr"})
    azurite.delete("handbook", "policies/remote work.txt")
    azurite.put("handbook", "expenses.md", "Expenses above USD 500 need approval.\n")
    changed = sync(server, "blobs", src["id"]).json()
    assert (changed["added"], changed["updated"], changed["deleted"], changed["unchanged"]) == (1, 1, 1, 0)
    assert sorted(docs(server, "blobs")) == ["expenses.md", "vacation.md"]
    hits = server.post("/v1/collections/blobs/search", json={"query": "paid vacation", "mode": "bm25"}).json()
    assert "30 days" in hits["results"][0]["text"]


def test_sas_token_and_a_listing_of_several_pages(server, azurite):
    azurite.create_container("sas")
    for i in range(30):
        azurite.put("sas", f"notes/{i:02d}.txt", f"Note number {i} about topic {i * 7}.\n")
    server.create_collection("sas")
    src = add(server, "sas", location=f"{azurite.base}/sas", sas_token="?" + azurite.sas("sas"))
    assert src["credentials"] == "sas"
    r = sync(server, "sas", src["id"])
    assert r.status_code == 200, r.text
    assert r.json()["listed"] == 30 and r.json()["added"] == 30 and r.json()["failed"] == 0  # 5 pages of 7
    assert len(docs(server, "sas")) == 30
    azurite.delete("sas", "notes/29.txt")  # on the last page
    r = sync(server, "sas", src["id"]).json()
    assert (r["listed"], r["unchanged"], r["deleted"]) == (29, 29, 1)


def test_missing_container_and_bad_key_are_clear_errors(server, azurite):
    server.create_collection("errors")
    missing = add(server, "errors", location=f"{azurite.base}/no-such-container", account_key=KEY)
    r = sync(server, "errors", missing["id"])
    assert r.status_code == 404, r.text
    assert "no-such-container" in r.json()["error"]["message"] and "does not exist" in r.json()["error"]["message"]

    azurite.create_container("locked")
    azurite.put("locked", "a.txt", "secret\n")
    wrong = base64.b64encode(b"not the key" * 6).decode()
    bad = add(server, "errors", location=f"{azurite.base}/locked", account_key=wrong)
    r = sync(server, "errors", bad["id"])
    assert r.status_code == 403, r.text
    assert "refused the credentials" in r.json()["error"]["message"]
    status = server.get(f"/v1/collections/errors/sources/{bad['id']}").json()
    assert "refused the credentials" in status["last_run"]["error"]
    assert docs(server, "errors") == {}

    r = server.post("/v1/collections/errors/sources",
                    json={"kind": "azure_blob", "location": f"{azurite.base}/locked", "account_key": "%%%"})
    assert r.status_code == 201  # the key is checked when it is used
    r = sync(server, "errors", r.json()["id"])
    assert r.status_code == 400 and "base64" in r.json()["error"]["message"]
    r = server.post("/v1/collections/errors/sources", json={"kind": "azure_blob", "location": "http://x/onlyone"})
    assert r.status_code == 400 and "container URL" in r.json()["error"]["message"]


def test_blob_endpoints_on_private_addresses_need_the_allow_list(tmp_path, azurite):
    s = Server(tmp_path).start()
    try:
        s.create_collection("blocked")
        src = add(s, "blocked", location=f"{azurite.base}/handbook", account_key=KEY)
        r = sync(s, "blocked", src["id"])
        assert r.status_code == 403 and "source_url_allow" in r.json()["error"]["message"]
    finally:
        s.stop()
