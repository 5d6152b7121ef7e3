"""Search and ask: citations, filters, extractive and generative (fake LLM) answers, streaming."""
import json
import re
import socket
import threading
import time

import pytest
import requests

from conftest import SAMPLE_QUESTIONS, SAMPLES, assert_error_body, free_port, parse_sse
from fake_llm import FakeLLM, count_tokens

CITATION_FIELDS = {"document", "page_start", "page_end", "heading_path", "char_begin", "char_end"}
VACATION = SAMPLE_QUESTIONS[0][0]


def assert_hit_shape(hit):
    assert {"chunk_id", "doc_id", "document_name", "score", "text", "snippet", "citation", "metadata"} <= hit.keys()
    assert isinstance(hit["score"], (int, float)) and hit["score"] > 0
    assert hit["snippet"] and hit["text"]
    c = hit["citation"]
    assert CITATION_FIELDS <= c.keys(), c
    assert c["document"] == hit["document_name"]
    assert isinstance(c["heading_path"], list)
    assert 0 <= c["char_begin"] < c["char_end"]
    assert c["page_start"] <= c["page_end"]
    assert hit["chunk_id"].startswith(hit["doc_id"])


# -- search ---------------------------------------------------------------------------------------

def test_search_results_have_scores_snippets_and_citations(handbook_server):
    body = handbook_server.search("handbook", "vacation days carried over", top_k=5)
    assert body["query"] == "vacation days carried over"
    assert isinstance(body["took_ms"], (int, float))
    results = body["results"]
    assert 1 <= len(results) <= 5
    for hit in results:
        assert_hit_shape(hit)
    scores = [h["score"] for h in results]
    assert scores == sorted(scores, reverse=True)
    assert len({h["chunk_id"] for h in results}) == len(results)


@pytest.mark.parametrize("question,answer,source,page", SAMPLE_QUESTIONS, ids=[f"q{i + 1}" for i in range(7)])
def test_sample_question_retrieves_its_source(handbook_server, question, answer, source, page):
    hits = handbook_server.search("handbook", question, top_k=3)["results"]
    matching = [h for h in hits if h["document_name"] == source and answer in h["text"]]
    assert matching, f"{source} with {answer!r} not in top 3: {[h['document_name'] for h in hits]}"
    if page is not None:
        assert any(h["citation"]["page_start"] <= page <= h["citation"]["page_end"] for h in matching), matching


def test_parental_leave_cites_pdf_page_2(handbook_server):
    top = handbook_server.search("handbook", "How long is paid parental leave?", top_k=3)["results"][0]
    assert top["document_name"] == "benefits-guide.pdf"
    assert top["citation"]["page_start"] <= 2 <= top["citation"]["page_end"]
    assert "20 weeks" in top["text"]
    assert top["metadata"] == {"team": "hr"}


def test_search_metadata_filter(handbook_server):
    q = "How long is paid parental leave?"
    unfiltered = handbook_server.search("handbook", q, top_k=20)["results"]
    assert "benefits-guide.pdf" in {h["document_name"] for h in unfiltered}
    excluded = handbook_server.search("handbook", q, top_k=20, filter={"team": "it"})["results"]
    assert "benefits-guide.pdf" not in {h["document_name"] for h in excluded}
    assert all(h["metadata"]["team"] == "it" for h in excluded)
    hr = handbook_server.search("handbook", q, top_k=20, filter={"team": "hr"})["results"]
    assert hr and hr[0]["document_name"] == "benefits-guide.pdf"
    assert {h["metadata"]["team"] for h in hr} == {"hr"}
    several = handbook_server.search("handbook", q, top_k=20, filter={"team": ["it", "finance"]})["results"]
    assert {h["metadata"]["team"] for h in several} <= {"it", "finance"}
    none = handbook_server.search("handbook", q, top_k=20, filter={"team": "nobody"})["results"]
    assert none == []
    missing_key = handbook_server.search("handbook", q, filter={"region": "emea"})["results"]
    assert missing_key == []


@pytest.mark.parametrize("top_k", [1, 2, 5, 1000])
def test_top_k_bounds_results(handbook_server, top_k):
    results = handbook_server.search("handbook", "employees leave policy days", top_k=top_k)["results"]
    assert 1 <= len(results) <= top_k
    if top_k == 1000:
        assert len(results) > 5


