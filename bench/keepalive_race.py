#!/usr/bin/env python3
"""Reuse of a keep-alive connection around the server's idle timeout: which idle gaps lose the next request.

    python3 bench/keepalive_race.py --binary build/release/src/kaito-rag [--trials 16]
    python3 bench/keepalive_race.py --url http://127.0.0.1:8080

Kaito-RAG closes a keep-alive connection after it has been idle for its keep-alive timeout (2 s, announced in
every answer as `Keep-Alive: timeout=2, max=1000`). A client that sends its next request on such a connection
just as the server closes it gets a reset or an empty answer instead of a status: HTTP's keep-alive race
(RFC 9112 §9.3.1). Python's http.client ignores the Keep-Alive header and does not retry a POST, so in
bench/load.py a client thread that sits idle for ≈2 s (32 threads sharing one GIL on a machine at load ≈30)
records a transport error. This script shows where the errors are: for each idle gap, --trials connections each
send a search, wait the gap, send another, and the second one's outcome is counted. Standard library only.
"""
import argparse
import json
import sys
import threading
import time
from collections import Counter
from urllib.parse import urlparse

import load

GAPS = (0.5, 1.5, 1.9, 1.95, 1.98, 2.0, 2.02, 2.05, 2.1, 2.5)


def second_request_after(host, port, gap):
    conn = load.http.client.HTTPConnection(host, port, timeout=30)
    body = json.dumps({"query": "parental leave", "top_k": 5}).encode()
    try:
        load.request(conn, "POST", "/v1/collections/load/search", body, "application/json")
        time.sleep(gap)
        status, _ = load.request(conn, "POST", "/v1/collections/load/search", body, "application/json")
        return str(status)
    except (OSError, load.http.client.HTTPException) as e:
        return type(e).__name__
    finally:
        conn.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url")
    ap.add_argument("--binary")
    ap.add_argument("--trials", type=int, default=16, help="connections per idle gap (run in parallel)")
    a = ap.parse_args()
    if not a.url and not a.binary:
        ap.error("give --url or --binary")
    proc = tmp = None
    url = a.url
    if a.binary:
        proc, url, tmp = load.start_server(a.binary, [])
    host, port = urlparse(url).hostname, urlparse(url).port
    try:
        load.seed_collection(host, port)
        result = {}
        for gap in GAPS:
            outcomes, lock = Counter(), threading.Lock()

            def trial(g=gap):
                outcome = second_request_after(host, port, g)
                with lock:
                    outcomes[outcome] += 1

            threads = [threading.Thread(target=trial) for _ in range(a.trials)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            result[f"{gap:.2f}"] = dict(outcomes)
            print(json.dumps({"idle_gap_s": gap, "second_request": dict(outcomes)}), flush=True)
    finally:
        if proc:
            proc.terminate()
            proc.wait(30)
            tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
