"""Formats added for issue 13 through the real server: OCR of a scanned PDF, a password-protected PDF opened
with the upload's `password` field (and that password never reaching the log or the store), table rows with
their header names, and per-collection ingest of RTF/EML/ODT fixtures."""
import pytest

from conftest import CORPUS, FIXTURES, check_store

LIBREOFFICE_PDF = CORPUS / "pdf" / "py-pdf-sample-files" / \
    "005-libreoffice-writer-password__libreoffice-writer-password.pdf"


def by_name(results):
    return {r["name"]: r for r in results}


def test_scanned_pdf_is_searchable_through_ocr(make_server):
    server = make_server()
    server.create_collection("scans")
    body = server.upload_ok("scans", [FIXTURES / "scanned.pdf"])
    res = body["results"][0]
    assert res["status"] == "added", res
    assert any("text from OCR (eng), mean confidence" in w for w in res.get("warnings", [])), res
    hits = server.search("scans", "invoice total due EUR", top_k=3)["results"]
    assert hits and "1,250.40" in hits[0]["text"], hits


def test_ocr_can_be_turned_off(make_server):
    server = make_server(args=["--parse-ocr-language", "off"])
    server.create_collection("scans")
    r = server.upload("scans", [FIXTURES / "ocr.png"])
    assert r.status_code == 415, r.text
    assert "OCR is turned off" in r.json()["results"][0]["error"]["message"]


def test_password_protected_pdf_opens_with_password_and_it_is_not_kept(make_server, tmp_path):
    if not LIBREOFFICE_PDF.is_file():
        pytest.skip(f"no shared corpus at {CORPUS}")
    data_dir = tmp_path / "data"
    server = make_server(data_dir=data_dir)
    server.create_collection("locked")
    pdf = (LIBREOFFICE_PDF.name, LIBREOFFICE_PDF.read_bytes())

    r = server.upload("locked", [pdf])
    assert r.status_code == 422, r.text
    assert r.json()["results"][0]["error"]["code"] == "encrypted"
    assert "form field 'password'" in r.json()["results"][0]["error"]["message"]

    r = server.post("/v1/collections/locked/documents", files=[("file", pdf)], data={"password": "wrong-one"})
    assert r.status_code == 422, r.text
    assert "does not open this PDF" in r.json()["results"][0]["error"]["message"]

    r = server.post("/v1/collections/locked/documents", files=[("file", pdf)], data={"password": "openpassword"})
    assert r.status_code == 200, r.text
    res = r.json()["results"][0]
    assert res["status"] == "added" and res["chunks"] > 0, res

    server.stop()
    assert "openpassword" not in server.log()
    for path in data_dir.rglob("*"):
        if path.is_file():
            assert b"openpassword" not in path.read_bytes(), path
    check_store(data_dir)


def test_table_rows_and_new_formats_are_searchable(make_server):
    server = make_server()
    server.create_collection("formats")
    files = [FIXTURES / n for n in ("tables.docx", "sample.rtf", "sample.eml", "sample.odt", "sample.xml",
                                    "sample.json")]
    body = server.upload_ok("formats", files)
    results = by_name(body["results"])
    for name in results:
        assert results[name]["status"] == "added", results[name]
    assert {results[n]["format"] for n in results} == {"docx", "rtf", "eml", "odt", "xml", "json"}
    hit = server.search("formats", "Heparin route", top_k=1)["results"][0]
    assert "\nDrug: Heparin (weight-based); Route: IV\n" in hit["text"], hit  # the whole row, with its headers
    hit = server.search("formats", "Midnight Rain", top_k=1)["results"][0]
    assert "catalog > book > title: Midnight Rain" in hit["text"], hit


def test_password_protected_office_file_opens_with_password_and_it_is_not_kept(make_server, tmp_path):
    # Agile (AES-256/SHA-512) encryption written by msoffcrypto-tool: scripts/make_encrypted_fixtures.py.
    password = "Kaito-Pa55 \u00fc\U0001F511"
    data_dir = tmp_path / "data"
    server = make_server(data_dir=data_dir)
    server.create_collection("locked")
    docx = ("report.docx", (FIXTURES / "encrypted_agile.docx").read_bytes())

    r = server.upload("locked", [docx])
    assert r.status_code == 422, r.text
    err = r.json()["results"][0]["error"]
    assert err["code"] == "encrypted" and "form field 'password'" in err["message"], err

    r = server.post("/v1/collections/locked/documents", files=[("file", docx)], data={"password": "Kaito-Pa55"})
    assert r.status_code == 422, r.text
    assert "does not open this Office document" in r.json()["results"][0]["error"]["message"]

    r = server.post("/v1/collections/locked/documents", files=[("file", docx)],
                    data={"password": password.encode("utf-8")})
    assert r.status_code == 200, r.text
    res = r.json()["results"][0]
    assert res["status"] == "added" and res["format"] == "docx" and res["chunks"] > 0, res

    server.stop()
    needle = password.encode("utf-8")
    assert password not in server.log()
    for path in data_dir.rglob("*"):
        if path.is_file():
            assert needle not in path.read_bytes(), path
    check_store(data_dir)


def test_binary_workbook_rows_are_searchable_with_their_headers(make_server):
    server = make_server()
    server.create_collection("books")
    body = server.upload_ok("books", [FIXTURES / "sample.xlsb"])
    res = body["results"][0]
    assert res["status"] == "added" and res["format"] == "xlsb", res
    hit = server.search("books", "Süd Q2 revenue", top_k=1)["results"][0]
    assert "Region: Süd; Quarter: Q2; Revenue: 98765.4321; Share: 0.125; Audited: FALSE" in hit["text"], hit


def test_outlook_message_is_searchable_with_its_attachments(make_server):
    server = make_server()
    server.create_collection("mail")
    body = server.upload_ok("mail", [FIXTURES / "sample.msg"])
    res = body["results"][0]
    assert res["status"] == "added" and res["format"] == "msg", res
    assert any("blob.bin" in w for w in res.get("warnings", [])), res
    hit = server.search("mail", "supplier spare parts Friday", top_k=1)["results"][0]
    assert "The supplier ships the spare parts on Friday." in hit["text"], hit
    hit = server.search("mail", "Ada Lovelace quarterly", top_k=1)["results"][0]
    assert "From: Ada Lovelace <ada@example.com>" in hit["text"], hit
