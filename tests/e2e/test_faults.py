"""Fault loops: kill -9 at random points of an ingest and of a run of deletes, repeated
KR_FAULT_TRIALS times (CI: 3 each; scripts/long_tier.sh: 100), and a parse worker that hangs,
spins or allocates without bound (the test-only KAITO_RAG_TEST_PARSE_WORKER_FAULT hook of
`kaito-rag __parse-worker`, compiled in with KR_TEST_HOOKS).

After every kill: `kaito-rag check` passes on the crashed data directory before anything repairs
it, the store and the BM25 index agree document by document, every acknowledged write is there,
every acknowledged delete is gone, and at most the one request in flight is undecided.
"""
import os
import random
import threading
import time

import pytest
import requests

from conftest import check_store
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
