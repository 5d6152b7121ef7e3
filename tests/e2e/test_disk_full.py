"""The disk holding the data directory fills up during ingest: a 64 MiB tmpfs (needs root, as in CI).

A ballast file fills the tmpfs to the last byte (or leaves a little room, so an ingest runs out
part-way). Every upload then answers with a clear insufficient-storage error (507) or lists each file
it could not store with that reason; nothing acknowledged is lost, nothing half-written is visible,
the collection stays readable and searchable, and once the ballast is gone the same uploads succeed.
`kaito-rag check` passes on the data directory afterwards and a restart serves the same documents.
"""
import errno
import os
import random
import subprocess

import pytest

from conftest import assert_error_body, check_store
from test_durability import assert_index_matches_store, make_doc

SIZE = "64m"
COLLECTION = "full"
PREFIX = "df"


@pytest.fixture
def small_disk(tmp_path):
    mnt = tmp_path / "disk"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SIZE},mode=0700", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a {SIZE} tmpfs (needs root and mount permission): {r.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(mnt, leave: int = 0) -> None:
    """Writes a ballast file until the tmpfs is full, then frees `leave` bytes of it."""
    ballast = mnt / "ballast"
    fd = os.open(ballast, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for size in (1 << 20, 1 << 12, 1):
            block = b"\0" * size
            while True:
                try:
                    os.write(fd, block)
                except OSError as e:
                    assert e.errno == errno.ENOSPC, e
                    break
    finally:
        os.close(fd)
    if leave:
        os.truncate(ballast, ballast.stat().st_size - leave)


def docs(first: int, count: int, seed: int):
    rng = random.Random(seed)
    return [make_doc(PREFIX, i, rng) for i in range(first, first + count)]


def upload(server, files):
    """Uploads `files`; returns the names the server acknowledged as stored. Refusals must say why."""
    r = server.upload(COLLECTION, files)
    if r.status_code != 200:
        body = assert_error_body(r)
        assert r.status_code in (507, 503), (r.status_code, body)
        assert body["error"]["code"] in ("insufficient_storage", "unavailable"), body
        return set()
    stored = set()
    for item in r.json()["results"]:
        if item.get("status") in ("added", "updated", "unchanged"):
            stored.add(item["name"])
        else:
            error = item.get("error") or {}
            message = error.get("message", "")
            assert error.get("code") == "insufficient_storage", item
            assert "disk full" in message or "no space" in message, item
    return stored


def listed(server):
    return {d["name"] for d in server.all_documents(COLLECTION)}


def test_disk_full_during_ingest_keeps_the_collection_readable_and_ingest_resumes(make_server, small_disk):
    data_dir = small_disk / "data"
    server = make_server(data_dir=data_dir)
    first = docs(0, 12, seed=1)
    assert upload(server, first) == {name for name, _ in first}
    before = listed(server)

    # Not a byte left: the upload is refused as a whole, with the reason.
    fill(small_disk)
    batch = docs(100, 40, seed=2)
    r = server.upload(COLLECTION, batch)
    body = assert_error_body(r, 507, "insufficient_storage")
    assert "no space" in body["error"]["message"] or "disk full" in body["error"]["message"], body
    assert listed(server) == before
    assert server.healthy()

    # A little room: the ingest runs out part-way; what it acknowledged is there, nothing else.
    (small_disk / "ballast").unlink()
    fill(small_disk, leave=128 * 1024)
    stored = set()
    for one in batch:  # one file per request: each gets its own answer as the room runs out
        stored |= upload(server, [one])
    assert len(stored) < len(batch), "the ballast left too much room: the disk never filled up"
    assert listed(server) == before | stored
    assert_index_matches_store(server, COLLECTION, PREFIX)
    hits = server.search(COLLECTION, "warehouse battery")["results"]
    assert hits, "search answers while the disk is full"

    # Space returns: the same uploads go through.
    (small_disk / "ballast").unlink()
    retried = upload(server, batch)
    assert retried == {name for name, _ in batch}
    assert listed(server) == before | retried
    assert_index_matches_store(server, COLLECTION, PREFIX)

    assert server.stop() == 0
    check_store(data_dir)
    server.start()
    assert listed(server) == before | retried
    assert_index_matches_store(server, COLLECTION, PREFIX)
