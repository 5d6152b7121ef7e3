#!/usr/bin/env python3
"""Golden data for the C++ WordPiece tokenizer (src/embed/wordpiece.cpp), written by Hugging Face's
`tokenizers` package from the all-MiniLM-L6-v2 tokenizer.json.

  .venv-bench/bin/python scripts/golden/gen_wordpiece_golden.py            # both golden files
  .venv-bench/bin/python scripts/golden/gen_wordpiece_golden.py --tables   # also rewrite the tables

Writes
  tests/golden/embed/wordpiece_minilm.jsonl   texts and the ids HF gives them: a "meta" line, then
      {"text", "max_length" (0 = no truncation, null = no special tokens), "config", "ids"}
  tests/golden/embed/wordpiece_unicode.txt    BertNormalizer's output for every code point under
      four settings, and how BertPreTokenizer splits on each code point
With --tables it regenerates the Unicode tables block of src/embed/wordpiece.cpp: HF uses its own
(older or newer) Unicode data for control characters, punctuation, combining marks and lowercase,
so the C++ side carries HF's tables rather than utf8proc's.

Needs: pip install tokenizers (bench/requirements.txt), and the model from scripts/fetch_models.sh.
"""
import argparse
import json
import os
import random
import sys
import unicodedata
from pathlib import Path

import tokenizers
from tokenizers import Tokenizer, normalizers, pre_tokenizers

ROOT = Path(__file__).resolve().parents[2]
SEED = 20240607
MAX_CP = 0x110000

# name -> BertNormalizer settings (strip_accents None follows lowercase, as in HF)
CONFIGS = {
    "uncased": dict(clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True),
    "lower_only": dict(clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=True),
    "strip_only": dict(clean_text=True, handle_chinese_chars=True, strip_accents=True, lowercase=False),
    "cased": dict(clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=False),
    "raw": dict(clean_text=False, handle_chinese_chars=False, strip_accents=False, lowercase=False),
}


def code_points():
    return (c for c in range(MAX_CP) if not 0xD800 <= c <= 0xDFFF)


def ranges(cps):
    out = []
    for c in sorted(cps):
        if out and out[-1][1] == c - 1:
            out[-1][1] = c
        else:
            out.append([c, c])
    return out


# ---------------------------------------------------------------------------------------------
# Per code point behaviour of HF's normalizer and pre-tokenizer

def bert_normalizer(**kw):
    return normalizers.BertNormalizer(**kw)


def probe_tables():
    """HF's character classes, one normalizer step at a time."""
    clean = bert_normalizer(clean_text=True, handle_chinese_chars=False, strip_accents=False, lowercase=False)
    chinese = bert_normalizer(clean_text=False, handle_chinese_chars=True, strip_accents=False, lowercase=False)
    strip = bert_normalizer(clean_text=False, handle_chinese_chars=False, strip_accents=True, lowercase=False)
    lower = bert_normalizer(clean_text=False, handle_chinese_chars=False, strip_accents=False, lowercase=True)
    pre = pre_tokenizers.BertPreTokenizer()
    t = dict(control=[], clean_space=[], chinese=[], mark=[], split_space=[], punct=[], lower={},
             decomp_exceptions={})
    stripped = {}
    for c in code_points():
        ch = chr(c)
        r = clean.normalize_str(ch)
        if r == "":
            t["control"].append(c)
        elif r == " " and c != 0x20:
            t["clean_space"].append(c)
        if chinese.normalize_str(ch) != ch:
            t["chinese"].append(c)
        s = strip.normalize_str(ch)
        stripped[c] = s
        if s == "":
            t["mark"].append(c)
        low = lower.normalize_str(ch)
        if low != ch:
            t["lower"][c] = low
        n = len(pre.pre_tokenize_str("a" + ch + "b"))
        if n == 2:
            t["split_space"].append(c)
        elif n == 3:
            t["punct"].append(c)
    # Where HF's NFD is older than Python's (and utf8proc's), it leaves a character alone.
    marks = set(t["mark"])
    for c in code_points():
        ch = chr(c)
        expected = "".join(x for x in unicodedata.normalize("NFD", ch) if ord(x) not in marks)
        if stripped[c] != expected:
            t["decomp_exceptions"][c] = stripped[c]
    return t


