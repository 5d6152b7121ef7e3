#!/usr/bin/env python3
"""Writes the Contoso Robotics sample handbook in five formats to samples/handbook/.

Python 3.11 standard library only. The output is byte-for-byte deterministic
(fixed zip timestamps, no dates, sorted members) so the files can be committed
and regenerated without noise:

    python3 samples/generate_samples.py            # writes samples/handbook/
    python3 samples/generate_samples.py --out DIR  # writes elsewhere

Every fact lives in exactly one file (and one page of the PDF), so the example
questions in samples/README.md have a single correct source.
"""

from __future__ import annotations

import argparse
import csv
import io
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

# --------------------------------------------------------------------------
# employee-handbook.md
# --------------------------------------------------------------------------

HANDBOOK_MD = """# Contoso Robotics Employee Handbook

This handbook describes how we work at Contoso Robotics, Inc. It applies to every employee in every office, unless a local agreement listed in the Office Directory says otherwise. Benefits such as health insurance and parental leave are described in the separate Benefits Guide, IT rules in the IT Security Policy, and business travel in the Travel Policy.

If anything in this handbook is unclear, ask your manager or write to people-team@contoso-robotics.example. The People Team answers every question within two working days.

## Mission and values

Contoso Robotics designs and builds autonomous mobile robots for warehouses, hospitals and airports. Our mission is to take the heavy, repetitive and dangerous work off people's hands, safely and reliably.

We hold ourselves to four values:

- Safety first: no deadline justifies a shortcut on robot or workplace safety.
- Own the outcome: the person who starts a task sees it through or hands it over explicitly.
- Say it plainly: we write and speak so that a new colleague can follow.
- Learn in public: mistakes are shared in blameless reviews so that everyone learns from them.

## Working hours

The standard working week is 40 hours, Monday to Friday. Core hours are 10:00 to 15:00 local office time; outside core hours you are free to organise your day, as long as your team knows how to reach you.

Overtime must be approved by your manager in advance. Approved overtime is compensated either as time off (one hour off for each hour worked) or, for non-exempt employees, paid at 150% of the hourly rate. Time off in lieu must be taken within three months.

Employees who work on the robot test floors follow shift schedules published by the Test Operations lead two weeks in advance. Shift workers receive a night-shift premium of 25% for hours worked between 22:00 and 06:00.

## Remote work policy

Most roles at Contoso Robotics are hybrid. You may work remotely up to three days per week after agreeing a regular pattern with your manager. Roles that require hands-on work with robots or lab equipment are marked "on-site" in the job description and are not eligible for regular remote work.

When you work remotely, you must be reachable during core hours, use the company VPN for all internal systems, and work from a private space where confidential information cannot be overheard or seen on screen.

Every employee eligible for remote work receives a one-time home-office allowance of USD 600 to buy a desk, chair or monitor. Receipts are submitted through the Expense Portal like any other expense.

Working from another country is allowed for up to 20 working days per calendar year, with your manager's approval and a check by the People Team for tax and visa rules. Longer stays require a written agreement.

## Vacation and leave

New employees receive 25 days of paid vacation per year. The allowance is prorated in the year you join, by the number of full months you are employed. Public holidays are not counted as vacation days; each office publishes its own holiday calendar.

Vacation must be requested in the HR Portal at least two weeks before the first day off for absences longer than three days. Managers approve or decline within three working days.

Up to 5 unused vacation days can be carried over into the next year; carried-over days expire on 31 March. Unused days beyond that expire and are not paid out, except where local law requires it.

Sick leave is separate from vacation. If you are ill, tell your manager before the start of your working day. A doctor's note is required from the fourth consecutive day of illness. Employees receive up to 10 paid sick days per year in offices where local law does not provide more.

Parental leave, caregiver leave and other benefits are described in the Benefits Guide.

## Expenses

Contoso Robotics reimburses reasonable expenses that you incur for work. Submit every expense in the Expense Portal within 30 days of the purchase, with a photo or scan of the receipt for any amount above USD 25.

Expenses above USD 500 need your manager's approval before the purchase. Equipment, software subscriptions and training courses are bought through the Procurement team, not reimbursed, so that licences and warranties are registered to the company.

Approved expenses are reimbursed with the next monthly payroll. Alcohol is only reimbursed at client events approved by a director. Travel costs, per-diem allowances and hotel limits are defined in the Travel Policy.

## Security

Security is everyone's job. Wear your badge visibly at all times in Contoso offices and labs, and never let someone without a badge follow you through a door.

Company laptops are encrypted and managed by IT; do not disable the endpoint protection or install unapproved software. Customer data, robot maps and camera recordings from customer sites are confidential and may only be stored in approved systems.

Report a lost device, a suspicious email or any other security incident to security@contoso-robotics.example or the security hotline within one hour of noticing it. You will never be blamed for reporting in good faith. The full rules, including password requirements, are in the IT Security Policy.
"""

