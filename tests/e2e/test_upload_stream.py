"""Uploads are parsed as they stream in: file parts go to 0600 scratch files, never held in RAM,
and the scratch files go away with the request, a disconnect included."""
from __future__ import annotations

import socket
import time
import zipfile

import requests

from test_limits import rss_kib

MiB = 1 << 20
BOUNDARY = "kr-stream-test"


def scratch_files(server):
    return sorted((server.data_dir / "tmp").glob("upload-*"))


def multipart_head(name: str) -> bytes:
    return (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
            f"Content-Type: text/plain\r\n\r\n").encode()


def test_200_mib_upload_streams_to_scratch_without_growing_rss(make_server):
    # Body-only: the file passes the upload limit but not the parse limit, so no embedding runs.
    server = make_server(args=["--max-upload-bytes", str(300 * MiB), "--parse-max-file-bytes", str(MiB)])
    assert requests.post(server.url + "/v1/collections", json={"name": "big"}).status_code in (200, 201)
    before = rss_kib(server.proc.pid)
    size = 200 * MiB
    piece = b"robots move pallets, 42\n" * 43690  # ~1 MiB

    def body():
        yield multipart_head("big.txt")
        sent = 0
        while sent < size:
            chunk = piece[: size - sent]
            sent += len(chunk)
            yield chunk
        yield f"\r\n--{BOUNDARY}--\r\n".encode()

    started = time.monotonic()
    resp = requests.post(server.url + "/v1/collections/big/documents", data=body(),
                         headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}, timeout=120)
    seconds = time.monotonic() - started
    after = rss_kib(server.proc.pid)
    assert resp.status_code == 413, resp.text
    assert "parse_max_file_bytes" in resp.json()["results"][0]["error"]["message"]
    growth_mib = (after["VmHWM"] - before["VmHWM"]) / 1024
    print(f"200 MiB upload: VmHWM growth {growth_mib:.1f} MiB in {seconds:.1f} s")
    assert growth_mib < 64, (before, after)
    assert scratch_files(server) == []
    assert server.healthy()


def big_docx(path, media_bytes: int) -> None:
    """A Word document whose text is one paragraph and whose bulk is a stored (uncompressed) media file,
    like a report with an embedded video."""
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("[Content_Types].xml",
                   '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                   '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
                   'officedocument.wordprocessingml.document.main+xml"/></Types>')
        z.writestr("word/document.xml",
                   '<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/'
                   '2006/main"><w:body><w:p><w:r><w:t>The forklift fleet is serviced every quarter.</w:t></w:r>'
                   '</w:p></w:body></w:document>')
        with z.open(zipfile.ZipInfo("word/media/video.bin"), "w", force_zip64=True) as media:
            block = bytes(range(256)) * 4096  # 1 MiB
            for _ in range(media_bytes // len(block)):
                media.write(block)


def test_200_mib_document_is_parsed_from_its_scratch_file_without_growing_rss(make_server, tmp_path):
    # The whole path: body -> scratch file -> parse worker (given the path) -> commit. The server never
    # holds the file: its peak RSS grows by far less than the file, which is parsed and searchable.
    server = make_server(args=["--max-upload-bytes", str(300 * MiB)])
    assert requests.post(server.url + "/v1/collections", json={"name": "big"}).status_code in (200, 201)
    docx = tmp_path / "fleet.docx"
    big_docx(docx, 200 * MiB)
    size = docx.stat().st_size
    assert size >= 200 * MiB
    before = rss_kib(server.proc.pid)

    def body():
        yield multipart_head("fleet.docx")
        with open(docx, "rb") as f:
            while piece := f.read(MiB):
                yield piece
        yield f"\r\n--{BOUNDARY}--\r\n".encode()

    started = time.monotonic()
    resp = requests.post(server.url + "/v1/collections/big/documents", data=body(),
                         headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}, timeout=300)
    seconds = time.monotonic() - started
    after = rss_kib(server.proc.pid)
    assert resp.status_code == 200, resp.text
    result = resp.json()["results"][0]
    assert result["status"] == "added" and result["format"] == "docx", result
    growth_mib = (after["VmHWM"] - before["VmHWM"]) / 1024
    print(f"{size / MiB:.0f} MiB .docx parsed: server VmHWM growth {growth_mib:.1f} MiB in {seconds:.1f} s")
    assert growth_mib < 32, (before, after)
    hits = requests.post(server.url + "/v1/collections/big/search",
                         json={"query": "forklift serviced quarter", "mode": "bm25"}).json()["results"]
    assert hits and "forklift" in hits[0]["text"]
    assert scratch_files(server) == []
    assert server.healthy()


def test_disconnect_mid_upload_leaves_no_scratch_file(make_server):
    server = make_server()
    assert requests.post(server.url + "/v1/collections", json={"name": "cut"}).status_code in (200, 201)
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.sendall((f"POST /v1/collections/cut/documents HTTP/1.1\r\nHost: x\r\nContent-Length: {64 * MiB}\r\n"
                  f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n\r\n").encode())
    sock.sendall(multipart_head("half.txt") + b"some words here\n" * 65536)  # 1 MiB of 64
    deadline = time.monotonic() + 10
    while not scratch_files(server) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert scratch_files(server), "the part should be on disk while it arrives"
    sock.close()
    deadline = time.monotonic() + 10
    while scratch_files(server) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert scratch_files(server) == []
    assert server.healthy()
    assert requests.get(server.url + "/v1/collections/cut/documents").json()["total"] == 0