def lower_runs(lower):
    """{cp: lowercase} as runs (first, last, stride, delta) of single code point mappings."""
    runs = []
    for c, delta in sorted((c, ord(v) - c) for c, v in lower.items() if len(v) == 1):
        if runs:
            first, last, stride, d = runs[-1]
            if d == delta and ((stride == 0 and c - last in (1, 2)) or (stride and c - last == stride)):
                runs[-1] = [first, c, c - last, d]
                continue
        runs.append([c, c, 0, delta])
    return [(f, l, s or 1, d) for f, l, s, d in runs]


def cpp_ranges(name, comment, cps):
    rs = ranges(cps)
    items = [f"{{0x{a:X}, 0x{b:X}}}" for a, b in rs]
    lines = [f"// {comment} ({len(cps)} code points)", f"constexpr CpRange {name}[] = {{"]
    lines += wrap(items)
    lines.append("};")
    return lines


def wrap(items, width=100, indent="    "):
    lines, cur = [], indent
    for it in items:
        piece = it + ", "
        if len(cur) + len(piece) > width and cur.strip():
            lines.append(cur.rstrip())
            cur = indent
        cur += piece
    if cur.strip():
        lines.append(cur.rstrip())
    return lines


def write_tables(t, cpp_path):
    multi = {c: v for c, v in t["lower"].items() if len(v) != 1}
    lines = [
        f"// Generated by scripts/golden/gen_wordpiece_golden.py --tables from tokenizers "
        f"{tokenizers.__version__}: do not edit.",
    ]
    lines += cpp_ranges("kHfControl", "clean_text drops these (Cc, Cf, Co in HF's Unicode tables)",
                        t["control"])
    lines += cpp_ranges("kHfCleanSpace", "clean_text turns these into ' '", t["clean_space"])
    lines += cpp_ranges("kHfChinese", "handle_chinese_chars isolates these", t["chinese"])
    lines += cpp_ranges("kHfMark", "strip_accents drops these after NFD", t["mark"])
    lines += cpp_ranges("kHfSplitSpace", "BertPreTokenizer splits on and drops these (char::is_whitespace)",
                        t["split_space"])
    lines += cpp_ranges("kHfPunct", "BertPreTokenizer isolates these (ASCII punctuation, Unicode P*)",
                        t["punct"])
    runs = lower_runs(t["lower"])
    lines.append(f"// lowercase: code points first..last (every stride-th) map to cp + delta ({len(runs)} runs)")
    lines.append("constexpr LowerRun kHfLower[] = {")
    lines += wrap([f"{{0x{f:X}, 0x{l:X}, {s}, {d}}}" for f, l, s, d in runs])
    lines.append("};")
    lines.append("// lowercase mappings to more than one code point")
    lines.append("constexpr MultiMapping kHfLowerMulti[] = {")
    lines += wrap([f"{{0x{c:X}, {{{', '.join(f'0x{ord(x):X}' for x in v)}}}}}" for c, v in sorted(multi.items())])
    lines.append("};")
    lines.append("// strip_accents leaves these alone although utf8proc decomposes them (HF's NFD is older)")
    lines.append("constexpr char32_t kHfNoDecomposition[] = {")
    exc = t["decomp_exceptions"]
    if any(exc[c] != chr(c) for c in exc):
        sys.exit(f"unexpected strip_accents exceptions: {exc}")
    lines += wrap([f"0x{c:X}" for c in sorted(exc)])
    lines.append("};")

    src = cpp_path.read_text()
    begin, end = "// BEGIN GENERATED UNICODE TABLES\n", "// END GENERATED UNICODE TABLES\n"
    a, b = src.index(begin) + len(begin), src.index(end)
    cpp_path.write_text(src[:a] + "\n".join(lines) + "\n" + src[b:])
    print(f"rewrote the tables in {cpp_path}", file=sys.stderr)


