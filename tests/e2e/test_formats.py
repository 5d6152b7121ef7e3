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


def char_accuracy(text, expected):
    """1 - (character edit distance / expected length), whitespace runs folded: OCR character accuracy."""
    a, b = " ".join(text.split()), " ".join(expected.split())
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return 1 - previous[-1] / len(b)


def test_ocr_languages_per_collection(make_server):
    """A collection's ocr_languages reaches the parse worker: German scans read with "deu" keep their umlauts."""
    server = make_server()  # the server's default stays eng
    expected = (FIXTURES / "ocr_deu_expected.txt").read_text(encoding="utf-8")
    accuracy = {}
    for languages in ("deu", "eng", None):
        name = f"scans-{languages or 'default'}"
        body = {"name": name} if languages is None else {"name": name, "ocr_languages": languages}
        r = server.post("/v1/collections", json=body)
        assert r.status_code == 201, r.text
        assert r.json()["settings"]["ocr_languages"] == languages
        res = server.upload_ok(name, [FIXTURES / "ocr_deu.png"])["results"][0]
        assert any(f"text from OCR ({languages or 'eng'})" in w for w in res.get("warnings", [])), res
        hits = server.search(name, "schriftlich beantragt Werktage", top_k=1)["results"]
        accuracy[languages] = char_accuracy(hits[0]["text"], expected)
    print(f"OCR character accuracy on ocr_deu.png: deu {accuracy['deu']:.3f}, eng {accuracy['eng']:.3f}")
    assert accuracy["deu"] >= 0.98, accuracy
    assert accuracy["eng"] <= accuracy["deu"] - 0.05, accuracy  # eng loses the umlauts and sharp s
    assert accuracy[None] == accuracy["eng"]

    r = server.post("/v1/collections", json={"name": "klingon", "ocr_languages": "eng+tlh"})
    assert r.status_code == 400, r.text
    message = r.json()["error"]["message"]
    assert "tlh is not installed" in message and "tesseract-ocr-tlh" in message and "deu" in message, message
    r = server.post("/v1/collections", json={"name": "bad", "ocr_languages": "../eng"})
    assert r.status_code == 400 and "Tesseract language list" in r.json()["error"]["message"]
    r = server.post("/v1/collections", json={"name": "no-ocr", "ocr_languages": "off"})
    assert r.status_code == 201, r.text
    r = server.upload("no-ocr", [FIXTURES / "ocr_deu.png"])
    assert r.status_code == 415 and "OCR is turned off" in r.json()["results"][0]["error"]["message"]