@pytest.mark.parametrize("top_k", [0, -1, 1001, 10 ** 12, "3", 2.5, True])
def test_bad_top_k_is_400(handbook_server, top_k):
    r = handbook_server.post("/v1/collections/handbook/search", json={"query": "vacation", "top_k": top_k})
    body = assert_error_body(r, 400, "invalid_argument")
    assert "top_k" in body["error"]["message"]


@pytest.mark.parametrize("payload", [{"query": ""}, {"query": "   \n\t"}, {}, {"query": None}, {"query": 5},
                                     {"question": "vacation"}])
def test_empty_or_missing_query_is_400(handbook_server, payload):
    r = handbook_server.post("/v1/collections/handbook/search", json=payload)
    body = assert_error_body(r, 400, "invalid_argument")
    assert "query" in body["error"]["message"]


def test_overlong_query_is_400(handbook_server):
    r = handbook_server.post("/v1/collections/handbook/search", json={"query": "vacation " * 2000})
    assert_error_body(r, 400, "invalid_argument")


def test_stop_words_only_query_returns_no_results(handbook_server):
    assert handbook_server.search("handbook", "the of and")["results"] == []


def test_bad_filter_is_400(handbook_server):
    for f in ("team=hr", ["hr"], 3):
        r = handbook_server.post("/v1/collections/handbook/search", json={"query": "vacation", "filter": f})
        body = assert_error_body(r, 400, "invalid_argument")
        assert "filter" in body["error"]["message"]


# -- ask without a model (extractive) -----------------------------------------------------------

def assert_numbered_sources(answer):
    numbers = [s["number"] for s in answer["sources"]]
    assert numbers == list(range(1, len(numbers) + 1)), numbers
    for s in answer["sources"]:
        assert_hit_shape(s)
        assert isinstance(s["cited"], bool)
    for n in answer["citations"]:
        assert 1 <= n <= len(answer["sources"]), answer["citations"]
        assert answer["sources"][n - 1]["cited"] is True
        assert f"[{n}]" in answer["answer"]


def test_ask_extractive_answers_sample_question_1(handbook_server):
    r = handbook_server.ask("handbook", VACATION)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["mode"] == "extractive"
    assert "25 days" in answer["answer"]
    assert answer["note"]
    assert answer["sources"] and answer["citations"]
    assert_numbered_sources(answer)
    first_cited = answer["sources"][answer["citations"][0] - 1]
    assert first_cited["document_name"] == "employee-handbook.md"
    assert "Vacation and leave" in first_cited["citation"]["heading_path"]


def test_ask_extractive_stream(handbook_server):
    r = handbook_server.ask("handbook", VACATION, stream=True)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/event-stream")
    events = parse_sse(r.text)
    tokens = [d["delta"] for e, d in events if e == "token"]
    done = [d for e, d in events if e == "done"]
    assert len(done) == 1 and events[-1][0] == "done"
    assert "".join(tokens) == done[0]["answer"]
    assert "25 days" in done[0]["answer"]
    assert done[0]["mode"] == "extractive"
    assert_numbered_sources(done[0])


def test_ask_without_matches_says_so(handbook_server):
    answer = handbook_server.ask("handbook", "zyzzyva quuxification").json()
    assert answer["sources"] == [] and answer["citations"] == []
    assert "could not find" in answer["answer"]


def test_ask_with_filter(handbook_server):
    answer = handbook_server.ask("handbook", VACATION, filter={"team": "it"}).json()
    assert all(s["metadata"]["team"] == "it" for s in answer["sources"])
    assert "25 days" not in answer["answer"]


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("payload", [{"question": ""}, {"question": "  "}, {}, {"question": ["x"]}])
def test_bad_question_is_400(handbook_server, payload, stream):
    r = handbook_server.post("/v1/collections/handbook/ask", json={**payload, "stream": stream})
    body = assert_error_body(r, 400, "invalid_argument")
    assert "question" in body["error"]["message"]


def test_ask_stream_flag_must_be_boolean(handbook_server):
    r = handbook_server.post("/v1/collections/handbook/ask", json={"question": VACATION, "stream": "yes"})
    body = assert_error_body(r, 400, "invalid_argument")
    assert "stream" in body["error"]["message"]


@pytest.mark.parametrize("stream", [False, True])
def test_ask_unknown_collection_is_404(handbook_server, stream):
    r = handbook_server.post("/v1/collections/nope/ask", json={"question": VACATION, "stream": stream})
    assert_error_body(r, 404, "not_found")


# -- ask with the fake model (generative) --------------------------------------------------------