def unicode_golden(t, path):
    out = [
        f"# Generated by scripts/golden/gen_wordpiece_golden.py from tokenizers {tokenizers.__version__}.",
        "# [normalize NAME clean_text chinese strip lower]: BertNormalizer(...).normalize_str(chr(cp))",
        "#   '<first>[-<last>] <out>' in hex; out '-' = nothing, else code points where '=' is the input",
        "#   code point and '=+n' / '=-n' an offset from it; code points not listed are unchanged.",
        "# [split]: '<first>[-<last>] space|punct': how BertPreTokenizer treats the code point.",
    ]
    for name, kw in CONFIGS.items():
        if name == "raw":
            continue
        n = bert_normalizer(**kw)
        flags = [int(kw["clean_text"]), int(kw["handle_chinese_chars"]),
                 int(kw["lowercase"] if kw["strip_accents"] is None else kw["strip_accents"]), int(kw["lowercase"])]
        out.append(f"[normalize {name} {' '.join(map(str, flags))}]")
        out += compress((c, n.normalize_str(chr(c))) for c in code_points())
    out.append("[split]")
    for kind, cps in (("space", t["split_space"]), ("punct", t["punct"])):
        for a, b in ranges(cps):
            out.append(f"{a:X} {kind}" if a == b else f"{a:X}-{b:X} {kind}")
    path.write_text("\n".join(out) + "\n")


def compress(pairs):
    """Run-length lines: a run shares, per output position, one absolute or relative value."""
    lines = []
    run = None  # [first, last, outs(list of cps of first), modes(list: 'abs'|'rel'|None)]

    def flush():
        if run is None:
            return
        first, last, outs, modes = run
        toks = []
        for o, m in zip(outs, modes):
            if m == "rel" or (m is None and o == first):
                d = o - first
                toks.append("=" if d == 0 else f"={'+' if d > 0 else '-'}{abs(d):X}")
            else:
                toks.append(f"{o:X}")
        rng = f"{first:X}" if first == last else f"{first:X}-{last:X}"
        lines.append(f"{rng} {' '.join(toks) if toks else '-'}")

    for c, s in pairs:
        if s == chr(c):
            flush()
            run = None
            continue
        outs = [ord(x) for x in s]
        if run is not None and run[1] == c - 1 and len(run[2]) == len(outs):
            first, last, routs, modes = run
            new_modes, ok = [], True
            for o0, o, m in zip(routs, outs, modes):
                if m in (None, "abs") and o == o0:
                    new_modes.append("abs")
                elif m in (None, "rel") and o - c == o0 - first:
                    new_modes.append("rel")
                else:
                    ok = False
                    break
            if ok:
                run = [first, c, routs, new_modes]
                continue
        flush()
        run = [c, c, outs, [None] * len(outs)]
    flush()
    return lines


# ---------------------------------------------------------------------------------------------
# Texts

PROSE = [
    "The quick brown fox jumps over the lazy dog.",
    "Retrieval-augmented generation (RAG) combines a search index with a language model.",
    "Kubernetes schedules pods onto nodes; KAITO provisions GPU nodes for AI workloads.",
    "In 2023, revenue grew 12.5% year-over-year to $4.2B (see Table 3, p. 17).",
    "Dr. O'Neill's patients--aged 18-65--were randomized 1:1 to placebo or drug.",
    "Café au lait, naïve façade, jalapeño, crème brûlée, Ångström, São Paulo, Zürich.",
    "Straße, Maß, Fußgänger; GROSSBUCHSTABEN und Kleinbuchstaben.",
    "İstanbul'da ılık bir gün; IĞDIR, ŞİŞLİ, çığ, ıspanak.",
    "Η Αθήνα είναι η πρωτεύουσα της Ελλάδας. ΟΔΟΣ ΣΟΦΟΚΛΕΟΥΣ. Σίσυφος, σοφός.",
    "Москва — столица России. Ёлка, ЁЖИК, щётка, Їжак, Ґанок.",
    "العربية لغة سامية. مَرْحَبًا بِالْعَالَمِ! ١٢٣٤٥٦٧٨٩٠",
    "עברית היא שפה שמית. שָׁלוֹם עוֹלָם!",
    "हिन्दी भारत की राजभाषा है। नमस्ते दुनिया! क़ ख़ ग़ ज़ ड़ ढ़ फ़",
    "ภาษาไทยเป็นภาษาราชการของประเทศไทย สวัสดีครับ",
    "中华人民共和国成立于1949年。北京是首都。",
    "日本語のテキスト：ひらがな、カタカナ、漢字が混ざっています。ｶﾀｶﾅ",
    "한국어 텍스트입니다. 안녕하세요, 세계! ㄱㄴㄷ ㅏㅑ",
    "Tiếng Việt có dấu: Hà Nội, Thành phố Hồ Chí Minh, người, được.",
    "Ｆｕｌｌｗｉｄｔｈ　ｆｏｒｍｓ：ＡＢＣ　１２３！？",
    "Emoji: 😀 👍🏽 👨‍👩‍👧‍👦 🏳️‍🌈 ❤️ 🇯🇵 1️⃣ 🧑🏿‍💻",
    "def f(x): return {'a': [1, 2, 3], \"b\": x ** 2}  # comment",
    "for (int i = 0; i < n; ++i) { sum += a[i] * b[i]; } // C++",
    "https://example.com/path/to/page?query=1&lang=en#section-2 mailto:someone@example.org",
    "E = mc²; ∑ᵢ xᵢ² ≥ 0; √2 ≈ 1.41421; ∞ ∂ ∇ ∫ ½ ¾ ⅞",
]

