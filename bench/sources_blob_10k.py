#!/usr/bin/env python3
"""Azure Blob source at scale: a container of N small blobs (default 10,000) in Azurite, synced once
(everything new), then again with nothing changed.

Starts Azurite (tests/e2e/js, npm) and kaito-rag (KAITO_RAG_BIN, BM25 only: no encoder configured)
on loopback, uploads the blobs, adds the container as a shared-key source and reports per sync: wall
seconds, the server's CPU seconds (from /proc: independent of other load on the machine), and the
server's resident memory (VmRSS after, VmHWM peak). Run with the e2e venv (requests):

  KAITO_RAG_BIN=build/release/src/kaito-rag .venv/bin/python bench/sources_blob_10k.py [--blobs 10000]
"""
import argparse
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from conftest import Server  # noqa: E402
from test_sources_azure import KEY, Azurite  # noqa: E402

TOPICS = ["vacation", "expenses", "travel", "security", "hiring", "pensions", "parking", "training"]


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_mib(pid):
    values = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                values[name] = int(rest.split()[0]) / 1024
    return values


def timed_sync(server, collection, source_id):
    pid = server.proc.pid
    cpu0, t0 = cpu_seconds(pid), time.monotonic()
    r = server.session.post(f"{server.url}/v1/collections/{collection}/sources/{source_id}/sync?wait=true",
                            timeout=3600)
    wall, cpu = time.monotonic() - t0, cpu_seconds(pid) - cpu0
    assert r.status_code == 200, r.text
    return {"wall_s": round(wall, 2), "server_cpu_s": round(cpu, 2), "report": r.json(), **{
        k + "_mib": round(v, 1) for k, v in memory_mib(pid).items()}}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--blobs", type=int, default=10_000)
    parser.add_argument("--upload-threads", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kr-blob-bench-") as tmp:
        tmp = Path(tmp)
        azurite = Azurite(tmp)
        server = None
        try:
            azurite.create_container("bench")
            t0 = time.monotonic()

            def put(i):
                topic = TOPICS[i % len(TOPICS)]
                azurite.put("bench", f"notes/{i // 1000:02d}/{i:05d}.txt",
                            f"Note {i} about {topic}: policy number {i * 7} applies from week {i % 52}.\n")
            with ThreadPoolExecutor(args.upload_threads) as pool:
                list(pool.map(put, range(args.blobs)))
            upload_s = time.monotonic() - t0
            server = Server(tmp, args=["--source-url-allow", "127.0.0.1"]).start()
            base = memory_mib(server.proc.pid)
            server.create_collection("bench")
            r = server.session.post(f"{server.url}/v1/collections/bench/sources",
                                    json={"kind": "azure_blob", "location": f"{azurite.base}/bench", "account_key": KEY})
            assert r.status_code == 201, r.text
            source_id = r.json()["id"]
            first = timed_sync(server, "bench", source_id)
            assert first["report"]["added"] == args.blobs and first["report"]["failed"] == 0, first
            again = timed_sync(server, "bench", source_id)
            assert again["report"]["unchanged"] == args.blobs, again
            print(json.dumps({"blobs": args.blobs, "upload_s": round(upload_s, 1),
                              "server_rss_before_mib": round(base["VmRSS"], 1),
                              "first_sync": first, "resync_unchanged": again,
                              "load_average": os.getloadavg()}, indent=1))
        finally:
            if server:
                server.stop()
            azurite.stop()


if __name__ == "__main__":
    main()
