"""The HTTP edge under abuse and load: JSON depth limit, per-route body limits checked
before (Content-Length) and while (chunked) reading, probes answered while every worker
is busy, a bounded connection queue answering 503 + Retry-After, TCP_NODELAY."""
from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import threading
import time

import pytest
import requests

from conftest import SAMPLES, assert_error_body
from fake_llm import FakeLLM

MiB = 1 << 20
DEEP = 1_000_000


def rss_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) of a process, in KiB."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
    return out


def read_response(sock: socket.socket, timeout: float = 30) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of one HTTP/1.1 response (Content-Length framed) from a raw socket."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed before a response; got {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, headers, body[:length]


def send_oversized(server, head: bytes, body_chunks, total_bytes: int) -> tuple[int, dict, bytes, int]:
    """Sends `head`, then body chunks from a thread until the server stops reading; returns the
    response and how many body bytes the client managed to push."""
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.sendall(head)
    sent = [0]

    def pump():
        try:
            for piece in body_chunks:
                sock.sendall(piece)
                sent[0] += len(piece)
                if sent[0] >= total_bytes:
                    break
        except OSError:
            pass  # the server closed after answering 413: expected

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    try:
        status, headers, body = read_response(sock)
    finally:
        thread.join(30)
        sock.close()
    return status, headers, body, sent[0]


# -- JSON depth ---------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/v1/collections/deep/search", "/v1/collections/deep/ask", "/v1/collections",
                                  "/v1/chat/completions", "/v1/embeddings"])