EDGE_CASES = [
    "", " ", "   ", "\t", "\n", "\r\n", " \t\n\r\u000b\u000c ", "\u00a0", "\u3000\u3000", "\u2028\u2029",
    "a", "A", "Hello", "hello world", "HELLO WORLD", "Hello, world!", "hello,world", "...",
    "!!!???", "--", "---", "—", "–", "‘quoted’ “double”", "«guillemets»", "„German“", "¿Qué? ¡Sí!",
    "a.b.c", "a,b;c:d", "e.g. i.e. etc.", "U.S.A.", "$100", "€50", "£20", "¥1000", "100%", "#hashtag", "@user",
    "snake_case_name", "kebab-case-name", "CamelCaseName", "x86_64", "C++", "C#", "F#", ".NET", "node.js",
    "3.14159", "1,000,000", "1e-10", "0x1F", "-42", "+7", "2024-06-07T12:34:56Z", "10:30am", "v1.2.3-rc.1",
    "(((nested)))", "[brackets]", "{braces}", "<angle>", "a/b\\c|d", "~`^", "a=b+c*d", "50/50",
    "[CLS]", "[SEP]", "[PAD]", "[MASK]", "[UNK]", "[cls]", "[mask]", "x[MASK]y", "[CLS] hi [SEP]",
    "[CLS][SEP][PAD]", "[[MASK]]", "[ MASK ]", "[MASK", "MASK]", "[MASK][MASK]", "a [UNK] b", "##", "##ing",
    "#", "##a", "a##b",
    "é", "e\u0301", "ñ", "n\u0303", "Å", "A\u030a", "\u212b", "ü", "u\u0308", "ǅ", "ǆ", "Ǆ", "ﬁ", "ﬀ",
    "ß", "ẞ", "SS", "straße", "STRASSE", "İ", "ı", "I", "i", "İi", "Iı", "i\u0307", "ǰ", "ŉ",
    "Σ", "σ", "ς", "ΣΑΣ", "ΟΔΟΣ", "όσος", "ΌΣΟΣ", "Ω", "\u2126", "µ", "μ", "ϐ", "ϑ",
    "\u0300", "\u0301\u0302\u0303", "a\u0301\u0302\u0303\u0304", "\u0345", "ᾳ", "ᾼ", "\u0f73", "\u0f77",
    "\u1734", "\U0001d165\U0001d16d", "\U00011938", "\u07fd", "\u0898",
    "\u200b", "a\u200bb", "a\u200cb", "a\u200db", "a\ufeffb", "\ufeff", "a\u00adb", "a\u2060b",
    "a\u202eb\u202c", "a\u2066b\u2069", "a\u180eb", "a\u061cb",
    "\x00", "a\x00b", "a\x01b", "a\x7fb", "a\x85b", "a\x9fb", "a\x0bb", "a\x0cb", "a\x1bb",
    "\ufffd", "a\ufffdb", "\ufffd\ufffd\ufffd", "\ue000", "a\ue000b", "\U000f0000", "\U0010fffd",
    "\U000e0001", "a\U000e0041b", "\ufff9\ufffa\ufffb",
    "a\u00a0b", "a\u1680b", "a\u2000b", "a\u2007b", "a\u200ab", "a\u202fb", "a\u205fb", "a\u3000b",
    "a\u2028b", "a\u2029b", "a\tb", "a\nb", "a\rb", "a\r\nb",
    "中", "中文", "中a文", "a中b", "\u3400", "\U00020000", "\U0002a700", "\U0002b81f", "\U0002b820",
    "\U0002b920", "\U0002ceaf", "\U0002ceb0", "\U00030000", "\uf900", "\ufa6e", "\ufaff", "\U0002f800",
    "\u2f00", "\u3007", "々", "〆", "ー", "・",
    "ひらがな", "カタカナ", "ｶﾀｶﾅ", "ｰ", "が", "か\u3099", "パ", "ハ\u309a", "ヴ",
    "한", "한국어", "\u1112\u1161\u11ab", "ㄱ", "ᄀ", "가각갂", "힣",
    "Ａ", "ａ", "０", "！", "？", "（", "）", "｛", "～", "￥", "￦",
    "😀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "❤️", "❤", "🇯🇵", "1️⃣", "#️⃣", "🧑🏿‍💻", "👩🏻‍🤝‍👨🏿",
    "\U0001f970", "\U0001faf6", "\U0001fae8", "©", "®", "™", "°", "±", "×", "÷", "§", "¶", "†", "‡", "•",
    "…", "‰", "′", "″", "※", "‽", "⁂", "←→↑↓", "∀∃∅∈", "♠♣♥♦", "☃", "★", "✓", "✗",
    "\u037e", "a\u037eb", "\u0387", "\u1fef", "a\u1fefb", "\u1fed", "\u0374", "\u2000\u2001",
    "\u00b7", "\u0589", "\u05be", "\u060c", "\u061f", "\u06d4", "\u0964", "\u0965", "\u0e2f", "\u0e5a",
    "\u10fb", "\u166d", "\u2e3a", "\u2e52", "\u2e5d", "\u3001", "\u3002", "\u30fb", "\ufe10", "\uff0c",
    "\U00010100", "\U0001e95e", "\U00016fe2", "\U00011944", "\U0001da8b",
    "\u1c89", "\ua7cb", "\U00010d50", "\U00016ea0", "\u1c90", "\u13a0", "\uab70", "\U00010400",
    "\U0001e900", "\u0130\u0131", "\u1e9e", "\u2c6f", "\ua7ae",
    "\u0915\u094d\u0937", "\u0915\u093f", "\u0928\u092e\u0938\u094d\u0924\u0947", "\u0e01\u0e34",
    "\u0627\u064e", "\u05e9\u05c1", "\u0f40\u0f7a",
    "x" * 99, "x" * 100, "x" * 101, "y" * 150, "é" * 100, "é" * 101, "e\u0301" * 60, "中" * 150,
    "a" + "\u0301" * 150, "supercalifragilisticexpialidocious", "antidisestablishmentarianism",
    "pneumonoultramicroscopicsilicovolcanoconiosis", "internationalization", "unbelievably",
    "Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "qwzxqwzxqwzx", "zzzzzzzzzzzzzzzzzzzz", "9999999999999999999999", "3.14159265358979323846264338327950288",
    "ab" * 60, "a-" * 80, ("word " * 300).strip(), ". " * 200, "😀" * 50,
]


