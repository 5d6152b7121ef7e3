#!/usr/bin/env python3
"""Reference sentence embeddings for the C++ encoder's unit test (tests/golden/embed/).

    HF_HUB_OFFLINE=1 .venv-bench/bin/python scripts/golden/gen_embed_golden.py \
        [--model ~/.cache/kaito-rag/models/all-MiniLM-L6-v2] [--regen-texts]

Writes, under tests/golden/embed/:
  texts.jsonl                one {"text", "n_tokens", "n_tokens_full"} per line; n_tokens is the token
                             count (with [CLS]/[SEP]) after truncation to max_seq_length for the
                             no-prefix variant, n_tokens_full the count without truncation.
  <variant>.f16              raw little-endian IEEE float16, row-major [n_texts x 384], normalized
  <variant>.json             metadata (model, pooling, prefix, versions, ...)
  minilm_cls_query_config/   the two JSON files that turn the MiniLM folder into the CLS/query variant
                             (1_Pooling/config.json, config_sentence_transformers.json)

Variants (all the same MiniLM weights, via sentence-transformers):
  minilm_mean_passage   the folder as is: mean pooling + Normalize, no prefix
  minilm_cls_query      CLS pooling + Normalize, bge query instruction as the "query" prompt
  minilm_mean_e5        mean pooling + Normalize, prompt="query: " (e5 style)

texts.jsonl is built once from the repo's own sample files plus hand-written edge cases and
seeded-random recombinations, then reused (the embeddings are recomputed from it) unless
--regen-texts is given. The recipe the C++ side must copy (checked here against plain
transformers): the prompt is prepended as a plain string, prompt + text is tokenized as one
string with truncation to max_seq_length tokens ([CLS] ... [SEP], the [SEP] kept), the prompt
tokens take part in pooling, then CLS or attention-masked mean pooling and L2 normalization.
Note tokenizer.json itself carries truncation 128 / fixed padding 128: ignore those, the limit is
sentence_bert_config.json's max_seq_length (256).
"""
from __future__ import annotations

import argparse
import ast
import hashlib
import html
import json
import os
import random
import re
import shutil
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "tests" / "golden" / "embed"
DEFAULT_MODEL = Path.home() / ".cache" / "kaito-rag" / "models" / "all-MiniLM-L6-v2"
BGE_QUERY_INSTRUCTION = "Represent this sentence for searching relevant passages: "
E5_QUERY_PREFIX = "query: "
SEED = 20241127
N_TARGET = 1100          # texts in all
LONG_FRACTION = 0.12     # share of texts longer than max_seq_length tokens
MAX_BYTES = 600_000


# ----------------------------------------------------------------------------------------------
# texts
# ----------------------------------------------------------------------------------------------

def _strip_html(text: str) -> str:
    text = re.sub(r"(?is)<(script|style|nav)\b.*?</\1>", " ", text)
    text = re.sub(r"(?s)<[^>]+>", "\n", text)
    return html.unescape(text)


def _paragraphs(text: str) -> list[str]:
    paras = []
    for block in re.split(r"\n\s*\n", text):
        block = re.sub(r"[ \t]*\n[ \t]*", " ", block).strip()
        if block:
            paras.append(block)
    return paras


def _sentences(paragraph: str) -> list[str]:
    parts = re.split(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])", paragraph)
    return [p.strip() for p in parts if len(p.strip()) > 1]


