#!/usr/bin/env python3
"""The RAGEngine compatibility record: probe runs of ../shared/bench/ragengine_api_bench.py made
comparable, and docs/ragengine-compat-diff.md generated from two of them.

  ragengine_compat.py record RUN/compat.json --persist-dir DIR --label L --meta K=V... --out FILE
      normalize one run (what differs by run or by design: persist dir, ids, hashes, float scores,
      pydantic's ctx/url, timings) and keep it with how it was made
  ragengine_compat.py report --ours FILE --theirs FILE --reasons FILE --out docs/ragengine-compat-diff.md
      every probe whose status or JSON differs, with the reason from the reasons file; exits 2
      when a difference has no reason (it is still written, marked NOT EXPLAINED)

bench/ragengine_compat.sh runs both servers and calls these; tests/e2e/test_ragengine_compat.py
compares a fresh run of Kaito-RAG with the committed record (no RAGEngine needed).
"""
from __future__ import annotations

import argparse
import fnmatch
import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("KR_SHARED_DIR") or REPO.parent / "shared")
RECORD_DIR = REPO / "bench" / "ragengine_compat"
OURS = RECORD_DIR / "kaito-rag.json"
THEIRS = RECORD_DIR / "ragengine-v0.12.0.json"
REASONS = RECORD_DIR / "reasons.json"
REPORT = REPO / "docs" / "ragengine-compat-diff.md"


# The routes of KAITO RAGEngine v0.12.0 (presets/ragengine/main.py): the OpenAPI probe is compared on
# these only, so routes of our own do not count as differences.
RAGENGINE_PATHS = ["/health", "/index", "/indexes", "/indexes/{index_name}", "/indexes/{index_name}/documents",
                   "/indexes/{index_name}/documents/delete", "/load/{index_name}", "/metrics",
                   "/persist/{index_name}", "/retrieve", "/v1/chat/completions"]


def probe_tool():
    """../shared/bench/ragengine_api_bench.py as a module (it defines the probes and the normalization)."""
    sys.path.insert(0, str(SHARED / "bench"))
    import ragengine_api_bench  # noqa: PLC0415
    return ragengine_api_bench


def normalize_run(run: list[dict], persist_dir: str) -> list[dict]:
    """Status, JSON (or text) per probe, without what changes between runs of the same server."""
    tool = probe_tool()
    persist_dir = persist_dir.rstrip("/")

    def scrub(v):
        if isinstance(v, str):
            return v.replace(persist_dir, "<persist>")
        if isinstance(v, list):
            return [scrub(x) for x in v]
        if isinstance(v, dict):
            return {k: scrub(x) for k, x in v.items()}
        return v

    out = []
    for probe in run:
        answer = scrub(tool.normalize(probe["json"], []))
        if probe["name"] == "openapi" and isinstance(answer, list):
            answer = [p for p in answer if p in RAGENGINE_PATHS]  # our own routes are not part of the contract
        out.append({"name": probe["name"], "method": probe["method"], "path": scrub(probe["path"]),
                    "request": scrub(probe["body"] if probe["body"] is not None else probe["raw"]),
                    "status": probe["status"], "json": answer,
                    "text": scrub(probe["text"]) if answer is None else None})
    return out


def differences(ours: list[dict], theirs: list[dict]) -> list[tuple[dict, dict, str]]:
    """(ours, theirs, what differs) for every probe both runs made whose answers differ."""
    shape = probe_tool().shape
    by_name = {p["name"]: p for p in theirs}
    found = []
    for a in ours:
        b = by_name.get(a["name"])
        if b is None:
            continue
        notes = []
        if a["status"] != b["status"]:
            notes.append(f"status {b['status']} → {a['status']}")
        if shape(a["json"]) != shape(b["json"]):
            notes.append("shape")
        elif a["json"] != b["json"] or (a["json"] is None and a["text"] != b["text"]):
            notes.append("values")
        if notes:
            found.append((a, b, ", ".join(notes)))
    return found


def reason_for(name: str, reasons: dict[str, str]) -> str | None:
    if name in reasons:
        return reasons[name]
    for pattern, why in reasons.items():
        if any(c in pattern for c in "*?[") and fnmatch.fnmatchcase(name, pattern):
            return why
    return None