# Extra added tokens for the "added" config (appended to tokenizer.json's added_tokens; the ids
# are the ones HF assigns, recorded in the meta line for the C++ test to use).
EXTRA_ADDED = [
    dict(content="<mask>", single_word=False, lstrip=True, rstrip=False, normalized=False, special=True),
    dict(content="Hello World", single_word=False, lstrip=False, rstrip=False, normalized=True, special=False),
    dict(content="xyzzy", single_word=True, lstrip=False, rstrip=True, normalized=False, special=False),
    dict(content="Ünïcode", single_word=False, lstrip=False, rstrip=False, normalized=True, special=False),
    dict(content="hello", single_word=False, lstrip=False, rstrip=False, normalized=False, special=True),
]
ADDED_CASES = [
    "<mask>", "a <mask> b", "a   <mask>b", "a\t\n<mask>", "<mask><mask>", " <mask> ", "[MASK]<mask>", "<MASK>",
    "say Hello World!", "HELLO WORLD", "hello world", "hello  world", "hello\tworld", "Héllo Wörld",
    "helloworld", "hello", "Hello", "HELLO", "xhellox", "hello world hello", "hello world[SEP]hello world",
    "xyzzy", "a xyzzy b", "axyzzy b", "xyzzy  bar", "xyzzy_x", "éxyzzy", "x xyzzy\t\ty", "xyzzy, xyzzy.",
    "(xyzzy)", "xyzzyxyzzy", "xyzzy xyzzy", "中xyzzy", "xyzzy中", "1xyzzy", "xyzzy1",
    "unicode UNICODE ÜNÏCODE Ünïcode", "unicodeunicode", "the Unicode standard",
]