@pytest.fixture
def llm_server(make_server):
    """Starts a fake LLM and a server using it, with the handbook ingested: start(**fake_kwargs, args=[...])."""
    fakes = []

    def start(args=(), **fake_kwargs):
        fake = FakeLLM(**fake_kwargs).start()
        fakes.append(fake)
        s = make_server(args=["--llm-url", fake.url, "--llm-max-retries", "1", *args])
        s.upload_ok("handbook", sorted(SAMPLES.iterdir()))
        return s, fake

    yield start
    for f in fakes:
        f.stop()


def user_message(chat_request):
    return [m for m in chat_request["body"]["messages"] if m["role"] == "user"][-1]["content"]


def prompt_source_numbers(chat_request):
    return [int(n) for n in re.findall(r"^\[(\d+)\]", user_message(chat_request), re.M)]


def assert_prompt_fits(chat_request, max_model_len):
    body = chat_request["body"]
    tokens = count_tokens(messages=body["messages"])
    assert tokens + body["max_tokens"] <= max_model_len, (tokens, body["max_tokens"], max_model_len)
    return tokens


def test_ask_generative_with_fake_llm(llm_server):
    server, fake = llm_server()
    r = server.ask("handbook", VACATION)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["mode"] == "generative"
    assert answer["model"] == "fake-phi-3"
    assert "25 days" in answer["answer"]
    assert answer["citations"] == [1]
    assert_numbered_sources(answer)
    assert answer["sources"][0]["document_name"] == "employee-handbook.md"
    assert [s["cited"] for s in answer["sources"]] == [True] + [False] * (len(answer["sources"]) - 1)

    chats = fake.chat_requests()
    assert len(chats) == 1
    chat = chats[0]
    assert chat["body"]["model"] == "fake-phi-3"
    assert chat["body"].get("stream") is False
    tokens = assert_prompt_fits(chat, 4096)
    user = user_message(chat)
    assert user.rstrip().endswith("Question: " + VACATION)
    assert prompt_source_numbers(chat) == list(range(1, len(answer["sources"]) + 1))
    for s in answer["sources"]:
        assert f"[{s['number']}] ({s['document_name']}" in user
    assert answer["usage"]["context_window"] == 4096
    assert answer["usage"]["prompt_tokens"] == tokens
    # The server counted the prompt with the model's own /tokenize.
    assert any(r["path"] == "/tokenize" for r in fake.requests)


def test_ask_generative_small_context_uses_fewer_sources(llm_server):
    big, big_fake = llm_server()
    small, small_fake = llm_server(max_model_len=700)
    question = "How many days a week may I work remotely?"
    full = big.ask("handbook", question).json()
    cut = small.ask("handbook", question).json()
    assert full["mode"] == cut["mode"] == "generative"
    assert 1 <= len(cut["sources"]) < len(full["sources"]), (len(cut["sources"]), len(full["sources"]))
    assert cut["usage"]["context_window"] == 700
    chat = small_fake.chat_requests()[-1]
    assert_prompt_fits(chat, 700)
    assert prompt_source_numbers(chat) == list(range(1, len(cut["sources"]) + 1))
    assert "three days" in cut["answer"]
    assert_numbered_sources(cut)


def test_ask_question_too_long_for_model_is_413(llm_server):
    server, fake = llm_server(max_model_len=700)
    question = "What does the handbook say about vacation? " + "Please explain in detail. " * 100
    body = assert_error_body(server.ask("handbook", question), 413, "resource_exhausted")
    assert "too long" in body["error"]["message"]
    assert fake.chat_requests() == []


def test_ask_generative_stream(llm_server):
    server, fake = llm_server()
    r = server.ask("handbook", "How long is paid parental leave?", stream=True)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/event-stream")
    events = parse_sse(r.text)
    names = [e for e, _ in events]
    assert names[-1] == "done" and names.count("done") == 1 and "error" not in names
    tokens = [d["delta"] for e, d in events if e == "token"]
    assert len(tokens) > 3  # streamed in pieces, not in one block
    done = events[-1][1]
    assert "".join(tokens) == done["answer"]
    assert "20 weeks" in done["answer"]
    assert done["mode"] == "generative" and done["model"] == "fake-phi-3"
    assert done["sources"] and done["citations"]
    assert_numbered_sources(done)
    assert done["sources"][done["citations"][0] - 1]["document_name"] == "benefits-guide.pdf"
    chat = fake.chat_requests()[-1]
    assert chat["body"]["stream"] is True
    assert_prompt_fits(chat, 4096)