def excerpt(probe: dict, width: int = 220) -> str:
    body = json.dumps(probe["json"], ensure_ascii=False) if probe["json"] is not None else repr(probe["text"] or "")
    text = f"{probe['status']} {body}"
    return (text[:width] + " …") if len(text) > width else text


def cell(text: str) -> str:
    """Inline code in a Markdown table cell."""
    return "`" + text.replace("`", "'").replace("|", "\\|").replace("\n", " ") + "`"


def render(ours: dict, theirs: dict, reasons: dict[str, str]) -> tuple[str, list[str]]:
    """The report and the names of differences without a reason."""
    diffs = differences(ours["probes"], theirs["probes"])
    unexplained = [a["name"] for a, _, _ in diffs if reason_for(a["name"], reasons) is None]
    meta_o, meta_t = ours["meta"], theirs["meta"]
    lines = [
        "# RAGEngine compatibility: the probe diff (generated)",
        "",
        "<!-- Generated by bench/ragengine_compat.sh from bench/ragengine_compat/*.json; do not edit by hand. -->",
        "",
        f"The {len(ours['probes'])} API probes of `../shared/bench/ragengine_api_bench.py compat` were sent to "
        f"KAITO RAGEngine {meta_t.get('version', '?')} and to Kaito-RAG {meta_o.get('version', '?')} "
        f"on {meta_o.get('date', '?')}, both with {meta_o.get('embedding', '?')}. Answers are compared after "
        "normalization (run-specific persist directory, random node ids and hash values, float scores, pydantic's "
        "`ctx`/`url`); the OpenAPI probe is compared on RAGEngine's routes only.",
        "",
        f"**{len(ours['probes']) - len(diffs)} probes identical, {len(diffs)} differ** "
        f"({len(diffs) - len(unexplained)} explained, {len(unexplained)} not). "
        "The reasons below come from `bench/ragengine_compat/reasons.json`; the deliberate differences are argued "
        "in [ragengine-compatibility.md](ragengine-compatibility.md).",
        "",
        f"- RAGEngine: {meta_t.get('setup', '')}",
        f"- Kaito-RAG: {meta_o.get('setup', '')}",
        "",
        "| probe | request | RAGEngine | Kaito-RAG | differs | why |",
        "|---|---|---|---|---|---|",
    ]
    for a, b, what in diffs:
        why = reason_for(a["name"], reasons) or "**NOT EXPLAINED**"
        lines.append(f"| {a['name']} | {cell(a['method'] + ' ' + a['path'])} | {cell(excerpt(b))} | {cell(excerpt(a))} "
                     f"| {what} | {why} |")
    return "\n".join(lines) + "\n", unexplained


def cmd_record(args) -> int:
    run = json.loads(Path(args.run).read_text())
    meta = dict(kv.split("=", 1) for kv in args.meta)
    record = {"meta": meta, "probes": normalize_run(run, args.persist_dir)}
    Path(args.out).write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
    return 0


def cmd_report(args) -> int:
    ours = json.loads(Path(args.ours).read_text())
    theirs = json.loads(Path(args.theirs).read_text())
    reasons = json.loads(Path(args.reasons).read_text())
    text, unexplained = render(ours, theirs, reasons)
    Path(args.out).write_text(text)
    if unexplained:
        print("differences without a reason in " + args.reasons + ": " + ", ".join(unexplained), file=sys.stderr)
        return 2
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("record")
    r.add_argument("run")
    r.add_argument("--persist-dir", required=True)
    r.add_argument("--meta", nargs="*", default=[], help="KEY=VALUE pairs: version, date, embedding, setup")
    r.add_argument("--out", required=True)
    p = sub.add_parser("report")
    p.add_argument("--ours", default=str(OURS))
    p.add_argument("--theirs", default=str(THEIRS))
    p.add_argument("--reasons", default=str(REASONS))
    p.add_argument("--out", default=str(REPORT))
    args = ap.parse_args()
    return {"record": cmd_record, "report": cmd_report}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
