"""The ask path against a real model: llama-cpp-python's OpenAI-compatible server with
Gemma 3 270M (scripts/llm_server.sh; built and cached by its `setup`).

What is asserted is the protocol and the budget, not the wisdom of a 270M base model:
generated (not extractive) answers from the served model, streaming that matches the final
answer, sources mapped back to documents, and prompts that fit a deliberately small context
window as counted by the model's own tokenizer (llama.cpp rejects anything larger).
"""
import fcntl
import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest
import requests

from conftest import REPO, SAMPLES, free_port, parse_sse

pytestmark = pytest.mark.real_model
LLM_SCRIPT = REPO / "scripts" / "llm_server.sh"
# One real-model suite at a time on a machine: concurrent runs (other checkouts, CI jobs) would
# share the CPU cores the model's speed was measured on.
LOCK_FILE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "kaito-rag" / "llm" / "real-model-tests.lock"
# Request timeouts: this many times the measured duration of a request of the same size (answer
# tokens and a full 1024-token window), never below MIN_TIMEOUT.
SLACK = 8
MIN_TIMEOUT = 30


def _start_llm(port: int, context: int) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAITO_RAG_")}
    env["KAITO_RAG_LLM_CONTEXT"] = str(context)
    proc = subprocess.run([str(LLM_SCRIPT), "start", str(port)], capture_output=True, text=True, env=env,
                          timeout=3600)
    if proc.returncode != 0:
        pytest.fail(f"the model server did not start:\n{proc.stderr[-3000:]}")
    return proc.stdout.strip().splitlines()[-1]


def _stop_llm(port: int) -> None:
    subprocess.run([str(LLM_SCRIPT), "stop", str(port)], capture_output=True, timeout=60)


def _measure_request_seconds(url: str) -> float:
    """Wall time of one request as large as the tests' (a ~700-token prompt, 48 answer tokens)."""
    prompt = "Summarize the policy. " + "Employees receive paid vacation and parental leave. " * 70
    started = time.monotonic()
    r = requests.post(url + "/chat/completions", timeout=1800, json={
        "model": "gemma-3-270m", "max_tokens": 48, "temperature": 0,
        "messages": [{"role": "user", "content": prompt}]})
    elapsed = time.monotonic() - started
    assert r.status_code == 200, r.text[:500]
    usage = r.json()["usage"]
    print(f"\nmodel speed: {usage['prompt_tokens']} prompt + {usage['completion_tokens']} completion tokens "
          f"in {elapsed:.2f} s ({usage['completion_tokens'] / elapsed:.1f} tokens/s overall)")
    return elapsed