def test_llm_api_key_is_sent_to_the_model(llm_server):
    server, fake = llm_server(args=["--llm-api-key", "sk-test-123"])
    assert server.ask("handbook", VACATION).status_code == 200
    auth = {r["headers"].get("Authorization") for r in fake.requests}
    assert auth == {"Bearer sk-test-123"}


def assert_llm_down(server, fake=None):
    r = server.ask("handbook", VACATION)
    body = assert_error_body(r, 503, "unavailable")
    assert "language model" in body["error"]["message"]
    s = server.ask("handbook", VACATION, stream=True)
    assert s.status_code == 200
    assert s.headers["Content-Type"].startswith("text/event-stream")
    events = parse_sse(s.text)
    assert events and events[-1][0] == "error", events
    err = events[-1][1]["error"]
    assert err["code"] == "unavailable" and "language model" in err["message"] and err["status"] == 503
    assert "done" not in [e for e, _ in events]
    # Search does not need the model.
    assert server.search("handbook", VACATION)["results"]
    assert server.get("/readyz").status_code == 200


def test_llm_returning_503_gives_503_and_stream_error(llm_server):
    server, fake = llm_server(mode="fail503")
    assert_llm_down(server, fake)


def test_llm_failing_only_on_chat_gives_503(llm_server):
    server, fake = llm_server(mode="chat503")
    assert_llm_down(server, fake)
    assert len(fake.chat_requests()) >= 2  # retried


def test_llm_on_closed_port_gives_503(make_server):
    server = make_server(args=["--llm-url", f"http://127.0.0.1:{free_port()}/v1", "--llm-max-retries", "0"])
    server.upload_ok("handbook", sorted(SAMPLES.iterdir()))
    assert_llm_down(server)


def test_llm_recovers_after_outage(llm_server):
    server, fake = llm_server(mode="fail503")
    assert server.ask("handbook", VACATION).status_code == 503
    fake.set_mode("ok")
    r = server.ask("handbook", VACATION)
    assert r.status_code == 200, r.text
    assert r.json()["mode"] == "generative"


def test_client_disconnect_cancels_the_model_stream(llm_server):
    server, fake = llm_server(stream_delay=0.05, chunk_chars=1)
    body = json.dumps({"question": VACATION, "stream": True}).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(b"POST /v1/collections/handbook/ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        received = b""
        while b"event: token" not in received:
            chunk = sock.recv(4096)
            assert chunk, received
            received += chunk
        assert received.startswith(b"HTTP/1.1 200")
    # the socket is closed: the client hung up mid-answer
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not (fake.stream_events and
                                               (fake.stream_events[0]["aborted"] or fake.stream_events[0]["finished"])):
        time.sleep(0.05)
    ev = fake.stream_events[0]
    assert ev["aborted"], f"the model stream was not cancelled after the client hung up: {ev}"
    assert ev["chunks_sent"] < ev["chunks_total"]
    assert server.healthy()
    assert server.ask("handbook", VACATION).status_code == 200


# -- declining when the documents do not hold the answer (issue 10) -------------------------------

def test_unanswerable_question_is_declined_with_closest_sources(handbook_server):
    for stream in (False, True):
        r = handbook_server.ask("handbook", "How much is the annual bonus for engineers?", stream=stream)
        assert r.status_code == 200, r.text
        answer = [d for e, d in parse_sse(r.text) if e == "done"][0] if stream else r.json()
        assert answer["answer"] == "I could not find this in your documents."
        assert answer["answerable"] is False
        check = answer["answerability"]
        assert check["answerable"] is False and check["score"] < check["threshold"] == 0.5
        assert answer["citations"] == [] and answer["sources"]
        assert not any(s["cited"] for s in answer["sources"])


def test_answerable_question_reports_its_score(handbook_server):
    answer = handbook_server.ask("handbook", VACATION).json()
    assert answer["answerable"] is True
    assert answer["answerability"]["score"] >= answer["answerability"]["threshold"]
    assert "25 days" in answer["answer"]


def test_collection_threshold_overrides_the_server_one(make_server):
    server = make_server()
    assert server.create_collection("strict", answer_threshold=1.0)["settings"]["answer_threshold"] == 1.0
    server.upload_ok("strict", [SAMPLES / "employee-handbook.md"])
    answer = server.ask("strict", VACATION).json()
    assert answer["answerable"] is False and answer["answerability"]["threshold"] == 1.0
    assert_error_body(server.post("/v1/collections", json={"name": "bad", "answer_threshold": 2}), 400,
                      "invalid_argument")