def _repo_prose() -> tuple[list[str], list[str]]:
    """(paragraphs, sentences) of English prose from files already in the repo."""
    paras: list[str] = []
    files = [
        REPO / "samples" / "handbook" / "employee-handbook.md",
        REPO / "samples" / "README.md",
        REPO / "tests" / "fixtures" / "parse" / "sample.md",
        REPO / "tests" / "fixtures" / "parse" / "sample.txt",
    ]
    for f in files:
        if f.exists():
            paras += _paragraphs(f.read_text(encoding="utf-8", errors="replace"))
    for f in (REPO / "samples" / "handbook" / "it-security-policy.html", REPO / "tests" / "fixtures" / "parse" / "sample.html"):
        if f.exists():
            paras += [p for p in (l.strip() for l in _strip_html(f.read_text(encoding="utf-8", errors="replace")).splitlines()) if p]
    # The PDF/DOCX/CSV samples' text lives as string constants in samples/generate_samples.py.
    gen = REPO / "samples" / "generate_samples.py"
    if gen.exists():
        for node in ast.walk(ast.parse(gen.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                s = node.value.strip()
                if len(s) > 12 and "<" not in s and "\\" not in s and not s.startswith(("%", "/", "http://schemas")):
                    paras += _paragraphs(s)
    # Parsed-text goldens: 'page|kind|path|text' lines after the '---' header.
    for f in sorted((REPO / "tests" / "golden" / "parse").glob("*.txt")):
        body = f.read_text(encoding="utf-8", errors="replace").split("\n---\n", 1)[-1]
        for line in body.splitlines():
            fields = line.split("|", 3)
            if len(fields) == 4 and fields[3].strip():
                paras.append(fields[3].strip())
    for f in ("corpus.jsonl", "queries.jsonl"):
        p = REPO / "tests" / "fixtures" / "beir-mini" / f
        if p.exists():
            for line in p.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    d = json.loads(line)
                    paras.append(((d.get("title") or "") + " " + d["text"]).strip())
    seen, uniq = set(), []
    for p in paras:
        p = p.strip().lstrip("#>-* ").strip()
        if p and p not in seen:
            seen.add(p)
            uniq.append(p)
    sents, seen = [], set()
    for p in uniq:
        for s in _sentences(p):
            if s not in seen:
                seen.add(s)
                sents.append(s)
    return uniq, sents


def _repo_code(rng: random.Random) -> list[str]:
    """Short snippets of C++, Python and shell from the repo."""
    out = []
    for pattern in ("src/*/*.cpp", "src/*/*.h", "scripts/*.sh", "bench/*.py", "scripts/*.py"):
        for f in sorted(REPO.glob(pattern)):
            lines = f.read_text(encoding="utf-8", errors="replace").splitlines()
            if len(lines) < 8:
                continue
            for _ in range(2):
                start = rng.randrange(0, max(1, len(lines) - 8))
                snippet = "\n".join(lines[start:start + rng.randint(3, 12)]).strip("\n")
                if snippet.strip():
                    out.append(snippet)
    rng.shuffle(out)
    return out


HANDWRITTEN = [
    # empty, whitespace, punctuation only
    "", " ", "\t\n ", "\u00a0\u3000\u2003", ".", "...", "?!", "!!!???", "-- -- --", "()[]{}<>", "#$%&*@^~`|\\/",
    "…", "«»“”„‘’", "¡¿", "—–-‐", "::::::::", ".,;:!?" * 20,
    # one word
    "hello", "Hello", "HELLO", "vacation", "unaffordable", "antidisestablishmentarianism", "GPU", "Kubernetes",
    "naïve", "Straße", "İstanbul", "ΣΊΣΥΦΟΣ", "Ärger", "façade", "ﬁle", "½", "x²", "Ⅻ", "㎏", "™",
    # numbers
    "42", "3.14159265358979", "-0.000001", "1,000,000", "1.000.000,50 €", "$12.50", "50%", "2024-11-27T13:05:00Z",
    "+1 (425) 555-0100", "0x7fffffff", "1e-12", "10^9", "IPv4 192.168.0.1 and IPv6 fe80::1ff:fe23:4567:890a",
    "Order #A-1029-XZ shipped on 03/04/2025; total: 1,234.56 USD (incl. 19% VAT).",
    "The 3rd, 21st and 102nd entries were 7.5 km, 12,000 m and 0.25 mi long.",
    "π ≈ 3.14, e ≈ 2.718, √2 ≈ 1.414, ∞ > 10^100, ∑ i = n(n+1)/2",
    # URLs, e-mail, paths
    "https://example.com/path/to/page?query=hello+world&lang=en#section-2",
    "Contact people-team@contoso-robotics.example or visit http://intranet.contoso.example/hr/leave.",
    "C:\\Users\\kaito\\Documents\\report_final_v2.docx", "/var/lib/kaito-rag/collections/default/segments/000001.seg",
    "git clone git@github.com:kaito-project/kaito.git && cd kaito",
    "https://ja.wikipedia.org/wiki/%E6%9D%B1%E4%BA%AC",
    "www.very-long-domain-name-for-testing-the-tokenizer-behaviour-on-unusual-input.example.org/a/b/c/d/e/f/g.html",
    # code
    "def f(x): return x ** 2 + 1",
    "for (int i = 0; i < n; ++i) { sum += v[i]; }",
    "SELECT id, title FROM documents WHERE score > 0.5 ORDER BY score DESC LIMIT 10;",
    '{"name": "kaito-rag", "version": "0.1.0", "tags": ["rag", "bm25"], "enabled": true}',
    "kubectl apply -f deploy/kaito-rag.yaml --namespace rag && kubectl get pods -w",
    "std::vector<std::pair<std::string, float>> results; results.reserve(top_k);",
    "<div class=\"note\"><p>Hello&nbsp;world &amp; friends</p></div>",
    "| Name | Value |\n|------|-------|\n| a | 1 |",
    "```python\nimport numpy as np\nprint(np.arange(10).sum())\n```",
    "x = [i for i in range(10) if i % 2 == 0]  # even numbers",
    "$ curl -s -X POST localhost:8080/v1/query -H 'Content-Type: application/json' -d '{\"query\":\"vacation\"}'",
    # accents / European languages
    "Crème brûlée, jalapeño, smörgåsbord and piña colada à la carte.",
    "Der Bär aß Würstchen in der Größe eines Fußballs.",
    "L'élève a déjà réussi l'examen de français à Besançon.",
    "Ångström, Øresund, Æsir, Þórr, ðæt, Łódź, Čeština, Ğ, ş, ı, İ",
    "ÀÁÂÃÄÅ àáâãäå ÈÉÊË èéêë ÌÍÎÏ ìíîï ÒÓÔÕÖ òóôõö ÙÚÛÜ ùúûü Ñ ñ Ç ç",
    "Combining: e\u0301 a\u0300 o\u0308 n\u0303 (decomposed) vs é à ö ñ (precomposed)",
    "Ελληνικά: Η γρήγορη καφέ αλεπού πηδάει πάνω από τον τεμπέλη σκύλο.",
    "Русский текст: Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "Українська: Чуєш їх, доцю, га? Кумедна ж ти, прощайся без ґольфів!",
    # CJK and other scripts
    "東京は日本の首都です。",
    "我们的办公室在东京、西雅图和慕尼黑。",
    "員工每年享有二十五天的帶薪假期。",
    "ひらがなとカタカナとカンジ",
    "ロボットの安全性は最優先です。",
    "한국어 문장은 자모로 분해될 수 있습니다.",
    "العربية: مرحبا بالعالم",
    "עברית: שלום עולם",
    "हिन्दी: नमस्ते दुनिया",
    "ภาษาไทย: สวัสดีชาวโลก",
    "Tiếng Việt: Xin chào thế giới, tôi yêu tiếng Việt.",
    "ქართული ენა", "Հայերեն", "አማርኛ", "ᚠᚢᚦᚨᚱᚲ", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕸𝖆𝖙𝖍", "𐍈𐌰𐌿𐍂𐌾𐌰",
    # mixed scripts
    "Meeting with 田中さん at the München office about the Ω-robot (версия 2.0) — ok?",
    "The word 'robot' is ロボット in Japanese, 机器人 in Chinese and 로봇 in Korean.",
    "Price: ¥9,000 / €55 / $60 per day; 東京 hotel cap JPY 28,000.",
    "Mixed RTL: the word שלום means peace, and سلام too.",
    # emoji
    "👍", "🚀🚀🚀", "I love this robot 🤖❤️!", "Family: 👨‍👩‍👧‍👦, flags: 🇩🇪🇯🇵🇺🇸, skin tone: 👋🏽",
    "Status: ✅ done, ❌ failed, ⚠️ warning, ⏳ pending",
    # whitespace oddities
    "  leading and trailing spaces  ", "tabs\tbetween\twords", "new\nlines\nbetween\nwords",
    "windows\r\nline\r\nendings", "many     spaces      between   words", "zero\u200bwidth\u200bspace",
    "non\u00a0breaking\u00a0space", "ideographic\u3000space", "soft\u00adhyphen", "line\u2028separator",
    "word\u200d joiner\u2060 and BOM\ufeff inside", "\n\n\nstarts with newlines", "ends with newlines\n\n\n",
    "control\u0007chars\u001bhere\u0000too", "replacement \ufffd char", "vertical\u000btab and form\u000cfeed",
    # long single tokens
    "a" * 120, "x" * 99 + " " + "y" * 101,
    "Supercalifragilisticexpialidocious" * 4,
    "aGVsbG8gd29ybGQhIFRoaXMgaXMgYSBiYXNlNjQgZW5jb2RlZCBzdHJpbmcgZm9yIHRlc3RpbmcgdGhlIHRva2VuaXplci4gSXQgaXMgbG9uZw==",
    "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    # casing / style
    "WHAT IS THE MINIMUM PASSWORD LENGTH?", "what is the minimum password length", "WhAt Is ThE mInImUm PaSsWoRd LeNgTh?",
    "how many vacation days do new employees get",
    "Q: How long is paid parental leave?\nA: 20 weeks, fully paid.",
    "tl;dr: lgtm, ship it asap (imo) — fyi, eta is eod.",
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore.",
    "The quick brown fox jumps over the lazy dog.",
    "Hmm... well -- I don't know; maybe?! (Or not.)",
    "\"Quoted 'nested' text\" and `backticks` and 'single quotes'.",
    "Dr. Smith, Ph.D., met Mr. O'Neil at 5 p.m. in St. Louis, Mo., U.S.A.",
    "can't won't shouldn't y'all'd've",
    "e-mail, e‑mail (non-breaking hyphen), email",
]


def build_texts(tokenizer, max_len: int) -> list[str]:
    rng = random.Random(SEED)
    paras, sents = _repo_prose()
    code = _repo_code(rng)
    ntok = lambda t: len(tokenizer(t, add_special_tokens=True, truncation=False)["input_ids"])  # noqa: E731

    texts: list[str] = []
    texts += HANDWRITTEN
    # single words drawn from the prose
    words = sorted({w for s in sents for w in re.findall(r"[A-Za-z][A-Za-z'-]+", s)})
    texts += rng.sample(words, min(60, len(words)))
    # 2-3 word fragments
    for _ in range(40):
        s = rng.choice(sents).split()
        i = rng.randrange(len(s))
        texts.append(" ".join(s[i:i + rng.randint(2, 3)]))
    # repo sentences and paragraphs as they are
    texts += sents[:320]
    texts += [p for p in paras if len(p) > 120][:80]
    # code snippets
    texts += code[:60]
    # noisy variants of sentences
    for s in rng.sample(sents, min(60, len(sents))):
        kind = rng.randrange(5)
        if kind == 0:
            texts.append(s.upper())
        elif kind == 1:
            texts.append(s.lower().rstrip(".!?"))
        elif kind == 2:
            texts.append(re.sub(r" ", lambda _: " " * rng.randint(1, 4), s))
        elif kind == 3:  # one adjacent-character swap per word of 6+ letters (typos)
            texts.append(" ".join(w[:2] + w[3] + w[2] + w[4:] if len(w) >= 6 else w for w in s.split()))
        else:
            texts.append("\n".join(s.split(", ")))
    long_target = int(N_TARGET * LONG_FRACTION)
    # seeded recombinations of 2-8 sentences (short and medium)
    n_short = N_TARGET - long_target - 30 - 22
    while len(dict.fromkeys(texts)) < n_short:
        k = rng.randint(2, 8)
        sep = rng.choice([" ", " ", " ", "\n", "\n\n", " — "])
        texts.append(sep.join(rng.sample(sents, k)))
    # medium: 8-14 sentences (about 150-300 tokens)
    for _ in range(30):
        texts.append(" ".join(rng.sample(sents, rng.randint(8, 14))))
    # exactly at the truncation edges: max_len-6 .. max_len+6 and 508 .. 516 tokens ([CLS]/[SEP] included)
    for target in list(range(max_len - 6, max_len + 7)) + list(range(508, 517)):
        for _ in range(50):
            parts: list[str] = []
            while ntok(" ".join(parts)) < target + 5:
                parts.append(rng.choice(sents))
            words = " ".join(parts).split(" ")
            while len(words) > 1 and ntok(" ".join(words)) > target:
                words.pop()
            if ntok(" ".join(words)) == target:
                texts.append(" ".join(words))
                break
    texts = list(dict.fromkeys(texts))
    # long texts: past max_len tokens, 260 up to ~1000 tokens (a few past 512 position embeddings)
    longs = []
    while len(longs) < long_target:
        goal = rng.choice([270, 300, 350, 400, 450, 500, 600, 700])
        style = rng.randrange(4)
        parts: list[str] = []
        text = ""
        while ntok(text) < goal:
            if style == 0:
                parts.append(rng.choice(sents))
                text = " ".join(parts)
            elif style == 1:
                parts.append(rng.choice(paras))
                text = "\n\n".join(parts)
            elif style == 2:
                parts.append("- " + rng.choice(sents))
                text = "\n".join(parts)
            else:
                parts.append(rng.choice(sents + code[:20] + HANDWRITTEN[60:]))
                text = "\n".join(parts)
        if text not in longs:
            longs.append(text)
    texts += longs
    texts = list(dict.fromkeys(texts))
    return texts


def _jsonl_line(obj: dict) -> str:
    line = json.dumps(obj, ensure_ascii=False)
    # Keep every record on one physical line even for readers that split on Unicode line breaks.
    for ch in ("\u2028", "\u2029", "\u0085"):
        line = line.replace(ch, "\\u%04x" % ord(ch))
    return line


def write_texts(path: Path, texts: list[str], n_tokens: list[int], n_full: list[int]) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as f:
        for t, n, nf in zip(texts, n_tokens, n_full):
            f.write(_jsonl_line({"text": t, "n_tokens": n, "n_tokens_full": nf}) + "\n")


def read_texts(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="\n") as f:
        return [json.loads(line)["text"] for line in f if line.strip()]


# ----------------------------------------------------------------------------------------------
# embeddings
# ----------------------------------------------------------------------------------------------

def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def make_cls_query_folder(model_dir: Path, tmp: Path) -> Path:
    dst = tmp / "minilm_cls_query"
    shutil.copytree(model_dir, dst)
    pooling = json.loads((dst / "1_Pooling" / "config.json").read_text())
    pooling.update(pooling_mode_cls_token=True, pooling_mode_mean_tokens=False,
                   pooling_mode_max_tokens=False, pooling_mode_mean_sqrt_len_tokens=False)
    (dst / "1_Pooling" / "config.json").write_text(json.dumps(pooling, indent=2) + "\n")
    st_cfg_path = dst / "config_sentence_transformers.json"
    st_cfg = json.loads(st_cfg_path.read_text()) if st_cfg_path.exists() else {}
    st_cfg["prompts"] = {"query": BGE_QUERY_INSTRUCTION, "passage": ""}
    st_cfg["default_prompt_name"] = None
    st_cfg_path.write_text(json.dumps(st_cfg, indent=2) + "\n")
    return dst


def pooling_name(model) -> str:
    for m in model:
        if type(m).__name__ == "Pooling":
            cfg = m.get_config_dict()
            if "pooling_mode" in cfg:  # sentence-transformers >= 6
                mode = cfg["pooling_mode"]
                return mode if isinstance(mode, str) else ",".join(mode)
            return ",".join(k.replace("pooling_mode_", "").replace("_tokens", "").replace("_token", "")
                            for k, v in cfg.items() if k.startswith("pooling_mode_") and v is True)
    return "?"


def manual_embeddings(model_dir: Path, texts: list[str], prefix: str, pooling: str, max_len: int):
    """The recipe the C++ encoder implements, with plain transformers: prefix + text, tokenize with
    truncation to max_len, BERT, CLS or attention-masked mean pooling, L2 normalization."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(model_dir))
    bert = AutoModel.from_pretrained(str(model_dir)).eval()
    out = []
    with torch.inference_mode():
        for t in texts:
            enc = tok([prefix + t], truncation=True, max_length=max_len, return_tensors="pt")
            hidden = bert(**enc).last_hidden_state[0]
            v = hidden[0] if pooling == "cls" else hidden.mean(dim=0)
            out.append(torch.nn.functional.normalize(v, dim=0).numpy())
    return np.stack(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--regen-texts", action="store_true", help="rebuild texts.jsonl even if it exists")
    p.add_argument("--batch-size", type=int, default=32)
    args = p.parse_args()
    if not (args.model / "model.safetensors").exists():
        sys.exit(f"no model at {args.model}: run scripts/fetch_models.sh")

    import sentence_transformers
    import torch
    import transformers
    from sentence_transformers import SentenceTransformer

    torch.manual_seed(0)
    args.out.mkdir(parents=True, exist_ok=True)
    base = SentenceTransformer(str(args.model), device="cpu")
    max_len = base.max_seq_length
    tok = base.tokenizer

    texts_path = args.out / "texts.jsonl"
    if args.regen_texts or not texts_path.exists():
        texts = build_texts(tok, max_len)
        print(f"built {len(texts)} texts")
    else:
        texts = read_texts(texts_path)
        print(f"reusing {len(texts)} texts from {texts_path}")

    # Token counts as sentence-transformers sees them (no truncation / truncated to max_seq_length).
    n_full = [len(tok(t, add_special_tokens=True, truncation=False)["input_ids"]) for t in texts]
    st_feats = base.tokenize(texts)
    n_tokens = [int(x) for x in st_feats["attention_mask"].sum(dim=1)]
    assert all(n == min(f, max_len) for n, f in zip(n_tokens, n_full)), "token count mismatch"
    write_texts(texts_path, texts, n_tokens, n_full)

    tmp = Path(tempfile.mkdtemp(prefix="kr-golden-"))
    try:
        cls_dir = make_cls_query_folder(args.model, tmp)
        cfg_out = args.out / "minilm_cls_query_config"
        (cfg_out / "1_Pooling").mkdir(parents=True, exist_ok=True)
        shutil.copy(cls_dir / "1_Pooling" / "config.json", cfg_out / "1_Pooling" / "config.json")
        shutil.copy(cls_dir / "config_sentence_transformers.json", cfg_out / "config_sentence_transformers.json")
        cls_model = SentenceTransformer(str(cls_dir), device="cpu")

        variants = [
            ("minilm_mean_passage", base, {}, "", "none"),
            ("minilm_cls_query", cls_model, {"prompt_name": "query"}, BGE_QUERY_INSTRUCTION,
             "prompt_name='query' from config_sentence_transformers.json"),
            ("minilm_mean_e5", base, {"prompt": E5_QUERY_PREFIX}, E5_QUERY_PREFIX, "prompt='query: '"),
        ]
        safetensors_sha = sha256_file(args.model / "model.safetensors")
        summary = []
        for name, model, kwargs, prefix, how in variants:
            emb = model.encode(texts, batch_size=args.batch_size, normalize_embeddings=True,
                               convert_to_numpy=True, show_progress_bar=False, **kwargs).astype(np.float32)
            assert emb.shape == (len(texts), 384), emb.shape
            # Padding noise: the same texts one at a time vs in batches.
            sub = list(range(0, len(texts), max(1, len(texts) // 64)))
            single = np.stack([model.encode([texts[i]], batch_size=1, normalize_embeddings=True,
                                            convert_to_numpy=True, show_progress_bar=False, **kwargs)[0] for i in sub])
            batch_cos = float(np.min(np.sum(single * emb[sub], axis=1)))
            # Independent check of pooling and prefix handling: plain transformers, one text at a time.
            manual = manual_embeddings(args.model, [texts[i] for i in sub], prefix, pooling_name(model),
                                       model.max_seq_length)
            manual_cos = float(np.min(np.sum(manual * emb[sub], axis=1)))
            assert manual_cos > 0.9999, f"{name}: sentence-transformers vs manual recipe, min cosine {manual_cos}"
            half = emb.astype("<f2")
            half.tofile(args.out / f"{name}.f16")
            back = half.astype(np.float32)
            f16_cos = float(np.min(np.sum(back * emb, axis=1) / np.linalg.norm(back, axis=1)))
            meta = {
                "model": args.model.name,
                "model_safetensors_sha256": safetensors_sha,
                "variant": name,
                "n": len(texts),
                "dim": int(emb.shape[1]),
                "dtype": "f16",
                "layout": "row-major [n x dim], little-endian IEEE binary16, L2-normalized rows",
                "sentence_transformers": sentence_transformers.__version__,
                "transformers": transformers.__version__,
                "torch": torch.__version__,
                "pooling": pooling_name(model),
                "normalize": True,
                "prefix": prefix,
                "prefix_how": how,
                "max_seq_length": model.max_seq_length,
                "truncation": "prefix + text tokenized as one string, truncated to max_seq_length tokens incl. [CLS]/[SEP] ([SEP] kept last)",
                "texts": "texts.jsonl",
                "texts_sha256": sha256_file(texts_path),
                "batch_size": args.batch_size,
                "min_cos_batch_vs_single": batch_cos,
                "min_cos_vs_manual_transformers": manual_cos,
                "min_cos_f16_vs_f32": f16_cos,
            }
            if name == "minilm_cls_query":
                meta["config_dir"] = "minilm_cls_query_config"
            (args.out / f"{name}.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
            summary.append((name, meta["pooling"], prefix, batch_cos, manual_cos, f16_cos))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    n = len(texts)
    trunc = sum(f > max_len for f in n_full)
    size = texts_path.stat().st_size
    print(f"\n{n} texts, texts.jsonl {size / 1000:.0f} KB, tokens (untruncated) min {min(n_full)} median "
          f"{sorted(n_full)[n // 2]} max {max(n_full)}; {trunc} ({100 * trunc / n:.1f}%) exceed max_seq_length={max_len}, "
          f"{sum(f > 512 for f in n_full)} exceed 512")
    print(f"sentence-transformers {sentence_transformers.__version__}, transformers {transformers.__version__}, "
          f"torch {torch.__version__}\n")
    print("| variant | pooling | prefix | min cos batch vs single | min cos vs plain transformers | min cos f16 vs f32 |")
    print("|---|---|---|---|---|---|")
    for name, pool, prefix, bc, mc, fc in summary:
        print(f"| {name} | {pool} | {prefix!r} | {bc:.7f} | {mc:.7f} | {fc:.8f} |")
    if trunc < 0.10 * n or n < 1000 or size > MAX_BYTES:
        sys.exit(f"texts.jsonl out of spec: n={n}, truncated={trunc}, bytes={size}")


if __name__ == "__main__":
    main()