@pytest.fixture(scope="module")
def llm_small_context():
    """A model server of our own whose context is only 1024 tokens (any overflow is an HTTP error),
    held under a machine-wide lock; yields (url, request timeout in seconds)."""
    LOCK_FILE.parent.mkdir(parents=True, exist_ok=True)
    with open(LOCK_FILE, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        port = free_port()
        url = _start_llm(port, 1024)
        try:
            _measure_request_seconds(url)  # warm-up: the first request maps the weights
            timeout = max(MIN_TIMEOUT, SLACK * _measure_request_seconds(url))
            yield url, timeout
        finally:
            _stop_llm(port)


@pytest.fixture
def rag_server(make_server, llm_small_context):
    url, timeout = llm_small_context
    # --grounding-policy flag: these tests look at the model's own text; the default (auto: replace
    # for this base model) is checked in test_completion_style_streams_and_chat_style_stays_available.
    server = make_server(args=["--llm-url", url, "--llm-context-window", "1024", "--grounding-policy", "flag",
                               "--answer-max-tokens", "48", "--llm-timeout-seconds", str(int(timeout))])
    server.upload_ok("handbook", sorted(SAMPLES.iterdir()))
    server.timeout = timeout
    return server


def test_model_server_is_real(llm_small_context):
    url, _ = llm_small_context
    models = requests.get(url + "/models", timeout=30).json()
    assert models["data"][0]["id"] == "gemma-3-270m"


def test_generated_answer_fits_the_window_and_cites_documents(rag_server):
    # top_k 8 asks for far more source text than 1024 tokens hold: the prompt assembly
    # must drop and cut passages so that prompt + 48 answer tokens fit.
    r = rag_server.ask("handbook", "How many days of paid vacation do new employees get?", top_k=8,
                       timeout=rag_server.timeout)
    assert r.status_code == 200, r.text
    a = r.json()
    assert a["mode"] == "generative"
    assert a["model"] == "gemma-3-270m"
    assert a["answer"].strip()
    assert a["usage"]["context_window"] == 1024
    assert a["usage"]["prompt_tokens"] + a["usage"]["completion_tokens"] <= 1024
    assert 1 <= len(a["sources"]) < 8  # some retrieved passages had to be left out
    assert a["sources"][0]["document_name"] == "employee-handbook.md"
    assert [s["number"] for s in a["sources"]] == list(range(1, len(a["sources"]) + 1))


def test_streamed_answer_matches_the_final_event(rag_server):
    r = rag_server.ask("handbook", "How long is paid parental leave?", top_k=3, stream=True, timeout=rag_server.timeout)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/event-stream")
    events = parse_sse(r.text)
    names = [name for name, _ in events]
    assert names[-1] == "done", names
    streamed = "".join(data["delta"] for name, data in events if name == "token")
    final = events[-1][1]
    assert final["mode"] == "generative"
    # The final answer is the streamed one, less citation numbers that point at no source (the
    # grounding policy this fixture sets, flag, keeps every sentence).
    assert final["grounding"]["policy"] == "flag" and final["grounding"]["action"] in ("none", "flagged")
    uncited = lambda text: re.sub(r"\s*\[[0-9][0-9,; -]*\]", "", text).strip()
    assert uncited(streamed) == uncited(final["answer"])
    assert streamed.strip()
    assert any(s["document_name"] == "benefits-guide.pdf" for s in final["sources"]), final["sources"]


def test_grounding_replace_gives_a_supported_answer(make_server, llm_small_context):
    # README command 1's setting for a small base model: an answer its sources do not support is
    # replaced by the extractive one, so the answer is never worse than no model at all.
    url, timeout = llm_small_context
    server = make_server(args=["--llm-url", url, "--llm-context-window", "1024", "--answer-max-tokens", "48",
                               "--llm-timeout-seconds", str(int(timeout)), "--grounding-policy", "replace"])
    server.upload_ok("handbook", sorted(SAMPLES.iterdir()))
    r = server.ask("handbook", "How many days of paid vacation do new employees get?", top_k=3, timeout=timeout)
    assert r.status_code == 200, r.text
    a = r.json()
    g = a["grounding"]
    assert g["policy"] == "replace"
    assert g["supported"] + g["unsupported"] == len(g["sentences"]) >= 1
    for sentence in g["sentences"]:
        assert set(sentence) == {"text", "supported", "score", "source", "cited"}
        if not sentence["supported"]:
            assert sentence["source"] is None and sentence["score"] < g["threshold"]
    if g["unsupported"]:
        assert g["action"] == "replaced" and "25 days" in a["answer"] and "not supported" in a["note"]
    else:
        assert g["action"] == "none"
    cited = [s["number"] for s in a["sources"] if s["cited"]]
    assert sorted(cited) == sorted(a["citations"])


def _uncited(text: str) -> str:
    return re.sub(r"\s*\[[0-9][0-9,; -]*\]", "", text).strip()


def _longest_shared_run(answer: str, source: str) -> int:
    """The most consecutive words (case-folded, punctuation dropped) the answer shares with the source."""
    words = lambda t: re.findall(r"[a-z0-9]+", t.lower())
    a, s = words(answer), words(source)
    best, previous = 0, [0] * (len(s) + 1)
    for x in a:
        current = [0] * (len(s) + 1)
        for j, y in enumerate(s, 1):
            if x == y:
                current[j] = previous[j - 1] + 1
                best = max(best, current[j])
        previous = current
    return best


def test_base_model_gets_a_completion_prompt_and_answers_briefly(make_server, llm_small_context):
    # Default prompt style (auto): llama-cpp-python reports no chat template and "gemma-3-270m" (no "-it")
    # names a base model, so the few-shot completion prompt goes to /v1/completions. Room for 96 answer
    # tokens: the stop sequence, not the token limit, must end the answer.
    url, timeout = llm_small_context
    server = make_server(args=["--llm-url", url, "--llm-context-window", "1024", "--answer-max-tokens", "96",
                               "--llm-timeout-seconds", str(int(timeout))])
    server.upload_ok("handbook", sorted(SAMPLES.iterdir()))
    r = server.ask("handbook", "How many days of paid vacation do new employees get?", top_k=3, timeout=timeout)
    assert r.status_code == 200, r.text
    a = r.json()
    assert a["mode"] == "generative" and a["prompt_style"] == "completion", a
    assert a["finish_reason"] == "stop", a
    assert a["usage"]["prompt_tokens"] + a["usage"]["completion_tokens"] <= 1024
    answer = _uncited(a["answer"])
    assert answer and "\n" not in answer, a["answer"]
    # One or two sentences, not a page of text.
    assert len(re.findall(r"[.!?](?:\s|$)", answer)) <= 2 and len(answer.split()) <= 45, a["answer"]
    # Not a copy of its sources: no long stretch of any source's text (the chat-style failure mode).
    for source in a["sources"]:
        assert _longest_shared_run(answer, source["text"]) < 20, (a["answer"], source["text"])


def test_completion_style_streams_and_chat_style_stays_available(make_server, llm_small_context):
    url, timeout = llm_small_context
    server = make_server(args=["--llm-url", url, "--llm-context-window", "1024", "--answer-max-tokens", "48",
                               "--llm-timeout-seconds", str(int(timeout))])
    server.upload_ok("handbook", sorted(SAMPLES.iterdir()))
    r = server.ask("handbook", "How long is paid parental leave?", top_k=3, stream=True, timeout=timeout)
    assert r.status_code == 200, r.text
    events = parse_sse(r.text)
    assert events[-1][0] == "done", [name for name, _ in events]
    final = events[-1][1]
    assert final["prompt_style"] == "completion"
    streamed = "".join(data["delta"] for name, data in events if name == "token")
    if final["mode"] == "generative":
        g = final["grounding"]
        assert g["policy"] == "replace", g  # --grounding-policy auto: a base model's answer is replaced...
        if g["action"] == "replaced":  # ...when a sentence is unsupported: the extractive answer, said so
            assert g["unsupported"] >= 1 and "not supported by the sources" in final["note"], final
            assert _uncited(final["answer"]) != "" and _uncited(final["answer"]) != _uncited(streamed)
        else:
            assert g["unsupported"] == 0 and _uncited(streamed) == _uncited(final["answer"]) != ""
    else:  # the model wrote nothing: the extractive answer, said so
        assert "empty answer" in final["note"] and streamed.strip() == final["answer"].strip()

    chat = make_server(args=["--llm-url", url, "--llm-context-window", "1024", "--answer-max-tokens", "48",
                             "--llm-timeout-seconds", str(int(timeout)), "--llm-prompt-style", "chat"])
    chat.upload_ok("handbook", sorted(SAMPLES.iterdir()))
    r = chat.ask("handbook", "How long is paid parental leave?", top_k=3, timeout=timeout)
    assert r.status_code == 200, r.text
    assert r.json()["prompt_style"] == "chat"
