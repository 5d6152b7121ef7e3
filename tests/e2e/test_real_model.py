"""The ask path against a real model: llama-cpp-python's OpenAI-compatible server with
Gemma 3 270M (scripts/llm_server.sh; built and cached by its `setup`).

What is asserted is the protocol and the budget, not the wisdom of a 270M base model:
generated (not extractive) answers from the served model, streaming that matches the final
answer, sources mapped back to documents, and prompts that fit a deliberately small context
window as counted by the model's own tokenizer (llama.cpp rejects anything larger).
"""
import json
import os
import subprocess

import pytest
import requests

from conftest import REPO, SAMPLES, free_port, parse_sse

pytestmark = pytest.mark.real_model
LLM_SCRIPT = REPO / "scripts" / "llm_server.sh"
TIMEOUT = 900  # a 270M model on 2 busy cores can be slow


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


@pytest.fixture(scope="module")
def llm_small_context():
    """A model server whose context is only 1024 tokens: any overflow is an HTTP error."""
    port = free_port()
    url = _start_llm(port, 1024)
    yield url
    _stop_llm(port)


@pytest.fixture
def rag_server(make_server, llm_small_context):
    server = make_server(args=["--llm-url", llm_small_context, "--llm-context-window", "1024",
                               "--answer-max-tokens", "48", "--llm-timeout-seconds", "600"])
    server.upload_ok("handbook", sorted(SAMPLES.iterdir()))
    return server


def test_model_server_is_real(llm_small_context):
    models = requests.get(llm_small_context + "/models", timeout=30).json()
    assert models["data"][0]["id"] == "gemma-3-270m"


def test_generated_answer_fits_the_window_and_cites_documents(rag_server):
    # top_k 8 asks for far more source text than 1024 tokens hold: the prompt assembly
    # must drop and cut passages so that prompt + 48 answer tokens fit.
    r = rag_server.ask("handbook", "How many days of paid vacation do new employees get?", top_k=8,
                       timeout=TIMEOUT)
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
    r = rag_server.ask("handbook", "How long is paid parental leave?", top_k=3, stream=True, timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/event-stream")
    events = parse_sse(r.text)
    names = [name for name, _ in events]
    assert names[-1] == "done", names
    streamed = "".join(data["delta"] for name, data in events if name == "token")
    final = events[-1][1]
    assert final["mode"] == "generative"
    assert streamed == final["answer"]
    assert streamed.strip()
    assert any(s["document_name"] == "benefits-guide.pdf" for s in final["sources"]), final["sources"]