def test_million_levels_of_nesting_are_refused_and_the_server_lives(server, path):
    body = "[" * DEEP + "]" * DEEP
    r = server.post(path, data=body, headers={"Content-Type": "application/json"})
    err = assert_error_body(r, 400, "invalid_argument")
    assert "deeper than 64 levels" in err["error"]["message"], err
    nested_value = '{"query": "x", "filter": ' + '{"a": ' * 100 + "1" + "}" * 100 + "}"
    r = server.post(path, data=nested_value, headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "deeper than 64 levels" in r.text, r.text
    assert server.healthy()


def test_depth_limit_on_form_fields_query_parameters_and_ragengine(server):
    server.upload_ok("deep", [SAMPLES / "employee-handbook.md"])
    deep = "{" * 65 + "}" * 65
    r = server.post("/v1/collections/deep/documents", files=[("file", ("a.txt", b"hello"))],
                    data={"metadata": '{"a": ' + "[" * 70 + "]" * 70 + "}"})
    assert_error_body(r, 400, "invalid_argument")
    assert "form field 'metadata' nests" in r.text, r.text
    r = server.get("/v1/collections/deep/documents", params={"filter": deep})
    assert_error_body(r, 400, "invalid_argument")
    assert "query parameter 'filter' nests" in r.text, r.text
    r = server.post("/retrieve", data="[" * DEEP, headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "deeper than 64 levels" in r.json()["detail"], r.text
    r = server.get("/indexes/deep/documents", params={"metadata_filter": deep})
    assert r.status_code == 400, r.text
    # Ordinary nesting still works (64 levels exactly: tests/unit/api/http_util_test.cpp).
    assert server.search("deep", "vacation days")["results"]
    assert server.search("deep", "vacation days", filter={"team": ["hr", "it"]})["results"] == []  # no metadata
    assert server.healthy()


# -- body limits --------------------------------------------------------------------------------

def test_300_mib_json_body_is_refused_from_its_content_length_without_reading_it(server):
    before = rss_kib(server.proc.pid)
    total = 300 * MiB
    head = (f"POST /v1/collections/big/search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {total}\r\n\r\n").encode()
    status, headers, body, sent = send_oversized(server, head, iter(lambda: b"[" * MiB, None), total)
    assert status == 413, body
    message = json.loads(body)["error"]["message"]
    assert f"request body is {total} bytes" in message and "max_json_bytes" in message, message
    assert headers.get("connection") == "close", headers
    after = rss_kib(server.proc.pid)
    assert after["VmHWM"] - before["VmHWM"] < 4 * 1024, (before, after)
    assert sent < total, "the server should stop listening long before 300 MiB"
    assert server.healthy()


def test_json_limit_is_per_route_uploads_keep_theirs(server):
    big_json = b'{"query": "' + b"a" * (9 * MiB) + b'"}'
    r = server.post("/v1/collections/x/search", data=big_json, headers={"Content-Type": "application/json"})
    err = assert_error_body(r, 413, "too_large")
    assert "max_json_bytes" in err["error"]["message"], err
    # The same size as an upload is under max_upload_bytes (256 MiB) and accepted.
    text = (b"Warehouse robots move pallets between docks. " * 200 + b"\n\n") * (9 * MiB // 9200)
    body = server.upload_ok("x", [("big.txt", text)])
    assert body["results"][0]["status"] == "added", body


def chunked(piece: bytes, count: int):
    frame = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    for _ in range(count):
        yield frame
    yield b"0\r\n\r\n"


def test_chunked_json_body_cannot_bypass_the_json_limit(server):
    before = rss_kib(server.proc.pid)
    head = (b"POST /v1/collections/big/search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    status, headers, body, sent = send_oversized(server, head, chunked(b"[" * MiB, 512), 512 * MiB)
    assert status == 413, body
    assert "max_json_bytes" in json.loads(body)["error"]["message"], body
    after = rss_kib(server.proc.pid)
    # At most the 8 MiB limit is buffered (a string doubling to 16 MiB), never the 512 MiB.
    assert after["VmHWM"] - before["VmHWM"] < 24 * 1024, (before, after)
    assert sent < 512 * MiB
    assert server.healthy()


def test_one_gib_chunked_upload_is_refused_at_the_upload_limit(make_server):
    server = make_server(args=["--max-upload-bytes", str(16 * MiB)])
    before = rss_kib(server.proc.pid)
    boundary = "XyZbound"
    head = (f"POST /v1/collections/up/documents HTTP/1.1\r\nHost: x\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
    part_head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"huge.txt\"\r\n"
                 f"Content-Type: text/plain\r\n\r\n").encode()

    def body():
        yield f"{len(part_head):x}\r\n".encode() + part_head + b"\r\n"
        yield from chunked(b"robots move pallets. " * 49932, 1024)  # ~1 GiB

    status, headers, resp, sent = send_oversized(server, head, body(), 1 << 30)
    assert status == 413, resp
    assert "max_upload_bytes" in json.loads(resp)["error"]["message"], resp
    after = rss_kib(server.proc.pid)
    assert after["VmHWM"] - before["VmHWM"] < 48 * 1024, (before, after)
    assert sent < (1 << 30)
    assert server.healthy()
    assert server.get("/v1/collections/up/documents").status_code in (200, 404)


# -- admission ----------------------------------------------------------------------------------

def test_keep_alive_requests_do_not_wait_for_delayed_acks(server):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    times = []
    for _ in range(50):
        start = time.perf_counter()
        conn.request("POST", "/v1/collections/none/search", body=b'{"query": "x"}',
                     headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        r.read()
        times.append(time.perf_counter() - start)
    conn.close()
    times.sort()
    # Nagle + delayed ACK made every keep-alive request wait ~40 ms.
    assert times[len(times) // 2] < 0.02, times


def test_probes_answer_while_every_worker_streams_slowly(make_server):
    with FakeLLM(stream_delay=0.05, chunk_chars=1) as fake:
        server = make_server(args=["--llm-url", fake.url, "--llm-max-retries", "0", "--http-threads", "8"])
        body = {"stream": True, "messages": [{"role": "user", "content": "Tell me about vacation days and leave."}]}
        done = []

        def stream():
            with requests.post(server.url + "/v1/chat/completions", json=body, stream=True, timeout=120) as r:
                done.append((r.status_code, len(r.content)))

        threads = [threading.Thread(target=stream) for _ in range(8)]
        for t in threads:
            t.start()
        time.sleep(0.5)  # the eight streams hold the eight workers
        probes = []
        session = requests.Session()
        while any(t.is_alive() for t in threads) and len(probes) < 200:
            start = time.perf_counter()
            r = session.get(server.url + "/healthz", timeout=10)
            probes.append(time.perf_counter() - start)
            assert r.status_code == 200, r.text
            time.sleep(0.01)
        for t in threads:
            t.join(120)
        session.close()
    assert len(probes) >= 50, f"only {len(probes)} probes while the streams ran"
    probes.sort()
    assert probes[int(len(probes) * 0.99) - 1] < 0.1, probes[-10:]
    assert [s for s, _ in done] == [200] * 8, done


def test_full_queue_answers_503_with_retry_after(make_server):
    with FakeLLM(stream_delay=0.2, chunk_chars=1) as fake:
        server = make_server(args=["--llm-url", fake.url, "--llm-max-retries", "0", "--http-threads", "1",
                                   "--http-queue-max", "1"])
        body = {"stream": True, "messages": [{"role": "user", "content": "Tell me about vacation days."}]}
        slow = requests.post(server.url + "/v1/chat/completions", json=body, stream=True, timeout=60)
        assert slow.status_code == 200
        queued = socket.create_connection(("127.0.0.1", server.port))
        queued.sendall(b"GET /v1/collections HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.3)
        r = requests.get(server.url + "/v1/collections", timeout=10, headers={"Connection": "close"})
        err = assert_error_body(r, 503, "unavailable")
        assert r.headers.get("Retry-After") == "1", r.headers
        assert "busy" in err["error"]["message"], err
        assert server.get("/healthz", timeout=5).status_code == 200  # probes bypass the queue
        slow.close()
        status, _, _ = read_response(queued)  # the queued request is served, not dropped
        queued.close()
        assert status == 200
    assert 'route="(busy)"' in server.metrics()


# -- parse workers ------------------------------------------------------------------------------

def parse_workers_of(data_dir) -> list[int]:
    """Pids of parse workers whose scratch files are under `data_dir` (any parent)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if b"__parse-worker" in argv and any(str(data_dir).encode() in a for a in argv):
            pids.append(int(entry))
    return pids


def test_parse_workers_die_with_a_killed_server(make_server):
    server = make_server()
    # HTML: text, Markdown and CSV are parsed in-process; HTML goes to a worker. ~60 MB: parsing
    # takes a noticeable moment.
    text = (b"<html><body>" + (b"<p>Autonomous robots move pallets between docks while the fleet manager "
                                b"balances routes.</p>\n") * 600000 + b"</body></html>")
    stop = threading.Event()

    def upload(i):
        while not stop.is_set():
            try:
                requests.post(f"{server.url}/v1/collections/k/documents", files=[("file", (f"f{i}.html", text))],
                              timeout=60, headers={"Connection": "close"})
            except requests.RequestException:
                return

    threads = [threading.Thread(target=upload, args=(i,), daemon=True) for i in range(3)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    seen = []
    while time.monotonic() < deadline and not seen:
        seen = parse_workers_of(server.data_dir)
        time.sleep(0.005)
    assert seen, "no parse worker was ever observed"
    server.kill()
    stop.set()
    deadline = time.monotonic() + 5
    left = parse_workers_of(server.data_dir)
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = parse_workers_of(server.data_dir)
    assert not left, f"parse workers outlived the server: {left}"
    for t in threads:
        t.join(10)


def test_sigterm_wakes_requests_waiting_for_the_model_with_503(make_server):
    with FakeLLM(stream_delay=0.2, chunk_chars=1) as fake:
        server = make_server(args=["--llm-url", fake.url, "--llm-max-retries", "0", "--llm-max-concurrent", "1",
                                   "--llm-max-waiting", "4"])
        body = {"messages": [{"role": "user", "content": "Tell me about vacation days and leave."}]}
        slow = requests.post(server.url + "/v1/chat/completions", json={**body, "stream": True}, stream=True,
                             timeout=60)
        assert slow.status_code == 200  # holds the one model slot for many seconds
        waited = []

        def waiter():
            r = requests.post(server.url + "/v1/chat/completions", json=body, timeout=60)
            waited.append((r.status_code, r.headers.get("Retry-After"), r.text, time.perf_counter()))

        thread = threading.Thread(target=waiter)
        thread.start()
        time.sleep(1.0)  # the waiter is queued for the slot
        assert not waited, waited
        stopped_at = time.perf_counter()
        server.proc.send_signal(signal.SIGTERM)
        thread.join(30)
        slow.close()
        assert server.proc.wait(30) == 0
    assert waited, "the waiting request got no answer"
    status, retry_after, text, answered_at = waited[0]
    assert status == 503 and retry_after, (status, text)
    assert json.loads(text)["error"]["code"] == "unavailable" and "shutting down" in text, text
    assert answered_at - stopped_at < 10, answered_at - stopped_at  # not the model timeout
