#!/usr/bin/env python3
"""Writes the password-protected OOXML fixtures into tests/fixtures/parse/ with msoffcrypto-tool
(an independent implementation of ECMA-376 Agile encryption, so the decryptor is not tested against
our own reading of the spec). Dev-only; the outputs are committed:

    python3 -m venv /tmp/mscvenv && /tmp/mscvenv/bin/pip install msoffcrypto-tool
    /tmp/mscvenv/bin/python scripts/make_encrypted_fixtures.py

The plaintexts are the committed sample.docx / sample.xlsx (scripts/make_parse_fixtures.py) plus a
stored 9 KB thumbnail no parser reads: the package then spans three 4 KiB encryption segments (each
with its own IV), and msoffcrypto-tool writes a broken container for packages under 4 KiB.
"""
import io
import os
import random
import zipfile

import msoffcrypto
from msoffcrypto.format.ooxml import OOXMLFile

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "parse")
PASSWORD = "Kaito-Pa55 \u00fc\U0001F511"  # non-ASCII and outside the BMP: exercises the UTF-16 encoding


def padded(source):
    buf = io.BytesIO()
    with zipfile.ZipFile(os.path.join(OUT, source)) as src, zipfile.ZipFile(buf, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info.filename))
        noise = random.Random(13).randbytes(9000)
        dst.writestr(zipfile.ZipInfo("docProps/thumbnail.jpeg", (2024, 1, 1, 0, 0, 0)), noise, zipfile.ZIP_STORED)
    buf.seek(0)
    return buf


def encrypt(source, target):
    out = io.BytesIO()
    OOXMLFile(padded(source)).encrypt(PASSWORD, out)
    with open(os.path.join(OUT, target), "wb") as f:
        f.write(out.getvalue())
    # Round trip through msoffcrypto-tool's own decryptor: the fixture is a valid file.
    check = io.BytesIO()
    office = msoffcrypto.OfficeFile(io.BytesIO(out.getvalue()))
    office.load_key(password=PASSWORD)
    office.decrypt(check)
    assert check.getvalue() == padded(source).getvalue(), target


if __name__ == "__main__":
    encrypt("sample.docx", "encrypted_agile.docx")
    encrypt("sample.xlsx", "encrypted_agile.xlsx")
