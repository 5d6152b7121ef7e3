#!/usr/bin/env python3
"""Writes the parse-module test fixtures into tests/fixtures/parse/.

Standard library only (the OCR images also need Pillow, Debian python3-pil), deterministic output (fixed zip timestamps), so the
committed fixtures can be regenerated and diffed:  python3 scripts/make_parse_fixtures.py
"""
import os
import zipfile

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "parse")
STAMP = (2024, 1, 1, 0, 0, 0)

W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
R = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
A = 'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"'
P = 'xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"'
S = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = 'xmlns="http://schemas.openxmlformats.org/package/2006/relationships"'


def write(name, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def make_zip(name, members, compress=zipfile.ZIP_DEFLATED):
    path = os.path.join(OUT, name)
    with zipfile.ZipFile(path, "w", compress) as z:
        for member, data in members:
            info = zipfile.ZipInfo(member, STAMP)
            info.compress_type = compress
            z.writestr(info, data.encode("utf-8") if isinstance(data, str) else data)
    with open(path, "rb") as f:
        return f.read()


def rels(*items):
    body = "".join(f'<Relationship Id="{i}" Type="{REL}/{t}" Target="{target}"/>' for i, t, target in items)
    return f'<?xml version="1.0" encoding="UTF-8"?><Relationships {PKG_REL}>{body}</Relationships>'


def content_types():
    return ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
            'package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/>'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/></Types>')


# ---------------------------------------------------------------- DOCX
def w_p(text, style=None, num=False):
    ppr = ""
    if style or num:
        ppr = "<w:pPr>"
        if style:
            ppr += f'<w:pStyle w:val="{style}"/>'
        if num:
            ppr += '<w:numPr><w:ilvl w:val="0"/><w:numId w:val="1"/></w:numPr>'
        ppr += "</w:pPr>"
    return f'<w:p>{ppr}<w:r><w:t xml:space="preserve">{text}</w:t></w:r></w:p>'


def docx_members(body):
    document = f'<?xml version="1.0" encoding="UTF-8"?><w:document {W} {R}><w:body>{body}</w:body></w:document>'
    styles = (f'<?xml version="1.0" encoding="UTF-8"?><w:styles {W}>'
              '<w:style w:type="paragraph" w:styleId="Title"><w:name w:val="Title"/></w:style>'
              '<w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="heading 1"/></w:style>'
              # A localized id, recognised by its name.
              '<w:style w:type="paragraph" w:styleId="berschrift2"><w:name w:val="heading 2"/></w:style>'
              '<w:style w:type="paragraph" w:styleId="ListParagraph"><w:name w:val="List Paragraph"/></w:style>'
              '</w:styles>')
    footnotes = (f'<?xml version="1.0" encoding="UTF-8"?><w:footnotes {W}>'
                 '<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:footnote>'
                 '<w:footnote w:id="1"><w:p><w:r><w:t>Source: the 2023 field survey.</w:t></w:r></w:p></w:footnote>'
                 '</w:footnotes>')
    return [
        ("[Content_Types].xml", content_types()),
        ("_rels/.rels", rels(("rId1", "officeDocument", "word/document.xml"))),
        ("word/_rels/document.xml.rels", rels(("rId1", "styles", "styles.xml"), ("rId2", "footnotes", "footnotes.xml"))),
        ("word/document.xml", document),
        ("word/styles.xml", styles),
        ("word/footnotes.xml", footnotes),
    ]


DOCX_BODY = "".join([
    w_p("Quarterly Report", "Title"),
    w_p("Overview", "Heading1"),
    '<w:p><w:r><w:t xml:space="preserve">Revenue grew </w:t></w:r><w:r><w:rPr><w:b/></w:rPr>'
    '<w:t>12%</w:t></w:r><w:r><w:t xml:space="preserve"> in Q3</w:t></w:r>'
    '<w:r><w:footnoteReference w:id="1"/></w:r><w:r><w:t>.</w:t></w:r></w:p>',
    w_p("Details", "berschrift2"),
    w_p("First point &amp; more", "ListParagraph", num=True),
    w_p("Second point", num=True),
    '<w:tbl><w:tr><w:tc><w:p><w:r><w:t>Region</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>Sales</w:t></w:r></w:p></w:tc></w:tr>'
    '<w:tr><w:tc><w:p><w:r><w:t>North</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>1,200</w:t></w:r></w:p></w:tc></w:tr></w:tbl>',
    '<w:p><w:r><w:t>See box.</w:t></w:r><w:r><w:pict><v:shape xmlns:v="urn:schemas-microsoft-com:vml"><v:textbox>'
    '<w:txbxContent><w:p><w:r><w:t>Text box note</w:t></w:r></w:p></w:txbxContent></v:textbox></v:shape></w:pict></w:r></w:p>',
    '<w:p><w:pPr><w:outlineLvl w:val="0"/></w:pPr><w:r><w:t>Appendix</w:t></w:r></w:p>',
    '<w:p><w:r><w:t>Deleted text is </w:t></w:r><w:del><w:r><w:delText>not </w:delText></w:r></w:del><w:r><w:t>hidden.</w:t></w:r></w:p>',
])


# ---------------------------------------------------------------- PPTX
def sp(text_paras, ph=None):
    nvpr = f'<p:nvPr><p:ph type="{ph}"/></p:nvPr>' if ph else "<p:nvPr/>"
    paras = "".join(f"<a:p>{ppr}<a:r><a:t>{t}</a:t></a:r></a:p>" for ppr, t in text_paras)
    return (f'<p:sp><p:nvSpPr><p:cNvPr id="2" name="s"/><p:cNvSpPr/>{nvpr}</p:nvSpPr><p:spPr/>'
            f"<p:txBody><a:bodyPr/>{paras}</p:txBody></p:sp>")


def slide(shapes):
    return (f'<?xml version="1.0" encoding="UTF-8"?><p:sld {A} {P} {R}><p:cSld><p:spTree>'
            f'<p:nvGrpSpPr><p:cNvPr id="1" name=""/><p:cNvGrpSpPr/><p:nvPr/></p:nvGrpSpPr><p:grpSpPr/>'
            f"{shapes}</p:spTree></p:cSld></p:sld>")


def pptx_members():
    bullet = '<a:pPr><a:buChar char="•"/></a:pPr>'
    table = ('<p:graphicFrame><p:nvGraphicFramePr><p:cNvPr id="4" name="t"/><p:cNvGraphicFramePr/><p:nvPr/>'
             '</p:nvGraphicFramePr><p:xfrm/><a:graphic><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/table">'
             '<a:tbl><a:tr h="1"><a:tc><a:txBody><a:bodyPr/><a:p><a:r><a:t>Plan</a:t></a:r></a:p></a:txBody></a:tc>'
             '<a:tc><a:txBody><a:bodyPr/><a:p><a:r><a:t>Price</a:t></a:r></a:p></a:txBody></a:tc></a:tr>'
             '<a:tr h="1"><a:tc><a:txBody><a:bodyPr/><a:p><a:r><a:t>Pro</a:t></a:r></a:p></a:txBody></a:tc>'
             '<a:tc><a:txBody><a:bodyPr/><a:p><a:r><a:t>$20</a:t></a:r></a:p></a:txBody></a:tc></a:tr></a:tbl>'
             "</a:graphicData></a:graphic></p:graphicFrame>")
    # The body shape comes before the title in the tree; the title still leads.
    slide_a = slide(sp([("", "Body before title in tree order")]) + sp([("", "Welcome")], "title"))
    slide_b = slide(sp([("", "Pricing")], "title") + sp([(bullet, "Cheap"), (bullet, "Fast")], "body") + table)
    notes = (f'<?xml version="1.0" encoding="UTF-8"?><p:notes {A} {P}><p:cSld><p:spTree>'
             + sp([("", "Slide image")], "sldImg") + sp([("", "Mention the discount."), ("", "Ask for questions.")], "body")
             + "</p:spTree></p:cSld></p:notes>")
    presentation = (f'<?xml version="1.0" encoding="UTF-8"?><p:presentation {A} {P} {R}><p:sldIdLst>'
                    '<p:sldId id="256" r:id="rId3"/><p:sldId id="257" r:id="rId2"/></p:sldIdLst></p:presentation>')
    # slide2.xml is shown first: order comes from sldIdLst, not file names.
    return [
        ("[Content_Types].xml", content_types()),
        ("_rels/.rels", rels(("rId1", "officeDocument", "ppt/presentation.xml"))),
        ("ppt/presentation.xml", presentation),
        ("ppt/_rels/presentation.xml.rels", rels(("rId2", "slide", "slides/slide1.xml"), ("rId3", "slide", "slides/slide2.xml"))),
        ("ppt/slides/slide1.xml", slide_b),
        ("ppt/slides/slide2.xml", slide_a),
        ("ppt/slides/_rels/slide1.xml.rels", rels(("rId1", "notesSlide", "../notesSlides/notesSlide1.xml"))),
        ("ppt/notesSlides/notesSlide1.xml", notes),
    ]


# ---------------------------------------------------------------- XLSX
def xlsx_members():
    workbook = (f'<?xml version="1.0" encoding="UTF-8"?><workbook {S} {R}><sheets>'
                '<sheet name="Sales" sheetId="1" r:id="rId1"/><sheet name="Notes &amp; Misc" sheetId="2" r:id="rId2"/>'
                "</sheets></workbook>")
    strings = (f'<?xml version="1.0" encoding="UTF-8"?><sst {S} count="4" uniqueCount="4">'
               "<si><t>Product</t></si><si><t>Units</t></si><si><r><t>Wid</t></r><r><t>get</t></r></si>"
               "<si><t>Gadget</t></si></sst>")
    sheet1 = (f'<?xml version="1.0" encoding="UTF-8"?><worksheet {S}><sheetData>'
              '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="inlineStr"><is><t>In stock</t></is></c></row>'
              '<row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2"><v>1.50</v></c><c r="C2" t="b"><v>1</v></c></row>'
              '<row r="3"><c r="A3" t="s"><v>3</v></c><c r="C3" t="b"><v>0</v></c></row>'
              '<row r="4"></row>'
              "</sheetData></worksheet>")
    sheet2 = (f'<?xml version="1.0" encoding="UTF-8"?><worksheet {S}><sheetData>'
              '<row r="2"><c r="B2" t="str"><f>CONCAT("a","b")</f><v>ab</v></c></row></sheetData></worksheet>')
    return [
        ("[Content_Types].xml", content_types()),
        ("_rels/.rels", rels(("rId1", "officeDocument", "xl/workbook.xml"))),
        ("xl/workbook.xml", workbook),
        ("xl/_rels/workbook.xml.rels", rels(("rId1", "worksheet", "worksheets/sheet1.xml"),
                                            ("rId2", "worksheet", "worksheets/sheet2.xml"),
                                            ("rId3", "sharedStrings", "sharedStrings.xml"))),
        ("xl/sharedStrings.xml", strings),
        ("xl/worksheets/sheet1.xml", sheet1),
        ("xl/worksheets/sheet2.xml", sheet2),
    ]


# ---------------------------------------------------------------- PDF
def pdf_bytes(pages):
    """A minimal PDF: one Helvetica font, one content stream per page (None = blank page)."""
    n_pages = len(pages)
    objects = {1: b"<< /Type /Catalog /Pages 2 0 R >>", 3: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
               4: b"<< /Title (Sample PDF) /Producer (make_parse_fixtures.py) >>"}
    kids = []
    next_id = 5
    for lines in pages:
        page_id, content_id = next_id, next_id + 1
        next_id += 2
        kids.append(f"{page_id} 0 R")
        ops = ["BT /F1 12 Tf 72 720 Td 14 TL"]
        for line in lines or []:
            escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            ops.append(f"({escaped}) Tj T*")
        ops.append("ET")
        stream = "\n".join(ops).encode("latin-1") if lines else b""
        objects[content_id] = b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream"
        objects[page_id] = (f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
                            f"/Contents {content_id} 0 R >>").encode()
    objects[2] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {n_pages} >>".encode()
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for oid in sorted(objects):
        offsets[oid] = len(out)
        out += f"{oid} 0 obj\n".encode() + objects[oid] + b"\nendobj\n"
    xref = len(out)
    size = max(objects) + 1
    out += f"xref\n0 {size}\n".encode() + b"0000000000 65535 f \n"
    for oid in range(1, size):
        out += f"{offsets[oid]:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {size} /Root 1 0 R /Info 4 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def main():
    os.makedirs(OUT, exist_ok=True)
    write("sample.txt", "Plain text title\n\nFirst paragraph line one\nline two.\n\n\n  Second paragraph, caf\u00e9.  \n")
    write("utf16_bom.txt", "\ufeffUTF-16 text \u00fcber alles\r\n\r\nsecond \u20ac para".encode("utf-16-le"))
    write("utf16be_nobom.txt", "BOM-less big endian UTF-16\n\nsecond paragraph".encode("utf-16-be"))
    write("latin1.txt", "Caf\u00e9 cr\u00e8me br\u00fbl\u00e9e \u2013 \u20ac5".encode("cp1252"))
    write("sample.md", "# Guide\n\nIntro paragraph\nwith two lines.\n\n## Install\n\n- step one\n- step two\n  continued\n"
                       "1. numbered\n\n```sh\nmake install\n```\n\n| Name | Value |\n|------|-------|\n| a | 1 |\n\n"
                       "Setext Heading\n==============\n\nUnder setext.\n\n### Deep ###\n\n> quoted text\n")
    write("sample.csv", 'name,city,note\nAda,London,"likes ""quotes"", commas"\nLin,,"multi\nline"\n\n')
    write("semicolon.csv", "a;b;c\n1;2;3\n4;5;6\n")
    write("sample.html", "<!DOCTYPE html><html><head><title>Test &amp; Page</title><style>p{color:red}</style>"
                         "<script>var x = 1;</script></head><body><nav>Home | About</nav>"
                         "<h1>Main Title</h1><p>First para with <b>bold</b> &amp; entity &eacute;.</p>"
                         "<h2>Section</h2><div>Div text<br>after break</div><ul><li>Item one</li><li>Item two</li></ul>"
                         "<table><tr><th>Col A</th><th>Col B</th></tr><tr><td>1</td><td>2</td></tr></table>"
                         "<pre>code  block\n  indented</pre><noscript>enable js</noscript></body></html>")
    write("cp1252.html", "<html><body><p>Na\u00efve caf\u00e9 \u2013 ok</p></body></html>".encode("cp1252"))
    write("sample.pdf", pdf_bytes([
        ["Annual Summary", "This is the first paragraph of the", "summary page."],
        None,
        ["Page three text.", "Closing remark here."],
    ]))
    write("blank.pdf", pdf_bytes([None, None]))
    full = pdf_bytes([["Hello"]])
    write("truncated.pdf", full[: len(full) // 3])
    docx = make_zip("sample.docx", docx_members(DOCX_BODY))
    make_zip("sample.pptx", pptx_members())
    make_zip("sample.xlsx", xlsx_members())
    write("docx_named.pdf", docx)  # misnamed: content wins
    write("truncated.docx", docx[: len(docx) // 2])
    bomb = docx_members("")
    bomb[3] = ("word/document.xml", b"\0" * (50 << 20))
    make_zip("zip_bomb.docx", bomb)
    deep = f'<w:document {W}><w:body>' + "<w:sdt><w:sdtContent>" * 600 + "</w:sdtContent></w:sdt>" * 600 + "</w:body></w:document>"
    members = docx_members("")
    members[3] = ("word/document.xml", deep)
    make_zip("deep_xml.docx", members)
    members = docx_members("")
    members[3] = ("word/document.xml", "<w:document><w:body><w:p>unclosed")
    make_zip("malformed_xml.docx", members)
    make_zip("plain.zip", [("readme.txt", "just a zip")])
    ole_header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504
    write("encrypted_ole2.docx", ole_header + "EncryptionInfo".encode("utf-16-le") + b"\0" * 400)
    write("legacy.doc", ole_header + "WordDocument".encode("utf-16-le") + b"\0" * 400)
    write("garbage.bin", bytes((i * 97 + 13) % 256 for i in range(4096)))
    write("image.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    write("doc.rtf", "{\\rtf1\\ansi Hello}")
    write("empty.txt", b"")
    make_structured()
    make_tables()
    make_ocr()
    make_rtf()
    make_packages()
    make_eml()
    make_damaged_xlsb()


# ---------------------------------------------------------------- XML / JSON
def make_structured():
    write("sample.xml", '<?xml version="1.0" encoding="UTF-8"?>\n<!-- a catalog -->\n'
                        '<catalog xmlns:x="urn:example">\n  <book id="bk101" x:lang="en">\n'
                        "    <title>XML Developer&apos;s Guide</title>\n    <price>44.95</price>\n"
                        "    <note><![CDATA[Uses <tags> & entities]]></note>\n  </book>\n"
                        '  <book id="bk102">\n    <title>Midnight Rain</title>\n'
                        "    <authors><author>Ralls, Kim</author><author>Corets, Eva</author></authors>\n"
                        "  </book>\n  mixed text\n</catalog>\n")
    write("utf16.xml", '<?xml version="1.0" encoding="UTF-16"?><root><name>M\u00fcnchen</name></root>'.encode("utf-16"))
    write("sample.json", '{"title": "Inventory", "tags": ["a", "b", 3], "owner": {"name": "Ada", "active": true},\n'
                         ' "items": [{"sku": "X1", "qty": 2, "price": null}, {"sku": "Y2", "qty": 0,\n'
                         ' "dims": {"w": 1.5, "h": 2}}], "zeta": "last key stays last"}\n')
    write("sample.ndjson", '{"id": 1, "text": "first line"}\n{"id": 2, "text": "second line", "tags": []}\n')
    write("not_json.json", "{this is not json, just text in braces}\n")
    lol = "".join(f'<!ENTITY lol{i} "{"&lol%d;" % (i - 1) * 10}">' for i in range(1, 10))
    write("billion_laughs.xml", f'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol0 "lol">{lol}]>'
                                "<lolz><a>&lol9;</a><b>kept</b></lolz>")



# ---------------------------------------------------------------- tables
def make_tables():
    write("tables.html", "<html><body><table><caption>Prices</caption>"
                         "<thead><tr><th>Plan</th><th>Seats</th><th>Price</th></tr></thead>"
                         "<tbody><tr><td>Basic</td><td>5</td><td>$10</td></tr>"
                         "<tr><td colspan=2>Enterprise (any size)</td><td>call us</td></tr></tbody></table>"
                         "<table><tr><td>Name</td><td>Role</td></tr><tr><td>Ada</td><td>Engineer</td></tr></table>"
                         "<table><tr><td>1</td><td>2</td></tr><tr><td>3</td><td>4</td></tr></table></body></html>")
    tc = lambda t, span=1: ("<w:tc>" + (f'<w:tcPr><w:gridSpan w:val="{span}"/></w:tcPr>' if span > 1 else "")
                            + f"<w:p><w:r><w:t>{t}</w:t></w:r></w:p></w:tc>")
    body = ("<w:tbl><w:tr><w:trPr><w:tblHeader/></w:trPr>" + tc("Drug") + tc("Dose") + tc("Route") + "</w:tr>"
            "<w:tr>" + tc("Aspirin") + tc("100 mg") + tc("oral") + "</w:tr>"
            "<w:tr>" + tc("Heparin (weight-based)", 2) + tc("IV") + "</w:tr></w:tbl>")
    make_zip("tables.docx", docx_members(body))


# ---------------------------------------------------------------- OCR
OCR_LINES = [
    "Scanned pages have no text layer.",
    "The quick brown fox jumps over the lazy dog.",
    "Invoice 2024-117: total due 1,250.40 EUR by March 3.",
    "Kaito reads images with Tesseract.",
]


def render_text(lines, width=1400, size=40):
    from PIL import Image, ImageDraw, ImageFont
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", size)
    line_height = int(size * 1.6)
    image = Image.new("L", (width, line_height * len(lines) + 2 * size), 255)
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((size, size + i * line_height), line, fill=0, font=font)
    return image


def image_pdf(image, dpi=200):
    """A PDF whose only page is `image` (8-bit gray, Flate): a scan without a text layer."""
    import zlib
    w, h = image.size
    data = zlib.compress(image.tobytes(), 9)
    pw, ph = w * 72 / dpi, h * 72 / dpi
    content = f"q {pw:.2f} 0 0 {ph:.2f} 0 0 cm /Im1 Do Q".encode()
    objects = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        3: (f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {pw:.2f} {ph:.2f}] /Resources << /XObject << /Im1 5 0 R >> >> "
            "/Contents 4 0 R >>").encode(),
        4: b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        5: (f"<< /Type /XObject /Subtype /Image /Width {w} /Height {h} /ColorSpace /DeviceGray /BitsPerComponent 8 "
            f"/Filter /FlateDecode /Length {len(data)} >>\nstream\n").encode() + data + b"\nendstream",
    }
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for oid in sorted(objects):
        offsets[oid] = len(out)
        out += f"{oid} 0 obj\n".encode() + objects[oid] + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n".encode() + b"0000000000 65535 f \n"
    for oid in sorted(objects):
        out += f"{offsets[oid]:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def make_ocr():
    try:
        import PIL  # noqa: F401
    except ImportError:
        print("Pillow (python3-pil) missing: OCR fixtures not regenerated")
        return
    import io
    write("ocr_expected.txt", "\n".join(OCR_LINES) + "\n")
    image = render_text(OCR_LINES)
    buf = io.BytesIO()
    image.save(buf, "PNG", optimize=True, dpi=(200, 200))
    write("ocr.png", buf.getvalue())
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=70, dpi=(200, 200))
    write("ocr.jpg", buf.getvalue())
    second = render_text(["Second TIFF page: 42 apples."])
    buf = io.BytesIO()
    image.convert("1").save(buf, "TIFF", compression="group4", dpi=(200, 200), save_all=True,
                            append_images=[second.convert("1")])
    write("ocr.tiff", buf.getvalue())
    write("scanned.pdf", image_pdf(image))
    make_ocr_german()


# German with umlauts and sharp s: read well only with Tesseract's "deu" data (collection
# setting ocr_languages, tests/e2e/test_formats.py compares it with "eng").
OCR_DEU_LINES = [
    "Größere Änderungen müssen schriftlich beantragt werden.",
    "Die Prüfung dauert höchstens fünf Werktage.",
    "Übermäßige Überstunden sind unzulässig.",
    "Grüße aus der Fußgängerzone in Köln.",
]


def make_ocr_german():
    import io
    write("ocr_deu_expected.txt", "\n".join(OCR_DEU_LINES) + "\n")
    buf = io.BytesIO()
    render_text(OCR_DEU_LINES).save(buf, "PNG", optimize=True, dpi=(200, 200))
    write("ocr_deu.png", buf.getvalue())



# ---------------------------------------------------------------- RTF
def make_rtf():
    write("sample.rtf", r"""{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0\froman Times New Roman;}}"""
                        r"""{\colortbl;\red0\green0\blue0;}{\*\generator Writer;}{\info{\title Hidden meta}}"""
                        "\n{\\pard\\b Caf\\'e9 heading\\par}\n"
                        r"""{\pard Plain \{braces\} and \\backslash, unicode \u8364? euro, \uc2\u915 XX gamma.\par}"""
                        r"""{\field{\*\fldinst HYPERLINK "http://x"}{\fldrslt link text}}\par"""
                        r"""{\pict\pngblip 89504e470d0a}"""
                        "\n\\trowd\\cellx1000\\cellx2000\n"
                        r"""\pard\intbl Name\cell Score\cell\row"""
                        r"""\pard\intbl Ada\cell 97\cell\row"""
                        r"""\pard After table\par}""")



# ---------------------------------------------------------------- OpenDocument, EPUB
ODF_NS = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
          'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
          'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
          'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"')


def odf(name, mime, body):
    content = f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ODF_NS}><office:body>{body}</office:body></office:document-content>'
    meta = ('<?xml version="1.0" encoding="UTF-8"?><office:document-meta xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/"><office:meta><dc:title>ODF sample</dc:title></office:meta></office:document-meta>')
    path = os.path.join(OUT, name)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype", STAMP), mime, compress_type=zipfile.ZIP_STORED)
        for member, data in [("content.xml", content), ("meta.xml", meta)]:
            z.writestr(zipfile.ZipInfo(member, STAMP), data, compress_type=zipfile.ZIP_DEFLATED)


def make_packages():
    odf("sample.odt", "application/vnd.oasis.opendocument.text",
        '<office:text><text:h text:outline-level="1">Field notes</text:h><text:p>First <text:span>spanned</text:span>'
        '<text:s/>text<office:annotation><text:p>hidden comment</text:p></office:annotation>.</text:p>'
        '<text:list><text:list-item><text:p>item one</text:p></text:list-item></text:list>'
        '<text:h text:outline-level="2">Counts</text:h><table:table table:name="T1"><table:table-header-rows><table:table-row>'
        '<table:table-cell><text:p>Bird</text:p></table:table-cell><table:table-cell><text:p>Seen</text:p></table:table-cell>'
        '</table:table-row></table:table-header-rows><table:table-row><table:table-cell><text:p>Heron</text:p></table:table-cell>'
        '<table:table-cell><text:p>3</text:p></table:table-cell></table:table-row></table:table></office:text>')
    odf("sample.ods", "application/vnd.oasis.opendocument.spreadsheet",
        '<office:spreadsheet><table:table table:name="Budget"><table:table-row><table:table-cell><text:p>Item</text:p></table:table-cell>'
        '<table:table-cell><text:p>Cost</text:p></table:table-cell></table:table-row><table:table-row>'
        '<table:table-cell><text:p>Paint</text:p></table:table-cell><table:table-cell><text:p>40</text:p></table:table-cell>'
        '</table:table-row><table:table-row table:number-rows-repeated="1048570"><table:table-cell table:number-columns-repeated="16384"/>'
        '</table:table-row></table:table></office:spreadsheet>')
    odf("sample.odp", "application/vnd.oasis.opendocument.presentation",
        '<office:presentation><draw:page draw:name="Intro"><draw:frame><draw:text-box><text:p>Welcome slide</text:p>'
        '</draw:text-box></draw:frame></draw:page><draw:page draw:name="Plan"><draw:frame><draw:text-box>'
        '<text:p>Second slide</text:p></draw:text-box></draw:frame></draw:page></office:presentation>')
    opf = ('<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0"><metadata '
           'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Tiny Book</dc:title></metadata><manifest>'
           '<item id="c2" href="text/ch%202.xhtml" media-type="application/xhtml+xml"/>'
           '<item id="c1" href="text/ch1.xhtml" media-type="application/xhtml+xml"/></manifest>'
           '<spine><itemref idref="c1"/><itemref idref="c2"/><itemref idref="gone"/></spine></package>')
    chapter = lambda title, text: (f'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><head><title>{title}</title>'
                                   f'</head><body><h1>{title}</h1><p>{text}</p></body></html>')
    path = os.path.join(OUT, "sample.epub")
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype", STAMP), "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        for member, data in [("META-INF/container.xml", '<?xml version="1.0"?><container version="1.0" '
                              'xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles><rootfile '
                              'full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>'),
                             ("OEBPS/content.opf", opf), ("OEBPS/text/ch1.xhtml", chapter("One", "It begins.")),
                             ("OEBPS/text/ch 2.xhtml", chapter("Two", "It ends."))]:
            z.writestr(zipfile.ZipInfo(member, STAMP), data, compress_type=zipfile.ZIP_DEFLATED)



# ---------------------------------------------------------------- EML
def make_eml():
    import base64
    csv = base64.b64encode(b"sku,qty\nA1,4\n").decode()
    write("sample.eml", "From: Ada <ada@example.com>\r\nTo: team@example.com\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
                        "Subject: =?UTF-8?B?UXVhcnRlcmx5IHLDqXN1bcOp?=\r\nMIME-Version: 1.0\r\n"
                        'Content-Type: multipart/mixed; boundary="outer"\r\n\r\npreamble\r\n--outer\r\n'
                        'Content-Type: multipart/alternative; boundary="alt"\r\n\r\n--alt\r\n'
                        "Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
                        "Caf=E9 numbers are up.=\r\n Details attached.\r\n--alt\r\nContent-Type: text/html\r\n\r\n"
                        "<p>HTML twin that is not indexed</p>\r\n--alt--\r\n--outer\r\n"
                        'Content-Type: text/csv; name="stock.csv"\r\nContent-Disposition: attachment; filename="stock.csv"\r\n'
                        f"Content-Transfer-Encoding: base64\r\n\r\n{csv}\r\n--outer\r\n"
                        'Content-Type: application/octet-stream; name="blob.bin"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
                        "AAECAwQFBgcICQoLDA0ODw==\r\n--outer--\r\n")


# ---------------------------------------------------------------- XLSB
def make_damaged_xlsb():
    """sample.xlsb (written by SheetJS, scripts/make_xlsb_fixture.mjs) with its first sheet's record
    stream cut inside a record: an intact zip whose BIFF12 data runs past the end of the part."""
    with zipfile.ZipFile(os.path.join(OUT, "sample.xlsb")) as src:
        members = [(i.filename, src.read(i.filename)) for i in src.infolist()]
    members = [(n, d[: len(d) // 2] if n == "xl/worksheets/sheet1.bin" else d) for n, d in members]
    make_zip("damaged.xlsb", members)


if __name__ == "__main__":
    main()
