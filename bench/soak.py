#!/usr/bin/env python3
"""Soak: a long run of mixed search / ask / upload at modest concurrency, server RSS every 10 s.

    python3 bench/soak.py --binary build/release/src/kaito-rag              # 10 minutes, 8 connections
    python3 bench/soak.py --binary … --duration 120 --warmup 30 --json        # shorter, machine-readable

It starts the server on a temporary data directory (or uses --url with --pid), seeds collection "load"
with samples/handbook, then --connections keep-alive clients loop until --duration is over: 60 %
search, 25 % extractive ask, 15 % upload. Uploads cycle over --upload-names file names with new text
each time, so a changed file replaces its document (delete + insert in every index) and the collection
stays the same size: RSS growth then means a leak or an unbounded cache, not more data.

RSS (VmRSS) is sampled every --sample-seconds (10). After --warmup seconds (120) the first sample is
the baseline; the run passes when every later sample is within --tolerance (5 %) of it, every request
was answered (no transport error) and none got a 5xx. Exit code 0 pass, 1 fail. Standard library only.
"""
from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import Stats, percentile, read_status, seed_collection, start_server  # noqa: E402
from load import client as load_client  # noqa: E402


def client(host: str, port: int, deadline: float, stats: Stats, seed: int, upload_names: int):
    # load.py's client with the soak's mix; uploads reuse upload_names file names, so each replaces a document
    # and the collection keeps its size (RSS growth would be a leak, not data).
    load_client(host, port, deadline, stats, seed, search=0.60, ask=0.25, note_words=80, timeout=120,
                upload_name=lambda rng, _seed, _n: f"soak-{rng.randrange(upload_names)}.txt")


def sample_rss(pid: int, started: float, every: float, stop: threading.Event, samples: list[tuple[float, int]]):
    while not stop.is_set():
        try:
            samples.append((round(time.monotonic() - started, 1), read_status(pid)["VmRSS"]))
        except OSError:
            return
        stop.wait(every)


def judge_rss(samples: list[tuple[float, int]], warmup: float, tolerance: float) -> dict:
    """Baseline = first sample at or after warm-up; every later sample must stay within tolerance of it."""
    after = [(t, kib) for t, kib in samples if t >= warmup]
    if len(after) < 2:
        return {"ok": False, "why": f"only {len(after)} RSS samples after the {warmup} s warm-up"}
    base = after[0][1]
    deviations = [(kib - base) / base for _, kib in after]
    worst = max(deviations, key=abs)
    return {"ok": abs(worst) <= tolerance, "baseline_mib": round(base / 1024, 1),
            "last_mib": round(after[-1][1] / 1024, 1), "min_mib": round(min(k for _, k in after) / 1024, 1),
            "max_mib": round(max(k for _, k in after) / 1024, 1),
            "drift_pct": round(100 * deviations[-1], 2), "worst_deviation_pct": round(100 * worst, 2),
            "samples_after_warmup": len(after)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running server (with --pid); else --binary starts one")
    parser.add_argument("--binary", help="kaito-rag binary to start on a temporary data directory")
    parser.add_argument("--server-arg", action="append", default=[], help="extra flag for the started server")
    parser.add_argument("--pid", type=int, help="pid of the server at --url (RSS is read from /proc)")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--duration", type=float, default=600.0)
    parser.add_argument("--warmup", type=float, default=120.0)
    parser.add_argument("--sample-seconds", type=float, default=10.0)
    parser.add_argument("--tolerance", type=float, default=0.05)
    parser.add_argument("--upload-names", type=int, default=40, help="distinct file names uploads cycle over")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args()
    if not args.binary and not (args.url and args.pid):
        parser.error("give --binary, or --url with --pid")
    if not (1 <= args.connections <= 64 and 0 < args.duration <= 7200 and 0 <= args.warmup < args.duration):
        parser.error("--connections 1..64, --duration (0, 7200], --warmup below --duration")

    proc = tmp = None
    url, pid = args.url, args.pid
    if args.binary:
        proc, url, tmp = start_server(args.binary, args.server_arg)
        pid = proc.pid
    target = urlparse(url)
    host, port = target.hostname, target.port or 80
    try:
        seed_collection(host, port)
        stats, stop, rss = Stats(), threading.Event(), []
        started = time.monotonic()
        sampler = threading.Thread(target=sample_rss, args=(pid, started, args.sample_seconds, stop, rss), daemon=True)
        sampler.start()
        deadline = started + args.duration
        workers = [threading.Thread(target=client, args=(host, port, deadline, stats, i, args.upload_names), daemon=True)
                   for i in range(args.connections)]
        for t in workers:
            t.start()
        for t in workers:
            t.join(args.duration + 180)
        elapsed = time.monotonic() - started
        stop.set()
        sampler.join(5)
        cpu = None
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            cpu = round((int(fields[11]) + int(fields[12])) / 100, 1)  # utime + stime, clock ticks (100 Hz)
        except (OSError, IndexError, ValueError):
            pass
        hwm = read_status(pid).get("VmHWM") if proc is None or proc.poll() is None else None
    finally:
        if proc:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
            tmp.cleanup()

    report = {"connections": args.connections, "duration_s": round(elapsed, 1), "server_cpu_s": cpu, "routes": {},
              "rss": judge_rss(rss, args.warmup, args.tolerance),
              "rss_curve_mib": [[t, round(kib / 1024, 1)] for t, kib in rss],
              "vmhwm_mib": round(hwm / 1024, 1) if hwm else None}
    failures = []
    for route in ("search", "ask", "upload"):
        lat = stats.latency[route]
        statuses = dict(sorted(stats.status[route].items()))
        report["routes"][route] = {
            "status": statuses, "transport_errors": stats.errors[route],
            "requests": sum(statuses.values()),
            "p50_ms": round(percentile(lat, 0.5) * 1000, 1), "p99_ms": round(percentile(lat, 0.99) * 1000, 1)}
        if stats.errors[route]:
            failures.append(f"{route}: {stats.errors[route]} transport errors")
        if any(code >= 500 for code in statuses):
            failures.append(f"{route}: 5xx answers {statuses}")
    if not report["rss"]["ok"]:
        failures.append(f"RSS not flat within {args.tolerance:.0%} after warm-up: {report['rss']}")
    report["failures"] = failures

    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"{report['connections']} connections, {report['duration_s']} s, server CPU {cpu} s")
        for route, r in report["routes"].items():
            print(f"{route:7} {r['requests']:>7} requests  p50 {r['p50_ms']} ms  p99 {r['p99_ms']} ms  "
                  f"{r['status']} / {r['transport_errors']} transport errors")
        print("RSS (s, MiB): " + "  ".join(f"{t:.0f}:{mib}" for t, mib in report["rss_curve_mib"]))
        print(f"RSS after warm-up: {report['rss']}; VmHWM {report['vmhwm_mib']} MiB")
        print("PASS" if not failures else "FAIL: " + "; ".join(failures))
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