# --------------------------------------------------------------------------
# it-security-policy.html
# --------------------------------------------------------------------------

# The <nav> and <script> carry text a parser must drop; the script even holds a
# wrong password length so a leak shows up as a wrong answer.
SECURITY_HTML = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>IT Security Policy - Contoso Robotics</title>
<style>
  body { font-family: sans-serif; max-width: 48em; margin: 2em auto; }
  table { border-collapse: collapse; }
  td, th { border: 1px solid #999; padding: 0.3em 0.6em; }
</style>
<script>
  // Legacy intranet widget: not part of the policy.
  var legacyMinPasswordLength = 8;
  document.addEventListener("DOMContentLoaded", function () { console.log("intranet ready"); });
</script>
</head>
<body>
<nav>
  <a href="/">Intranet home</a> | <a href="/people">People</a> | <a href="/it">IT Service Desk</a> | <a href="/search">Search</a>
</nav>
<main>
<h1>IT Security Policy</h1>
<p>This policy protects Contoso Robotics, our customers and the robots we ship. It applies to every employee,
contractor and intern who uses a Contoso account, device or network. The Chief Information Security Officer
(CISO) owns this policy; questions go to the IT Service Desk.</p>

<h2>Passwords and sign-in</h2>
<p>Every Contoso account is protected by a password and multi-factor authentication (MFA). The rules below
apply to all accounts, including accounts on robot fleet management consoles.</p>
<table>
  <thead>
    <tr><th>Rule</th><th>Requirement</th></tr>
  </thead>
  <tbody>
    <tr><td>Minimum length</td><td>14 characters</td></tr>
    <tr><td>Complexity</td><td>A passphrase of at least three unrelated words; no character-class rules</td></tr>
    <tr><td>Reuse</td><td>Never reuse a Contoso password on any other service</td></tr>
    <tr><td>Rotation</td><td>Change only when a compromise is suspected, or when IT asks you to</td></tr>
    <tr><td>Storage</td><td>Store passwords only in Contoso Vault, the approved password manager</td></tr>
    <tr><td>Multi-factor authentication</td><td>Required for every account; use the authenticator app or a hardware key</td></tr>
    <tr><td>Failed sign-ins</td><td>The account locks for 15 minutes after 10 failed attempts</td></tr>
  </tbody>
</table>

<h2>Devices</h2>
<p>Only company-managed laptops and phones may access internal systems. IT installs disk encryption,
endpoint protection and automatic updates on every device before it is handed out.</p>
<ul>
  <li>Lock your screen whenever you leave your device; screens lock automatically after 5 minutes of inactivity.</li>
  <li>Install security updates within 7 days of the notification.</li>
  <li>Do not connect USB storage devices that you did not receive from IT.</li>
  <li>Never leave a laptop unattended in a car, even in the trunk.</li>
  <li>Robot controllers and test rigs are connected only to the isolated lab network.</li>
</ul>

<h2>Data classification</h2>
<p>All information is classified into one of four levels. When in doubt, treat information as Confidential.</p>
<ol>
  <li><strong>Public</strong>: approved for publication, such as press releases and product brochures.</li>
  <li><strong>Internal</strong>: everyday business information, such as this policy and team wikis.</li>
  <li><strong>Confidential</strong>: customer data, site maps, camera recordings and source code.</li>
  <li><strong>Restricted</strong>: encryption keys, security findings and personnel records; access is logged and reviewed quarterly.</li>
</ol>

<h2>Reporting security incidents</h2>
<p>Report a lost or stolen device, a phishing email, or any suspected breach within one hour to the Security
Operations Center at security@contoso-robotics.example or by phone on +1 555 0100 extension 911. The Security
Operations Center is staffed 24 hours a day, 7 days a week. Do not try to investigate an incident yourself.</p>
<p>Violations of this policy may lead to loss of access and disciplinary action.</p>
</main>
<footer>
  <p>Questions? Contact the IT Service Desk.</p>
</footer>
</body>
</html>
"""

# --------------------------------------------------------------------------
# benefits-guide.pdf — one list of (kind, text) per page; kind is "h" or "p".
# --------------------------------------------------------------------------

BENEFITS_PAGES = [
    [
        ("h", "Contoso Robotics Benefits Guide"),
        ("p", "This guide explains the benefits Contoso Robotics offers to its employees. It complements the "
              "Employee Handbook, which covers working hours, vacation and expenses. Benefits start on your first "
              "day of employment unless a waiting period is stated below."),
        ("h", "Health insurance"),
        ("p", "All full-time and part-time employees working at least 20 hours per week are covered by the "
              "Contoso Health Plan. Contoso Robotics pays 90% of the monthly premium for employees and 75% of the "
              "premium for spouses, partners and children."),
        ("p", "You can enroll yourself and your dependents within 30 days of your start date, or within 30 days "
              "of a life event such as marriage, birth or adoption. Outside these windows, changes are possible "
              "only during the open enrollment period in November."),
        ("p", "Dental and vision cover are included in the plan at no extra cost \u2013 no separate enrollment "
              "is needed. Employees outside the United States receive an equivalent local plan; the People Team "
              "shares the details with your offer letter."),
        ("h", "Employee assistance program"),
        ("p", "The confidential employee assistance program offers up to 8 free counselling sessions per year "
              "for you and each member of your household, by phone, video or in person."),
    ],
    [
        ("h", "Parental leave"),
        ("p", "Contoso Robotics offers 20 weeks of fully paid parental leave to every employee who becomes a "
              "parent through birth, adoption or foster care, regardless of gender. Employees become eligible "
              "after 3 months of employment."),
        ("p", "Parental leave can be taken at any time during the 12 months after the birth or placement of the "
              "child, either in one block or in up to three blocks of at least two weeks each. Please tell your "
              "manager and the People Team at least 8 weeks before your leave starts."),
        ("p", "During parental leave you keep all benefits, including health insurance and retirement "
              "contributions. After your return, you may work a reduced schedule of 80% of your hours at full "
              "pay for 4 weeks to ease back in."),
        ("p", "Where local law grants more parental leave or higher pay, the local rule applies instead."),
        ("h", "Caregiver and bereavement leave"),
        ("p", "Employees may take up to 10 days of paid caregiver leave per year to care for a seriously ill "
              "family member. Bereavement leave is 5 paid days for the loss of a close family member and 2 paid "
              "days for other relatives."),
    ],
    [
        ("h", "Retirement savings"),
        ("p", "Contoso Robotics matches 100% of your contributions to the retirement plan (a 401(k) plan in the "
              "United States) up to 6% of your base salary. The company match vests immediately."),
        ("h", "Learning and development"),
        ("p", "Every employee has an annual learning budget of USD 2,000 for courses, conferences, books and "
              "certifications related to their work. Unused budget does not carry over. Requests are approved "
              "by your manager in the Learning Portal."),
        ("h", "Wellbeing"),
        ("p", "A wellness allowance of USD 50 per month can be used for gym memberships, sports clubs or fitness "
              "classes. Employees in Seattle and Munich can also use the on-site fitness rooms free of charge."),
        ("h", "Commuting"),
        ("p", "Contoso Robotics pays for a monthly public transport pass for every employee, or up to USD 80 per "
              "month towards bicycle leasing."),
        ("p", "Questions about any benefit go to the People Team at people-team@contoso-robotics.example."),
    ],
]

# --------------------------------------------------------------------------
# travel-policy.docx
# --------------------------------------------------------------------------

# Body of word/document.xml as (kind, payload): "h1"/"h2"/"p" take text,
# "bullet" a list item, "table" a list of rows (first row is the header).
TRAVEL_BODY = [
    ("h1", "Contoso Robotics Travel Policy"),
    ("p", "This policy covers business travel for all Contoso Robotics employees: customer site visits, robot "
          "installations, trade fairs and internal meetings in other offices. Travel must have a clear business "
          "purpose and be approved by your manager before anything is booked."),
    ("h2", "Booking travel"),
    ("p", "Book all flights, trains and hotels through the Contoso Travel Desk at least 14 days before departure. "
          "Bookings made later need a short justification in the request."),
    ("p", "Economy class is the standard for flights of up to 6 hours. For flights longer than 6 hours, premium "
          "economy may be booked. Business class requires approval from a vice president. Trains are preferred "
          "over flights for journeys under 4 hours."),
    ("h2", "Per-diem rates"),
    ("p", "The daily per-diem allowance covers meals and incidental costs and is paid without receipts. The "
          "hotel cap is the maximum nightly room rate, including taxes, that the Travel Desk may book."),
    ("table", [
        ["City", "Per diem (meals, per day)", "Hotel cap (per night)"],
        ["Seattle", "USD 75", "USD 260"],
        ["Austin", "USD 65", "USD 220"],
        ["Munich", "EUR 70", "EUR 210"],
        ["Eindhoven", "EUR 60", "EUR 170"],
        ["Tokyo", "JPY 9,000", "JPY 28,000"],
        ["Any other city", "USD 60", "USD 200"],
    ]),
    ("p", "On the first and last day of a trip, 80% of the per diem is paid. If a customer or a conference "
          "provides a meal, the per diem is reduced by 20% per meal provided."),
    ("h2", "Ground transportation"),
    ("bullet", "Use public transport or the airport train where it is practical and safe."),
    ("bullet", "Taxis and ride-hailing are reimbursed for trips between 22:00 and 06:00, or when carrying "
               "robot parts or tools."),
    ("bullet", "Rental cars need manager approval and must be of the compact or standard category."),
    ("bullet", "Private cars are reimbursed at USD 0.65 per mile (EUR 0.30 per kilometre in Europe)."),
    ("h2", "Safety while travelling"),
    ("p", "Register every trip with the Travel Desk so that we can reach you in an emergency. The 24-hour "
          "travel assistance line is +1 555 0100 extension 444. Robot installation trips to customer sites "
          "always involve at least two employees."),
    ("p", "Travel expenses are claimed in the Expense Portal within 30 days of returning, like any other expense."),
]

# --------------------------------------------------------------------------
# office-locations.csv
# --------------------------------------------------------------------------

OFFICES = [
    ["office", "city", "country", "address", "headcount", "main_function"],
    ["Seattle Headquarters", "Seattle", "United States", "1200 Harbor Loop, Seattle, WA 98101", "420",
     "Headquarters, software, sales"],
    ["Austin Robotics Lab", "Austin", "United States", "77 Foundry Lane, Austin, TX 78701", "210",
     "Hardware engineering, test floor"],
    ["Munich Engineering Center", "Munich", "Germany", "Werkstattstrasse 14, 80339 Munich", "185",
     "Navigation and safety software"],
    ["Eindhoven Manufacturing", "Eindhoven", "Netherlands", "Strijpweg 3, 5616 Eindhoven", "240",
     "Robot assembly and repair"],
    ["Tokyo Sales Office", "Tokyo", "Japan", "4-2-8 Shibaura, Minato-ku, Tokyo 108-0023", "45",
     "Sales and customer support for Asia"],
]


# --------------------------------------------------------------------------
# PDF writer: Helvetica (WinAnsiEncoding), one content stream per page.
# --------------------------------------------------------------------------

PAGE_WIDTH, PAGE_HEIGHT, MARGIN = 612, 792, 72  # US Letter, 1-inch margins

# Approximate Helvetica advance widths (1/1000 em); wrapping only needs to be
# close, and errs on the wide side for unlisted glyphs.
_NARROW = {" ": 278, ".": 278, ",": 278, ":": 278, ";": 278, "i": 222, "l": 222, "j": 222, "f": 278,
           "t": 278, "r": 333, "I": 278, "(": 333, ")": 333, "-": 333, "'": 191, "!": 278, "/": 278}
_WIDE = {"m": 833, "w": 722, "M": 833, "W": 944, "%": 889, "@": 1015}


def _char_width(ch: str) -> int:
    if ch in _NARROW:
        return _NARROW[ch]
    if ch in _WIDE:
        return _WIDE[ch]
    if ch.isupper():
        return 722
    return 556


def _text_width(text: str, size: float) -> float:
    return sum(_char_width(ch) for ch in text) * size / 1000.0


def _wrap(text: str, size: float, width: float) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if line and _text_width(candidate, size) > width:
            lines.append(line)
            line = word
        else:
            line = candidate
    if line:
        lines.append(line)
    return lines


def _pdf_string(text: str) -> bytes:
    out = bytearray(b"(")
    for byte in text.encode("cp1252"):  # WinAnsiEncoding is cp1252 for the characters we use
        if byte in b"()\\":
            out += b"\\" + bytes([byte])
        elif byte < 0x20 or byte > 0x7E:
            out += b"\\%03o" % byte
        else:
            out.append(byte)
    out += b")"
    return bytes(out)


def _page_content(blocks: list[tuple[str, str]]) -> bytes:
    width = PAGE_WIDTH - 2 * MARGIN
    y = PAGE_HEIGHT - MARGIN
    ops = []
    for kind, text in blocks:
        font, size, leading = ("/F2", 14, 20) if kind == "h" else ("/F1", 11, 15)
        if kind == "h" and y < PAGE_HEIGHT - MARGIN:
            y -= 8  # space above a heading
        for line in _wrap(text, size, width):
            y -= leading
            if y < MARGIN:
                raise ValueError(f"page overflows at: {line!r}")
            ops.append(b"BT %s %d Tf %d %d Td %s Tj ET" % (font.encode(), size, MARGIN, y, _pdf_string(line)))
        y -= 6  # paragraph spacing
    return b"\n".join(ops) + b"\n"


def build_pdf(pages: list[list[tuple[str, str]]], title: str) -> bytes:
    # Object numbers: 1 catalog, 2 pages, 3 Helvetica, 4 Helvetica-Bold, 5 info,
    # then a (page, content) pair per page.
    objects: dict[int, bytes] = {}
    page_ids = [6 + 2 * i for i in range(len(pages))]
    objects[1] = b"<< /Type /Catalog /Pages 2 0 R >>"
    kids = b" ".join(b"%d 0 R" % pid for pid in page_ids)
    objects[2] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(pages))
    objects[3] = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
    objects[4] = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>"
    objects[5] = b"<< /Title %s /Author (Contoso Robotics People Team) /Producer (generate_samples.py) >>" % (
        _pdf_string(title))
    for pid, blocks in zip(page_ids, pages):
        content = _page_content(blocks)
        objects[pid] = (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] "
                        b"/Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents %d 0 R >>"
                        % (PAGE_WIDTH, PAGE_HEIGHT, pid + 1))
        objects[pid + 1] = b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content)

    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (number, objects[number])
    xref_at = len(out)
    count = max(objects) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % count
    for number in range(1, count):
        out += b"%010d 00000 n \n" % offsets[number]
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 5 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (count, xref_at)
    return bytes(out)


# --------------------------------------------------------------------------
# DOCX writer: the minimal package Word, LibreOffice and python-docx accept.
# --------------------------------------------------------------------------

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

CONTENT_TYPES = XML_DECL + (
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
    '<Override PartName="/word/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/>'
    '<Override PartName="/word/numbering.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.numbering+xml"/>'
    '<Override PartName="/docProps/core.xml" '
    'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
    '</Types>')

ROOT_RELS = XML_DECL + (
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="word/document.xml"/>'
    '<Relationship Id="rId2" '
    'Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" '
    'Target="docProps/core.xml"/>'
    '</Relationships>')

DOCUMENT_RELS = XML_DECL + (
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" '
    'Target="styles.xml"/>'
    '<Relationship Id="rId2" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/numbering" '
    'Target="numbering.xml"/>'
    '</Relationships>')

CORE_PROPS = XML_DECL + (
    '<cp:coreProperties '
    'xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/">'
    '<dc:title>Contoso Robotics Travel Policy</dc:title>'
    '<dc:creator>Contoso Robotics People Team</dc:creator>'
    '</cp:coreProperties>')

STYLES = XML_DECL + (
    f'<w:styles xmlns:w="{W_NS}">'
    '<w:docDefaults><w:rPrDefault><w:rPr><w:rFonts w:ascii="Calibri" w:hAnsi="Calibri"/>'
    '<w:sz w:val="22"/></w:rPr></w:rPrDefault>'
    '<w:pPrDefault><w:pPr><w:spacing w:after="160"/></w:pPr></w:pPrDefault></w:docDefaults>'
    '<w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/><w:qFormat/></w:style>'
    '<w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="heading 1"/>'
    '<w:basedOn w:val="Normal"/><w:next w:val="Normal"/><w:qFormat/>'
    '<w:pPr><w:keepNext/><w:spacing w:before="240"/><w:outlineLvl w:val="0"/></w:pPr>'
    '<w:rPr><w:b/><w:sz w:val="32"/></w:rPr></w:style>'
    '<w:style w:type="paragraph" w:styleId="Heading2"><w:name w:val="heading 2"/>'
    '<w:basedOn w:val="Normal"/><w:next w:val="Normal"/><w:qFormat/>'
    '<w:pPr><w:keepNext/><w:spacing w:before="200"/><w:outlineLvl w:val="1"/></w:pPr>'
    '<w:rPr><w:b/><w:sz w:val="26"/></w:rPr></w:style>'
    '<w:style w:type="paragraph" w:styleId="ListParagraph"><w:name w:val="List Paragraph"/>'
    '<w:basedOn w:val="Normal"/><w:qFormat/><w:pPr><w:ind w:left="720"/></w:pPr></w:style>'
    '<w:style w:type="table" w:styleId="TableGrid"><w:name w:val="Table Grid"/>'
    '<w:tblPr><w:tblBorders>'
    + "".join(f'<w:{side} w:val="single" w:sz="4" w:space="0" w:color="auto"/>'
              for side in ("top", "left", "bottom", "right", "insideH", "insideV"))
    + '</w:tblBorders></w:tblPr></w:style>'
    '</w:styles>')

NUMBERING = XML_DECL + (
    f'<w:numbering xmlns:w="{W_NS}">'
    '<w:abstractNum w:abstractNumId="0"><w:multiLevelType w:val="hybridMultilevel"/>'
    '<w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="bullet"/><w:lvlText w:val="\u2022"/>'
    '<w:lvlJc w:val="left"/><w:pPr><w:ind w:left="720" w:hanging="360"/></w:pPr></w:lvl>'
    '</w:abstractNum>'
    '<w:num w:numId="1"><w:abstractNumId w:val="0"/></w:num>'
    '</w:numbering>')


def _run(text: str, bold: bool = False) -> str:
    props = "<w:rPr><w:b/></w:rPr>" if bold else ""
    return f'<w:r>{props}<w:t xml:space="preserve">{escape(text)}</w:t></w:r>'


def _paragraph(text: str, style: str | None = None, bullet: bool = False, bold: bool = False) -> str:
    props = ""
    if style or bullet:
        props = "<w:pPr>"
        if style:
            props += f'<w:pStyle w:val="{style}"/>'
        if bullet:
            props += '<w:numPr><w:ilvl w:val="0"/><w:numId w:val="1"/></w:numPr>'
        props += "</w:pPr>"
    return f"<w:p>{props}{_run(text, bold)}</w:p>"


def _table(rows: list[list[str]]) -> str:
    columns = len(rows[0])
    grid = "".join('<w:gridCol w:w="3000"/>' for _ in range(columns))
    out = ('<w:tbl><w:tblPr><w:tblStyle w:val="TableGrid"/><w:tblW w:w="0" w:type="auto"/></w:tblPr>'
           f"<w:tblGrid>{grid}</w:tblGrid>")
    for index, row in enumerate(rows):
        header = '<w:trPr><w:tblHeader/></w:trPr>' if index == 0 else ""
        cells = "".join(f'<w:tc><w:tcPr><w:tcW w:w="3000" w:type="dxa"/></w:tcPr>{_paragraph(cell, bold=index == 0)}</w:tc>'
                        for cell in row)
        out += f"<w:tr>{header}{cells}</w:tr>"
    return out + "</w:tbl>"


def build_docx(body: list) -> bytes:
    parts = []
    for kind, payload in body:
        if kind == "h1":
            parts.append(_paragraph(payload, "Heading1"))
        elif kind == "h2":
            parts.append(_paragraph(payload, "Heading2"))
        elif kind == "bullet":
            parts.append(_paragraph(payload, "ListParagraph", bullet=True))
        elif kind == "table":
            parts.append(_table(payload))
        else:
            parts.append(_paragraph(payload))
    section = ('<w:sectPr><w:pgSz w:w="12240" w:h="15840"/>'
               '<w:pgMar w:top="1440" w:right="1440" w:bottom="1440" w:left="1440" w:header="720" '
               'w:footer="720" w:gutter="0"/></w:sectPr>')
    document = XML_DECL + f'<w:document xmlns:w="{W_NS}"><w:body>{"".join(parts)}{section}</w:body></w:document>'

    members = {
        "[Content_Types].xml": CONTENT_TYPES,
        "_rels/.rels": ROOT_RELS,
        "docProps/core.xml": CORE_PROPS,
        "word/_rels/document.xml.rels": DOCUMENT_RELS,
        "word/document.xml": document,
        "word/numbering.xml": NUMBERING,
        "word/styles.xml": STYLES,
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        # [Content_Types].xml first, as Office writes it; fixed timestamps keep the bytes stable.
        for name in ["[Content_Types].xml"] + sorted(n for n in members if n != "[Content_Types].xml"):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, members[name].encode("utf-8"))
    return buffer.getvalue()


def build_csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "handbook",
                        help="output directory (default: samples/handbook next to this script)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    outputs = {
        "employee-handbook.md": HANDBOOK_MD.encode("utf-8"),
        "it-security-policy.html": SECURITY_HTML.encode("utf-8"),
        "benefits-guide.pdf": build_pdf(BENEFITS_PAGES, "Contoso Robotics Benefits Guide"),
        "travel-policy.docx": build_docx(TRAVEL_BODY),
        "office-locations.csv": build_csv(OFFICES),
    }
    for name, data in outputs.items():
        (args.out / name).write_bytes(data)
        print(f"wrote {args.out / name} ({len(data)} bytes)")


if __name__ == "__main__":
    main()
