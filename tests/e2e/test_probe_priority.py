"""Probe thread priority without CAP_SYS_NICE, as in the chart's non-root pod (runAsUser 65534, no capabilities).

The probe path (accept, poller, probe threads) asks for nice -5 and the request workers for +4. Without the
capability the -5 is refused: the server must still serve, keep the workers' +4 (no privilege needed) so probes
still go first within the process, and say so once in its log, not once per thread or connection.
"""
import os
import resource
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import requests

from conftest import Server

NOBODY = 65534
WARNING = "cannot raise the probe threads' CPU priority"


SETPRIV = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--inh-caps=-all"]


class NonRootServer(Server):
    """`kaito-rag serve` as uid/gid 65534 with no capabilities (setpriv) when the tests run as root."""

    binary: str | None = None  # a copy 65534 can execute, when the checkout is not reachable by it

    def command(self) -> list[str]:
        base = super().command()
        if os.geteuid() != 0:
            return base
        return [*SETPRIV, self.binary or base[0], *base[1:]]


def reachable_by_nobody(path: str) -> bool:
    return subprocess.run([*SETPRIV, "test", "-x", path], check=False).returncode == 0


def thread_nice_values(pid: int) -> list[int]:
    values = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        fields = task.joinpath("stat").read_text().rsplit(")", 1)[1].split()
        values.append(int(fields[16]))  # field 19 of stat: nice
    return values


@pytest.fixture
def nonroot_dir():
    # pytest's tmp_path is under a root-only 0700 directory: the server's data directory must be reachable by 65534.
    base = Path(tempfile.mkdtemp(prefix="kr_nonroot_"))
    base.chmod(0o755)
    data = base / "data"
    data.mkdir()
    if os.geteuid() == 0:
        os.chown(data, NOBODY, NOBODY)
    yield base
    shutil.rmtree(base, ignore_errors=True)


def test_probe_priority_refused_without_cap_sys_nice_is_logged_once_and_probes_answer(nonroot_dir):
    if os.geteuid() != 0:
        # As a plain user the refusal happens anyway, unless RLIMIT_NICE allows -5.
        soft, _ = resource.getrlimit(resource.RLIMIT_NICE)
        assert soft < 25, "RLIMIT_NICE lets this user lower nice values: the refusal cannot be observed"
    server = NonRootServer(nonroot_dir, data_dir=nonroot_dir / "data")
    if os.geteuid() == 0 and not reachable_by_nobody(server.command()[len(SETPRIV)]):
        # e.g. a clone under a 0700 mktemp directory: run a copy of the same binary
        server.binary = str(shutil.copy(server.command()[len(SETPRIV)], nonroot_dir / "kaito-rag"))
    server.start()
    try:
        status = Path(f"/proc/{server.proc.pid}/status").read_text()
        assert "CapEff:\t0000000000000000" in status
        # Several connections: the accept thread's first one, the probe thread, the workers.
        for _ in range(5):
            assert requests.get(server.url + "/healthz", timeout=5, headers={"Connection": "close"}).status_code == 200
        r = requests.post(server.url + "/v1/collections", json={"name": "c"}, timeout=10, headers={"Connection": "close"})
        assert r.status_code in (200, 201), r.text
        with requests.Session() as keep_alive:
            for _ in range(5):
                assert keep_alive.get(server.url + "/readyz", timeout=5).status_code == 200

        nice = thread_nice_values(server.proc.pid)  # setpriv execs the server: same pid
        assert nice.count(4) >= 8, f"the 8 request workers keep nice +4 without privileges: {sorted(nice)}"
        assert min(nice) == 0, f"the probe path stays at 0, nothing below: {sorted(nice)}"
        warnings = [line for line in server.log().splitlines() if WARNING in line]
        assert len(warnings) == 1, server.log()
        assert "CAP_SYS_NICE" in warnings[0] and "nice=-5" in warnings[0] and "Permission denied" in warnings[0]
    finally:
        assert server.stop() == 0
        assert not server.alive()


def test_probe_priority_is_applied_silently_with_cap_sys_nice(server):
    if os.geteuid() != 0:
        pytest.skip("needs root (CAP_SYS_NICE) to observe the -5")
    assert requests.get(server.url + "/healthz", timeout=5, headers={"Connection": "close"}).status_code == 200
    nice = thread_nice_values(server.proc.pid)
    assert nice.count(-5) >= 3, f"accept, poller and probe threads at -5: {sorted(nice)}"
    assert nice.count(4) >= 8, sorted(nice)
    assert WARNING not in server.log()
