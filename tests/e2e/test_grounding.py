"""Grounding check of generated answers through the API, with the fake model answering what a
test tells it to: flagged, removed and replaced sentences, citation cleanup, streaming, settings."""
import pytest

from conftest import SAMPLES, assert_error_body, parse_sse
from fake_llm import FakeLLM

VACATION = "How many days of paid vacation do new employees get?"
SUPPORTED = "New employees receive 25 days of paid vacation per year"
INVENTED = "Every employee also gets a company car and free flights to Hawaii each summer"


@pytest.fixture
def grounded(make_server):
    """A server on a fake model with the handbook in `handbook`; start(args=[...])."""
    fakes = []

    def start(args=()):
        fake = FakeLLM().start()
        fakes.append(fake)
        server = make_server(args=["--llm-url", fake.url, "--llm-max-retries", "1", *args])
        server.upload_ok("handbook", sorted(SAMPLES.iterdir()))
        return server, fake

    yield start
    for fake in fakes:
        fake.stop()


def vacation_source(body) -> int:
    """The number of the source holding the vacation sentence."""
    numbers = [s["number"] for s in body["sources"] if SUPPORTED in s["text"]]
    assert numbers, [s["document_name"] for s in body["sources"]]
    return numbers[0]


def ask(server, collection="handbook", **kw):
    r = server.ask(collection, VACATION, **kw)
    assert r.status_code == 200, r.text
    return r.json()


def test_flag_keeps_the_answer_and_marks_the_unsupported_sentence(grounded):
    server, fake = grounded()
    n = vacation_source(ask(server))
    fake.answer_text = f"{SUPPORTED} [{n}]. {INVENTED} [{n}]."
    body = ask(server)
    g = body["grounding"]
    assert g["policy"] == "flag" and g["action"] == "flagged"
    assert (g["supported"], g["unsupported"]) == (1, 1)
    assert body["answer"] == fake.answer_text
    first, second = g["sentences"]
    assert first == {"text": f"{SUPPORTED} [{n}].", "supported": True, "score": first["score"], "source": n,
                     "cited": [n]}
    assert first["score"] >= g["threshold"] > second["score"]
    assert second["supported"] is False and second["source"] is None and second["cited"] == [n]


def test_citations_without_a_source_are_removed_and_unused_sources_not_cited(grounded):
    server, fake = grounded()
    first = ask(server)
    n = vacation_source(first)
    fake.answer_text = f"{SUPPORTED} [{n}][42]. Carry-over is limited [99]."
    body = ask(server)
    assert "[42]" not in body["answer"] and "[99]" not in body["answer"]
    assert body["answer"].startswith(f"{SUPPORTED} [{n}].")
    assert body["citations"] == [n]
    assert [s["number"] for s in body["sources"] if s["cited"]] == [n]
    assert len(body["sources"]) > 1  # the other sources are listed, not cited
    assert all(s["cited"] == [n] or s["cited"] == [] for s in body["grounding"]["sentences"])


def test_remove_policy_drops_unsupported_sentences(grounded):
    server, fake = grounded()
    server.create_collection("strict", grounding_policy="remove", grounding_threshold=0.5)
    server.upload_ok("strict", sorted(SAMPLES.iterdir()))
    info = server.get("/v1/collections/strict").json()["settings"]
    assert (info["grounding_policy"], info["grounding_threshold"]) == ("remove", 0.5)
    n = vacation_source(ask(server, "strict"))
    fake.answer_text = f"{INVENTED} [{n}]. {SUPPORTED} [{n}]."
    body = ask(server, "strict")
    assert body["grounding"]["action"] == "removed"
    assert body["answer"] == f"{SUPPORTED} [{n}]."
    assert body["citations"] == [n]
    # The server's default policy still applies elsewhere.
    assert ask(server)["grounding"]["policy"] == "flag"