def random_texts(rng, vocab):
    words = [w for w in vocab if w.isalpha() and not w.startswith("[")]
    pieces = [w[2:] for w in vocab if w.startswith("##") and len(w) > 2]
    blocks = [  # (first, last) code point blocks for random "words"
        (0x20, 0x7E), (0xA0, 0xFF), (0x100, 0x24F), (0x250, 0x2AF), (0x300, 0x36F), (0x370, 0x3FF),
        (0x400, 0x4FF), (0x530, 0x58F), (0x590, 0x5FF), (0x600, 0x6FF), (0x900, 0x97F), (0x980, 0x9FF),
        (0xE00, 0xE7F), (0x10A0, 0x10FF), (0x1100, 0x11FF), (0x1E00, 0x1EFF), (0x1F00, 0x1FFF),
        (0x2000, 0x206F), (0x20A0, 0x20CF), (0x2100, 0x214F), (0x2190, 0x21FF), (0x2200, 0x22FF),
        (0x2500, 0x257F), (0x2600, 0x26FF), (0x2E00, 0x2E7F), (0x3000, 0x303F), (0x3040, 0x30FF),
        (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xA000, 0xA48F), (0xAC00, 0xD7A3), (0xE000, 0xE0FF),
        (0xF900, 0xFAFF), (0xFB00, 0xFB4F), (0xFE00, 0xFE6F), (0xFF00, 0xFFEF), (0xFFF0, 0xFFFD),
        (0x10000, 0x1007F), (0x1D400, 0x1D7FF), (0x1F300, 0x1FAFF), (0x20000, 0x2FA1F), (0xE0000, 0xE01EF),
        (0x0, 0x1F), (0x7F, 0x9F),
    ]

    def rand_cp():
        while True:
            if rng.random() < 0.02:
                c = rng.randrange(MAX_CP)
            else:
                a, b = rng.choice(blocks)
                c = rng.randint(a, b)
            if not 0xD800 <= c <= 0xDFFF:
                return chr(c)

    def rand_word():
        r = rng.random()
        if r < 0.45:
            w = rng.choice(words)
        elif r < 0.6:
            w = rng.choice(words) + "".join(rng.choice(pieces) for _ in range(rng.randint(1, 3)))
        elif r < 0.7:
            w = str(rng.randint(0, 10 ** rng.randint(1, 12)))
        else:
            w = "".join(rand_cp() for _ in range(rng.randint(1, 8)))
        c = rng.random()
        if c < 0.15:
            w = w.capitalize()
        elif c < 0.2:
            w = w.upper()
        return w

    seps = [" "] * 12 + ["", "\t", "\n", "  ", ", ", ". ", "-", "/", "'", "\u00a0", "\u3000", "_", "...", "\r\n"]

    def rand_text(n_words):
        out = []
        for i in range(n_words):
            if i:
                out.append(rng.choice(seps))
            out.append(rand_word())
        return "".join(out)

    def prose(n_sentences):
        return " ".join(rng.choice(PROSE) for _ in range(n_sentences))

    texts = []
    for _ in range(1300):
        texts.append(rand_text(rng.randint(1, 25)))
    for _ in range(500):  # pure random code points, including runs without spaces
        texts.append("".join(rand_cp() for _ in range(rng.randint(1, 40))))
    for _ in range(300):
        s = prose(rng.randint(1, 3))
        if rng.random() < 0.5:  # splice random characters in
            pos = rng.randrange(len(s) + 1)
            s = s[:pos] + "".join(rand_cp() for _ in range(rng.randint(1, 5))) + s[pos:]
        texts.append(s)
    for _ in range(100):  # vocabulary words glued by punctuation
        texts.append("".join(rng.choice(words) + rng.choice(".,;:!?()[]{}<>'\"`~@#$%^&*-+=|\\/") for _ in
                             range(rng.randint(1, 10))))
    return texts


def long_texts(rng, vocab, n):
    words = [w for w in vocab if w.isalpha() and not w.startswith("[")]
    out = []
    for i in range(n):
        if i % 3 == 0:
            out.append(" ".join(rng.choice(PROSE) for _ in range(rng.randint(15, 30))))
        else:
            out.append(" ".join(rng.choice(words) for _ in range(rng.randint(200, 400))))
    return out


