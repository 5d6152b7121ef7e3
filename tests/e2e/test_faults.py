"""Fault loops: kill -9 at random points of an ingest and of a run of deletes, repeated
KR_FAULT_TRIALS times (CI: 3 each; scripts/long_tier.sh: 100), and a parse worker that hangs,
spins or allocates without bound (the test-only KAITO_RAG_TEST_PARSE_WORKER_FAULT hook of
`kaito-rag __parse-worker`, compiled in with KR_TEST_HOOKS); the model server killed in the middle
of a streamed answer; SIGTERM while uploads are in flight.

After every kill: `kaito-rag check` passes on the crashed data directory before anything repairs
it, the store and the BM25 index agree document by document, every acknowledged write is there,
every acknowledged delete is gone, and at most the one request in flight is undecided.
"""
import json
import os
import random
import subprocess
import sys
import threading
import time

import pytest
import requests

from conftest import HERE, SAMPLES, assert_error_body, check_store, free_port
from test_durability import WORDS, assert_index_matches_store, make_doc

TRIALS = int(os.environ.get("KR_FAULT_TRIALS", "3"))
BASE_SEED = int(os.environ.get("KR_FAULT_SEED", "1000"))
N_DOCS = 60


class Writer(threading.Thread):
    """Runs `requests` (callables taking a session) one after another; records which ones the
    server answered 200 and which one got no answer."""

    def __init__(self, steps):
        super().__init__(daemon=True)
        self.steps = steps
        self.acked = {}        # step index -> response JSON
        self.in_flight = None  # the step that got no answer
        self.errors = []

    def run(self):
        session = requests.Session()
        for i, step in enumerate(self.steps):
            try:
                r = step(session)
            except requests.RequestException:
                self.in_flight = i
                return
            if r.status_code != 200:
                self.errors.append((i, r.status_code, r.text[:300]))
                return
            self.acked[i] = r.json()


def kill_at_random(server, writer, rng, acks_before_kill):
    writer.start()
    deadline = time.monotonic() + 120
    while len(writer.acked) < acks_before_kill and writer.is_alive() and time.monotonic() < deadline:
        time.sleep(0.001)
    time.sleep(rng.uniform(0, 0.05))  # a random point inside the next request
    server.kill()
    writer.join(30)
    assert not writer.errors, writer.errors