def test_replace_policy_answers_extractively_with_a_note(grounded):
    server, fake = grounded(args=["--grounding-policy", "replace"])
    fake.answer_text = f"{INVENTED}."
    body = ask(server)
    g = body["grounding"]
    assert (g["policy"], g["action"], g["unsupported"]) == ("replace", "replaced", 1)
    assert INVENTED not in body["answer"] and "25 days" in body["answer"]
    assert "not supported by the sources" in body["note"]
    # The extractive answer cites by the numbers of `sources`.
    for number in body["citations"]:
        assert body["sources"][number - 1]["cited"] and body["sources"][number - 1]["number"] == number
    assert any(SUPPORTED in body["sources"][c - 1]["text"] for c in body["citations"])


def test_default_policy_replaces_a_base_models_unsupported_answer(grounded):
    # auto: a base model (completion prompt style) is replaced, a chat model is flagged (test above).
    server, fake = grounded(args=["--llm-prompt-style", "completion"])
    n = vacation_source(ask(server))
    fake.answer_text = f"{SUPPORTED} [{n}]. {INVENTED} [{n}]."
    body = ask(server)
    g = body["grounding"]
    assert body["prompt_style"] == "completion"
    assert (g["policy"], g["action"], g["unsupported"]) == ("replace", "replaced", 1)
    assert INVENTED not in body["answer"] and SUPPORTED in body["answer"]
    fake.answer_text = f"{SUPPORTED} [{n}]."
    body = ask(server)
    assert (body["grounding"]["policy"], body["grounding"]["action"]) == ("replace", "none")
    assert body["answer"] == fake.answer_text


def test_supported_answer_is_left_alone(grounded):
    server, fake = grounded(args=["--grounding-policy", "replace"])
    body = ask(server)  # the fake quotes its best source
    assert body["grounding"]["action"] == "none" and body["grounding"]["unsupported"] == 0
    assert "note" not in body


def test_stream_sends_tokens_then_the_verdict_in_the_final_event(grounded):
    server, fake = grounded(args=["--grounding-policy", "remove"])
    n = vacation_source(ask(server))
    fake.answer_text = f"{SUPPORTED} [{n}]. {INVENTED} [{n}]."
    r = server.ask("handbook", VACATION, stream=True)
    assert r.status_code == 200
    events = parse_sse(r.text)
    streamed = "".join(e["delta"] for name, e in events if name == "token")
    assert streamed == fake.answer_text  # tokens stream as the model writes them
    name, done = events[-1]
    assert name == "done"
    assert done["grounding"]["action"] == "removed" and done["answer"] == f"{SUPPORTED} [{n}]."


def test_declines_and_extractive_answers_carry_no_grounding(grounded, server):
    llm_server, _ = grounded()
    llm_server.create_collection("picky", answer_threshold=1.0)  # declines everything
    llm_server.upload_ok("picky", sorted(SAMPLES.iterdir()))
    declined = ask(llm_server, "picky")
    assert declined["answerable"] is False and "grounding" not in declined
    server.upload_ok("handbook", sorted(SAMPLES.iterdir()))
    extractive = server.ask("handbook", VACATION).json()
    assert extractive["mode"] == "extractive" and "grounding" not in extractive


@pytest.mark.parametrize("settings, field", [({"grounding_policy": "drop"}, "grounding_policy"),
                                             ({"grounding_policy": 3}, "grounding_policy"),
                                             ({"grounding_threshold": 1.5}, "grounding_threshold")])
def test_bad_grounding_settings_are_400(server, settings, field):
    r = server.post("/v1/collections", json={"name": "bad", **settings})
    body = assert_error_body(r, 400, "invalid_argument")
    assert field in body["error"]["message"]
    assert server.get("/v1/collections/bad").status_code == 404


def test_bad_server_policy_is_refused_at_start(make_server):
    server = make_server(args=["--grounding-policy", "drop"], start=False)
    import subprocess
    done = subprocess.run(server.command(), capture_output=True, text=True, timeout=30)
    assert done.returncode != 0 and "grounding_policy must be auto, flag, remove or replace" in done.stderr
