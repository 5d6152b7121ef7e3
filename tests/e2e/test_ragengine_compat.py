"""The RAGEngine compatibility record stays true: a fresh Kaito-RAG answers the 128 probes of
../shared/bench/ragengine_api_bench.py exactly as in the committed run (bench/ragengine_compat/kaito-rag.json,
made by bench/ragengine_compat.sh). When an answer changes on purpose, rerun bench/ragengine_compat.sh (with
RAGEngine, or --ours-only) and commit its output."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, SHARED

sys.path.insert(0, str(REPO / "bench"))
import ragengine_compat  # noqa: E402

TOOL = SHARED / "bench" / "ragengine_api_bench.py"
MODEL_CACHE = Path(os.environ.get("KAITO_RAG_MODEL_CACHE", Path.home() / ".cache" / "kaito-rag" / "models"))
MINILM = MODEL_CACHE / "all-MiniLM-L6-v2"
DEAD_LLM = "http://127.0.0.1:9/v1"  # as in bench/ragengine_compat.sh: no model server answers

pytestmark = pytest.mark.skipif(not TOOL.exists(), reason=f"no {TOOL} (needs <repo>/../shared/bench)")


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def test_fresh_run_matches_the_committed_record(make_server, tmp_path):
    assert (MINILM / "model.safetensors").exists(), f"all-MiniLM-L6-v2 not in {MODEL_CACHE}: run scripts/fetch_models.sh"
    persist = tmp_path / "persist"
    persist.mkdir()
    # fp32: the record must not depend on which reduced-precision path this CPU's self-test picks.
    server = make_server(args=["--snapshot-dir", str(persist), "--embedding-model", str(MINILM),
                               "--embedding-threads", "2", "--encoder-precision", "fp32",
                               "--llm-url", DEAD_LLM, "--llm-max-retries", "0"])
    proc = subprocess.run([sys.executable, str(TOOL), "compat", "--url", server.url, "--label", "kaito-rag",
                           "--out", str(tmp_path / "run"), "--persist-dir", str(persist)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    fresh = ragengine_compat.normalize_run(load(tmp_path / "run" / "compat.json"), str(persist))
    committed = load(ragengine_compat.OURS)["probes"]
    assert [p["name"] for p in fresh] == [p["name"] for p in committed], "the probe list changed: rerun the script"
    changed = [f"{new['name']}: committed {old['status']} {json.dumps(old['json'])[:300]}\n"
               f"    now {new['status']} {json.dumps(new['json'])[:300]}"
               for new, old in zip(fresh, committed) if new != old]
    assert not changed, ("answers differ from bench/ragengine_compat/kaito-rag.json; if on purpose, rerun "
                         "bench/ragengine_compat.sh and commit its output:\n" + "\n".join(changed))



def test_report_is_generated_from_the_committed_records():
    text, unexplained = ragengine_compat.render(load(ragengine_compat.OURS), load(ragengine_compat.THEIRS),
                                                load(ragengine_compat.REASONS))
    assert unexplained == [], f"differences without a reason in bench/ragengine_compat/reasons.json: {unexplained}"
    assert ragengine_compat.REPORT.read_text() == text, \
        "docs/ragengine-compat-diff.md is stale: run bench/ragengine_compat.py report"