@pytest.mark.kill9
@pytest.mark.parametrize("trial", range(TRIALS))
def test_kill_9_during_ingest(make_server, trial):
    rng = random.Random(BASE_SEED + trial)
    docs = [make_doc("fing", i, rng) for i in range(N_DOCS)]
    server = make_server(name=f"ingest-{trial}")
    url = f"{server.url}/v1/collections/faults/documents"
    steps = [lambda s, d=d: s.post(url, files=[("file", d)], timeout=30) for d in docs]
    writer = Writer(steps)
    kill_at_random(server, writer, rng, rng.randint(0, N_DOCS // 2))

    check_store(server.data_dir)  # consistent as the crash left it
    server.start()
    names = set()
    if server.get("/v1/collections/faults").status_code == 200:
        names = {d["name"] for d in assert_index_matches_store(server, "faults", "fing")}
    acked = {docs[i][0] for i in writer.acked}
    assert acked <= names, f"acknowledged documents lost: {sorted(acked - names)}"
    unacked = names - acked
    assert len(unacked) <= 1 and (not unacked or unacked == {docs[writer.in_flight][0]}), unacked
    server.stop()


@pytest.mark.kill9
@pytest.mark.parametrize("trial", range(TRIALS))
def test_kill_9_during_deletes(make_server, trial):
    rng = random.Random(BASE_SEED + 500 + trial)
    docs = [make_doc("fdel", i, rng) for i in range(N_DOCS // 2)]
    server = make_server(name=f"delete-{trial}")
    for d in docs:
        server.upload_ok("faults", [d])
    ids = {d["name"]: d["doc_id"] for d in server.all_documents("faults")}
    order = list(ids)
    rng.shuffle(order)
    url = f"{server.url}/v1/collections/faults/documents/"
    steps = [lambda s, n=n: s.delete(url + ids[n], timeout=30) for n in order]
    writer = Writer(steps)
    kill_at_random(server, writer, rng, rng.randint(0, len(order) - 2))

    check_store(server.data_dir)
    server.start()
    remaining = {d["name"] for d in assert_index_matches_store(server, "faults", "fdel")}
    deleted = {order[i] for i in writer.acked}
    assert not (deleted & remaining), f"acknowledged deletes came back: {sorted(deleted & remaining)}"
    never_deleted = set(order[len(writer.acked) + 1:])
    assert never_deleted <= remaining, f"documents nobody deleted are gone: {sorted(never_deleted - remaining)}"
    undecided = set(order) - deleted - remaining - never_deleted
    assert undecided <= ({order[writer.in_flight]} if writer.in_flight is not None else set()), undecided
    # Nothing partial: a search for any word finds only whole documents (chunk sets checked above),
    # and the collection still takes writes.
    server.upload_ok("faults", [("after-restart.txt", f"Written after the crash about {WORDS[0]}.".encode())])
    server.stop()
    check_store(server.data_dir)


# -- a misbehaving parse worker ----------------------------------------------------------------

GOOD = ("good.md", b"# Notes\n\nThe parse worker canary is a heron.\n")


@pytest.mark.parametrize("fault, code, words", [
    ("hang", "deadline_exceeded", "longer than 1 s"),
    ("spin", "deadline_exceeded", "longer than 1 s"),
    ("alloc", "resource_exhausted", "memory"),
])
def test_misbehaving_parse_worker_is_stopped_at_its_limit(make_server, fault, code, words):
    """The worker for one file misbehaves (KAITO_RAG_TEST_PARSE_WORKER_FAULT=<fault>:<file name>); that
    file fails with a clear error within its limit, the other file of the same upload is ingested,
    and the server keeps serving."""
    server = make_server(args=["--parse-max-seconds", "1"],
                         env={"KAITO_RAG_TEST_PARSE_WORKER_FAULT": f"{fault}:bad.pdf"})
    started = time.monotonic()
    r = server.upload("c", [("bad.pdf", b"%PDF-1.4\n%%EOF\n"), GOOD])
    elapsed = time.monotonic() - started
    assert r.status_code == 200, r.text
    by_name = {x["name"]: x for x in r.json()["results"]}
    assert by_name["good.md"]["status"] == "added", by_name
    bad = by_name["bad.pdf"]
    assert bad["status"] == "failed", bad
    assert bad["error"]["code"] == code, bad
    assert words in bad["error"]["message"], bad
    # wall-clock backstop: 1.5 x parse_max_seconds + 5 s, plus scheduling slack on a busy machine
    assert elapsed < 20, elapsed
    assert server.healthy()
    assert [h["document_name"] for h in server.search("c", "heron")["results"]] == ["good.md"]


# -- the model server dies in the middle of a streamed answer ------------------------------------

class ModelServer:
    """tests/e2e/fake_llm.py in a process of its own, so it can die like a real model server (kill -9)."""

    def __init__(self, port, stream_delay):
        self.port, self.stream_delay = port, stream_delay
        self.url = f"http://127.0.0.1:{port}/v1"
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen([sys.executable, str(HERE / "fake_llm.py"), "--port", str(self.port),
                                      "--stream-delay", str(self.stream_delay)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/models", timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                time.sleep(0.1)
        raise AssertionError("fake_llm.py did not start")

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def model_server():
    model = ModelServer(free_port(), stream_delay=0.3)
    yield model.start()
    model.kill()


def sse_events(lines):
    """(event name, JSON or "[DONE]") per SSE message; the name is "message" when none is given."""
    events, name, data = [], "message", []
    for line in lines:
        if line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
        elif not line and data:
            payload = "\n".join(data)
            events.append((name, payload if payload == "[DONE]" else json.loads(payload)))
            name, data = "message", []
    return events


def stream_and_kill_model(server, path, body, model, is_content):
    """Streams `path`, kills the model server once two content events arrived, reads to the end."""
    lines, seen = [], 0
    with server.session.post(server.url + path, json=body, stream=True, timeout=60) as r:
        assert r.status_code == 200, r.text
        for line in r.iter_lines(decode_unicode=True):
            lines.append(line)
            if not line and seen < 2:
                events = sse_events(lines)
                seen = sum(1 for e in events if is_content(e))
                if seen >= 2:
                    model.kill()
    assert seen >= 2, lines
    return sse_events(lines + [""])


@pytest.mark.parametrize("route", ["ask", "chat"])
def test_model_server_dying_mid_stream_ends_the_stream_with_an_error(make_server, model_server, route):
    server = make_server(args=["--llm-url", model_server.url, "--llm-max-retries", "0"])
    server.upload_ok("handbook", sorted(SAMPLES.iterdir()))
    question = "How long is paid parental leave?"
    if route == "ask":
        events = stream_and_kill_model(server, "/v1/collections/handbook/ask", {"question": question, "stream": True},
                                       model_server, lambda e: e[0] == "token")
        names = [name for name, _ in events]
        assert names[-1] == "error" and "done" not in names, names
        error = events[-1][1]["error"]
    else:
        events = stream_and_kill_model(server, "/v1/chat/completions",
                                       {"index_name": "handbook", "stream": True,
                                        "messages": [{"role": "user", "content": question}]},
                                       model_server, lambda e: isinstance(e[1], dict) and e[1].get("choices"))
        payloads = [p for _, p in events]
        assert payloads[-1] == "[DONE]" and "error" in payloads[-2], payloads[-3:]
        assert not any(isinstance(p, dict) and p.get("choices") and p["choices"][0].get("finish_reason")
                       for p in payloads), payloads
        error = payloads[-2]["error"]
    assert error["message"] and error["code"], error

    # The server is unharmed: healthy, searching, answering without the model, and with it once it is back.
    assert server.healthy() and server.get("/readyz").status_code == 200
    assert server.search("handbook", "parental leave")["results"]
    down = server.ask("handbook", question)
    assert down.status_code in (502, 503, 504), down.text
    assert_error_body(down)
    model_server.start()
    answer = server.ask("handbook", question)
    assert answer.status_code == 200 and "20 weeks" in answer.json()["answer"], answer.text


# -- SIGTERM while uploads are in flight ---------------------------------------------------------

class BatchUploader(threading.Thread):
    """Uploads batches of files one request after another until the server stops answering; keeps
    every answer and the batch whose request got no answer (connection closed)."""

    def __init__(self, url, batches):
        super().__init__(daemon=True)
        self.url, self.batches = url, batches
        self.answers = []     # (batch, status, JSON)
        self.unanswered = None

    def run(self):
        session = requests.Session()
        for batch in self.batches:
            files = [("file", (name, data, "application/octet-stream")) for name, data in batch]
            try:
                r = session.post(self.url, files=files, timeout=60)
            except requests.RequestException:
                self.unanswered = batch
                return
            self.answers.append((batch, r.status_code, r.json()))
            if r.status_code != 200:
                return


@pytest.mark.parametrize("trial", range(TRIALS))
def test_sigterm_during_uploads_loses_nothing_acknowledged(make_server, trial):
    rng = random.Random(BASE_SEED + 900 + trial)
    docs = [make_doc("fterm", i, rng) for i in range(120)]
    batches = [docs[i:i + 5] for i in range(0, len(docs), 5)]
    server = make_server(name=f"sigterm-{trial}")
    url = f"{server.url}/v1/collections/faults/documents"
    uploaders = [BatchUploader(url, batches[k::4]) for k in range(4)]
    for u in uploaders:
        u.start()
    deadline = time.monotonic() + 120
    while sum(len(u.answers) for u in uploaders) < rng.randint(2, 8) and time.monotonic() < deadline:
        time.sleep(0.005)
    assert server.stop(timeout=60) == 0, "SIGTERM must end the server cleanly while uploads are in flight"
    for u in uploaders:
        u.join(60)
        assert not u.is_alive(), "an upload hung after the server stopped"

    added, refused, undecided = set(), set(), set()
    for u in uploaders:
        for batch, status, body in u.answers:
            if status == 200:
                for result in body["results"]:
                    (added if result["status"] == "added" else refused).add(result["name"])
            else:  # a whole request refused while stopping: an error body, nothing of it stored
                assert status == 503 and body["error"]["code"] == "unavailable", (status, body)
                refused |= {name for name, _ in batch}
        if u.unanswered:
            undecided |= {name for name, _ in u.unanswered}

    check_store(server.data_dir)  # consistent as the shutdown left it
    server.start()
    names = set()
    if server.get("/v1/collections/faults").status_code == 200:
        names = {d["name"] for d in assert_index_matches_store(server, "faults", "fterm")}
    assert added <= names, f"acknowledged uploads lost: {sorted(added - names)}"
    assert not (refused & names), f"refused files were stored: {sorted(refused & names)}"
    assert names - added <= undecided, f"stored without an answer or a connection close: {sorted(names - added - undecided)}"
    server.upload_ok("faults", [("after-restart.txt", b"Written after the shutdown about robots.")])
    server.stop()
