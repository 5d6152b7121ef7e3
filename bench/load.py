#!/usr/bin/env python3
"""Bounded loopback load: many keep-alive connections, mixed search / ask / upload, probes sampled.

    python3 bench/load.py --binary build/release/src/kaito-rag            # starts its own server
    python3 bench/load.py --url http://127.0.0.1:8080 --pid 1234          # an already running one

Each of --connections client threads holds one keep-alive connection and loops for --duration seconds
(default 60) over a mix of POST /v1/collections/load/search (70 %), POST …/ask without a model
(extractive, 20 %) and a one-file upload (10 %) into collection "load" (seeded with samples/handbook).
A separate process (like a kubelet: its own interpreter, so the 32 client threads' GIL contention is not
in its timings) asks GET /healthz every 50 ms on its own connection ("healthz"); a thread of the client
process does the same ("healthz_in_client", how this script measured before: it includes the client's
own waits). It stops by itself and prints: per-route status counts and p50/p99 latency, /healthz
p50/p99/max, and the server's RSS (sampled every 0.5 s, plus VmHWM) when its pid is known. Standard
library only.
"""
from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import urlparse

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples" / "handbook"
KEEP_ALIVE_RACE_S = 1.9  # idle gap from which bench/keepalive_race.py sees the server's 2 s close win
QUERIES = ["parental leave", "vacation days for new employees", "minimum password length", "meal per diem Tokyo",
           "Munich office", "retirement plan match", "remote work days", "travel booking policy"]


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def multipart(name: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
            f"Content-Type: text/plain\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.status = defaultdict(Counter)      # route -> Counter(status)
        self.latency = defaultdict(list)        # route -> seconds (answered requests)
        self.errors = Counter()                 # route -> transport errors
        self.error_details = []                 # what each transport error was, and the connection's state

    def record(self, route: str, status: int | None, seconds: float, detail: dict | None = None):
        with self.lock:
            if status is None:
                self.errors[route] += 1
                self.error_details.append({"route": route, "after_s": round(seconds, 3), **(detail or {})})
            else:
                self.status[route][status] += 1
                self.latency[route].append(seconds)


def request(conn: http.client.HTTPConnection, method: str, path: str, body: bytes | None, ctype: str | None):
    headers = {"Content-Type": ctype} if ctype else {}
    conn.request(method, path, body=body, headers=headers)
    r = conn.getresponse()
    r.read()
    return r.status, r.getheader("Connection", "")


def client(host: str, port: int, deadline: float, stats: Stats, seed: int, *, search: float = 0.7, ask: float = 0.2,
           upload_name=lambda rng, seed, n: f"note-{seed}-{n}.txt", note_words: int = 60, timeout: float = 60):
    """One keep-alive connection sending a random mix (shares search/ask, the rest uploads) until the deadline.
    upload_name(rng, seed, n) names the n-th upload: new names grow the collection, reused ones replace documents."""
    rng = random.Random(seed)
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    n = 0
    on_connection, last_answer = 0, None  # requests answered on this connection; when the last one was
    while time.monotonic() < deadline:
        pick = rng.random()
        if pick < search:
            route, method, path = "search", "POST", "/v1/collections/load/search"
            body, ctype = json.dumps({"query": rng.choice(QUERIES), "top_k": 5}).encode(), "application/json"
        elif pick < search + ask:
            route, method, path = "ask", "POST", "/v1/collections/load/ask"
            body, ctype = json.dumps({"question": rng.choice(QUERIES) + "?"}).encode(), "application/json"
        else:
            route, method, path = "upload", "POST", "/v1/collections/load/documents"
            n += 1
            text = (f"Load note {seed}-{n}. " + " ".join(rng.choice(QUERIES) for _ in range(note_words))).encode()
            body, ctype = multipart(upload_name(rng, seed, n), text)
        start = time.perf_counter()
        try:
            status, connection = request(conn, method, path, body, ctype)
            stats.record(route, status, time.perf_counter() - start)
            on_connection, last_answer = on_connection + 1, time.perf_counter()
            if connection.lower() == "close":
                conn.close()
                on_connection, last_answer = 0, None
        except (OSError, http.client.HTTPException) as e:
            # Idle time before the request tells a keep-alive close race (the server's idle timeout) from a
            # request the server dropped while working on it.
            idle = round(start - last_answer, 3) if last_answer is not None else None
            stats.record(route, None, time.perf_counter() - start,
                         {"error": f"{type(e).__name__}: {e}", "idle_before_s": idle, "answered_on_connection": on_connection,
                          "monotonic": time.monotonic()})
            conn.close()
            on_connection, last_answer = 0, None
            time.sleep(0.05)
    conn.close()


def prober(host: str, port: int, stop, stats: Stats, route: str = "healthz_in_client"):
    conn = http.client.HTTPConnection(host, port, timeout=30)
    while not stop.is_set():
        start = time.perf_counter()
        try:
            status, _ = request(conn, "GET", "/healthz", None, None)
            stats.record(route, status, time.perf_counter() - start)
        except (OSError, http.client.HTTPException) as e:
            stats.record(route, None, time.perf_counter() - start,
                         {"error": f"{type(e).__name__}: {e}", "monotonic": time.monotonic()})
            conn.close()
        stop.wait(0.05)
    conn.close()


def probe_process(host: str, port: int, stop, results) -> None:
    """The kubelet's view: probes from a process of its own; sends its statuses and latencies back."""
    stats = Stats()
    prober(host, port, stop, stats, route="healthz")
    results.send({"status": dict(stats.status["healthz"]), "errors": stats.errors["healthz"],
                  "latency": stats.latency["healthz"], "error_details": stats.error_details})
    results.close()


def rss_sampler(pid: int, stop: threading.Event, samples: list[int]):
    while not stop.is_set():
        try:
            samples.append(read_status(pid)["VmRSS"])
        except OSError:
            return
        stop.wait(0.5)


def read_status(pid: int) -> dict[str, int]:
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(binary: str, extra: list[str]) -> tuple[subprocess.Popen, str, tempfile.TemporaryDirectory]:
    tmp = tempfile.TemporaryDirectory(prefix="kaito-load-")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAITO_RAG_")}
    proc = subprocess.Popen([binary, "serve", "--data-dir", f"{tmp.name}/data", "--port", str(port), *extra],
                            stdout=open(f"{tmp.name}/server.log", "wb"), stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            ready = request(conn, "GET", "/readyz", None, None)[0] == 200
            conn.close()
            if ready:
                return proc, url, tmp
        except OSError:
            pass
        time.sleep(0.1)  # also while /readyz answers 503 (e.g. the encoder still loading)
    proc.kill()
    sys.exit(f"server did not become ready; see {tmp.name}/server.log")


def seed_collection(host: str, port: int):
    conn = http.client.HTTPConnection(host, port, timeout=120)
    for path in sorted(SAMPLES.iterdir()):
        body, ctype = multipart(path.name, path.read_bytes())
        status, _ = request(conn, "POST", "/v1/collections/load/documents", body, ctype)
        if status != 200:
            sys.exit(f"seeding failed: {path.name} -> {status}")
    conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running server (else --binary starts one)")
    parser.add_argument("--binary", help="kaito-rag binary to start on a temporary data directory")
    parser.add_argument("--server-arg", action="append", default=[], help="extra flag for the started server")
    parser.add_argument("--pid", type=int, help="server pid for RSS (known when --binary is used)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--keep-log", help="copy the started server's log here before its directory is removed")
    args = parser.parse_args()
    if not args.url and not args.binary:
        parser.error("give --url or --binary")
    if args.connections < 1 or args.connections > 512 or args.duration <= 0 or args.duration > 3600:
        parser.error("--connections 1..512 and --duration (0, 3600] keep the load bounded")

    proc = tmp = None
    url = args.url
    pid = args.pid
    if args.binary:
        proc, url, tmp = start_server(args.binary, args.server_arg)
        pid = proc.pid
    target = urlparse(url)
    host, port = target.hostname, target.port or 80
    try:
        seed_collection(host, port)
        stats, stop, rss = Stats(), threading.Event(), []
        # Forked before any client thread exists.
        context = multiprocessing.get_context("fork")
        probe_stop = context.Event()
        probe_results, probe_send = context.Pipe(duplex=False)
        probe = context.Process(target=probe_process, args=(host, port, probe_stop, probe_send), daemon=True)
        probe.start()
        background = [threading.Thread(target=prober, args=(host, port, stop, stats), daemon=True)]
        if pid:
            background.append(threading.Thread(target=rss_sampler, args=(pid, stop, rss), daemon=True))
        for t in background:
            t.start()
        deadline = time.monotonic() + args.duration
        started = time.monotonic()
        workers = [threading.Thread(target=client, args=(host, port, deadline, stats, i), daemon=True)
                   for i in range(args.connections)]
        for t in workers:
            t.start()
        for t in workers:
            t.join(args.duration + 120)
        elapsed = time.monotonic() - started
        stop.set()
        probe_stop.set()
        for t in background:
            t.join(5)
        if probe_results.poll(30):
            probed = probe_results.recv()
            stats.status["healthz"].update(probed["status"])
            stats.errors["healthz"] += probed["errors"]
            stats.latency["healthz"].extend(probed["latency"])
            stats.error_details.extend(probed["error_details"])
        probe.join(5)
        report = {"connections": args.connections, "duration_s": round(elapsed, 1), "routes": {}}
        for route in ("search", "ask", "upload", "healthz", "healthz_in_client"):
            lat = stats.latency[route]
            report["routes"][route] = {
                "status": dict(sorted(stats.status[route].items())), "transport_errors": stats.errors[route],
                "requests_per_s": round(sum(stats.status[route].values()) / elapsed, 1),
                "p50_ms": round(percentile(lat, 0.5) * 1000, 2), "p99_ms": round(percentile(lat, 0.99) * 1000, 2),
                "max_ms": round(max(lat) * 1000, 2) if lat else None}
        # A request sent on a connection idle for about the server's keep-alive timeout (2 s) races the server's
        # close: HTTP's keep-alive race, a client-side matter (bench/keepalive_race.py shows the window).
        report["transport_errors"] = [{**{k: v for k, v in d.items() if k != "monotonic"},
                                       "at_s": round(d["monotonic"] - started, 1),
                                       "keep_alive_race": (d.get("idle_before_s") or 0) >= KEEP_ALIVE_RACE_S}
                                      for d in stats.error_details]
        if pid:
            try:
                report["server_rss_mib"] = {"max_sampled": round(max(rss) / 1024, 1) if rss else None,
                                            "hwm": round(read_status(pid)["VmHWM"] / 1024, 1)}
            except OSError:
                pass
    finally:
        if proc:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
            if args.keep_log:
                shutil.copyfile(f"{tmp.name}/server.log", args.keep_log)
            tmp.cleanup()
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"{report['connections']} connections, {report['duration_s']} s")
        print(f"{'route':17} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}  statuses / transport errors")
        for route, r in report["routes"].items():
            print(f"{route:17} {r['requests_per_s']:>7} {r['p50_ms']:>8} {r['p99_ms']:>8} {r['max_ms']!s:>8}  "
                  f"{r['status']} / {r['transport_errors']}")
        for error in report["transport_errors"]:
            print(f"transport error: {error}")
        if "server_rss_mib" in report:
            print(f"server RSS: max sampled {report['server_rss_mib']['max_sampled']} MiB, "
                  f"peak (VmHWM) {report['server_rss_mib']['hwm']} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