def strings_golden(model_dir, path):
    rng = random.Random(SEED)
    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tok.no_padding()
    vocab = sorted(tok.get_vocab(), key=tok.get_vocab().get)

    # (text, max_length (0: none, None: no special tokens), config)
    cases = []
    for s in PROSE + EDGE_CASES:
        cases.append((s, 256, "uncased"))
        cases.append((s, None, "uncased"))
    for s in random_texts(rng, vocab):
        r = rng.random()
        cases.append((s, 256 if r < 0.7 else 512 if r < 0.8 else 0 if r < 0.9 else None, "uncased"))
    for s in long_texts(rng, vocab, 80):
        cases.append((s, rng.choice([256, 256, 256, 128, 512, 300, 0]), "uncased"))
    long = " ".join(PROSE)
    for n in (1, 2, 3, 4, 5, 8, 16, 17, 33, 64):  # truncation at every boundary size
        cases.append((long, n, "uncased"))
    for name in ("lower_only", "strip_only", "cased"):
        for s in PROSE + EDGE_CASES[::3]:
            cases.append((s, 256, name))
    for s in ADDED_CASES + PROSE + EDGE_CASES[::5]:
        cases.append((s, 256, "added"))

    tokenizers_by_config = {}
    for name, kw in CONFIGS.items():
        t = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        t.no_padding()
        t.normalizer = bert_normalizer(**kw)
        tokenizers_by_config[name] = t
    spec = json.loads((model_dir / "tokenizer.json").read_text())
    next_id = tok.get_vocab_size()
    extra = []
    for t in EXTRA_ADDED:
        extra.append(dict(t, id=tok.token_to_id(t["content"]) if tok.token_to_id(t["content"]) is not None
                          else next_id))
        next_id += extra[-1]["id"] == next_id
    spec["added_tokens"] += extra
    t = Tokenizer.from_str(json.dumps(spec))
    t.no_padding()
    for a in extra:
        assert t.token_to_id(a["content"]) == a["id"], (a, t.token_to_id(a["content"]))
    tokenizers_by_config["added"] = t

    lines = [json.dumps({"meta": {
        "generator": "scripts/golden/gen_wordpiece_golden.py", "tokenizers": tokenizers.__version__,
        "model": model_dir.name, "vocab_size": tok.get_vocab_size(), "configs": CONFIGS,
        "added_tokens": extra,
    }}, ensure_ascii=False)]
    for text, max_length, config in cases:
        t = tokenizers_by_config[config]
        if max_length:
            t.enable_truncation(max_length)
        else:
            t.no_truncation()
        ids = t.encode(text, add_special_tokens=max_length is not None).ids
        lines.append(json.dumps({"text": text, "max_length": max_length, "config": config, "ids": ids},
                                ensure_ascii=False, separators=(",", ":")))
    path.write_text("\n".join(lines) + "\n")
    return len(cases)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cache = Path(os.environ.get("KAITO_RAG_MODEL_CACHE", Path.home() / ".cache/kaito-rag/models"))
    ap.add_argument("--model-dir", type=Path, default=cache / "all-MiniLM-L6-v2")
    ap.add_argument("--out-dir", type=Path, default=ROOT / "tests/golden/embed")
    ap.add_argument("--tables", action="store_true", help="also rewrite the tables in src/embed/wordpiece.cpp")
    args = ap.parse_args()
    if not (args.model_dir / "tokenizer.json").exists():
        sys.exit(f"{args.model_dir}/tokenizer.json not found; run scripts/fetch_models.sh")
    args.out_dir.mkdir(parents=True, exist_ok=True)

    n = strings_golden(args.model_dir, args.out_dir / "wordpiece_minilm.jsonl")
    print(f"wrote {n} texts to {args.out_dir / 'wordpiece_minilm.jsonl'}", file=sys.stderr)
    tables = probe_tables()
    if args.tables:
        write_tables(tables, ROOT / "src/embed/wordpiece.cpp")
    unicode_golden(tables, args.out_dir / "wordpiece_unicode.txt")
    print(f"wrote {args.out_dir / 'wordpiece_unicode.txt'}", file=sys.stderr)


if __name__ == "__main__":
    main()
