"""`kaito-rag eval --beir DIR`: retrieval quality as a product command."""
import json
from pathlib import Path

import pytest

from conftest import REPO, run_cli

BEIR_MINI = REPO / "tests" / "fixtures" / "beir-mini"
PUBMEDQA = REPO.parent / "shared" / "eval" / "pubmedqa-dev"


def test_eval_json_on_a_small_beir_folder(tmp_path):
    run_file = tmp_path / "run.trec"
    proc = run_cli("eval", "--beir", BEIR_MINI, "--json", "--run-file", run_file)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["mode"] == "bm25" and out["queries"] == 2 and out["documents"] == 5
    for key in ("ndcg@10", "recall@5", "recall@10", "recall@100", "mrr@10"):
        assert 0.0 <= out[key] <= 1.0
    assert out["recall@100"] == 1.0  # every judged passage shares words with its query
    lines = run_file.read_text().splitlines()
    assert lines and all(len(line.split()) == 6 and line.split()[1] == "Q0" for line in lines)


def test_eval_human_output_and_errors(tmp_path):
    proc = run_cli("eval", "--beir", BEIR_MINI)
    assert proc.returncode == 0, proc.stderr
    assert "nDCG@10" in proc.stdout and "MRR@10" in proc.stdout
    missing = run_cli("eval", "--beir", tmp_path / "nope")
    assert missing.returncode != 0 and "corpus.jsonl" in missing.stderr
    dense = run_cli("eval", "--beir", BEIR_MINI, "--mode", "dense")
    assert dense.returncode != 0 and "needs an embedding model" in dense.stderr


@pytest.mark.slow
def test_eval_pubmedqa_bm25_beats_the_plain_bm25_reference():
    if not PUBMEDQA.exists():
        pytest.skip(f"{PUBMEDQA} not present (../shared/eval is needed for this check)")
    proc = run_cli("eval", "--beir", PUBMEDQA, "--json", "--bm25-k1", "0.9", "--bm25-b", "0.4", timeout=600)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["queries"] == 500
    # ../shared/eval/README.md: plain BM25 (no stemming) scores nDCG@10 0.7722 with these parameters.
    assert out["ndcg@10"] > 0.7722, out


def test_eval_answers_through_the_model(fake_llm):
    """--answers asks every query with and without retrieval and scores the decisions."""
    proc = run_cli("eval", "--beir", BEIR_MINI, "--answers", "--json", "--llm-url", fake_llm.url,
                   "--answer-max-tokens", "32")
    assert proc.returncode == 0, proc.stderr
    answers = json.loads(proc.stdout)["answers"]
    assert answers["model"] == "fake-phi-3"
    for run in ("with_retrieval", "without_retrieval"):
        a = answers[run]
        assert a["questions"] == 2
        assert set(a["predictions"]) == {"q1", "q2"}
        assert set(a["predictions"].values()) <= {"yes", "no", "maybe", ""}
        assert 0.0 <= a["accuracy"] <= 1.0 and 0.0 <= a["macro_f1"] <= 1.0
        assert a["mean_ttft_seconds"] > 0
    # the ask path sent numbered sources; the direct path did not
    prompts = [json.dumps(r["body"]) for r in fake_llm.requests if r["path"].endswith("/chat/completions")]
    assert any("[1]" in p for p in prompts) and any("[1]" not in p for p in prompts)
