#!/usr/bin/env python3
"""A small OpenAI-compatible model server for the end-to-end tests.

It speaks just enough of the vLLM / OpenAI HTTP API for Kaito-RAG:

* ``GET  /v1/models``            -> one model ("fake-phi-3") with ``max_model_len``
* ``POST /tokenize``             -> chat form ``{"messages": [...]}`` (or ``{"prompt": "..."}``)
                                    answered with ``{"count": N}``; N is deterministic (see ``count_tokens``)
* ``POST /v1/chat/completions``  -> non-streaming JSON, or SSE when ``"stream": true``

The answer is derived from the prompt, not hard-coded: the user message holds numbered
sources (``[n] (document, page p)`` followed by the passage) and a final ``Question: ...``;
the fake picks the source whose text shares the most words with the question and answers
with that source's first sentence followed by `` [n]``.

Every request is recorded (``FakeLLM.requests``) so tests can inspect the prompt. Failure
modes are set with constructor arguments or at runtime, either in-process
(``FakeLLM.set_mode``) or over HTTP (``POST /_control`` with a JSON object):

* ``mode="ok"``       normal answers
* ``mode="fail503"``  every endpoint answers 503 with an OpenAI-style error body
* ``mode="chat503"``  only chat completions fail with 503 (models/tokenize work)
* ``stream_delay``    seconds to sleep between streamed chunks (slow stream, for cancellation)
* ``stream_error_after``  >= 0: a streamed answer sends an ``{"error": ...}`` event after that many
                      content chunks, then ``[DONE]`` (vLLM's way of failing mid-stream)
* ``GET /_events``    the ``stream_events`` (chunks sent, aborted?) for tests in another process
* ``answer_text``     when set, the reply to every answering request (e.g. a wrong or badly cited answer
                      for the grounding check); default: derived from the prompt as above
* ``condense_answer`` the reply to "standalone question" requests (multi-turn condensation);
                      default: the follow-up question as asked

Every chat completion's prompt size (by ``count_tokens``, i.e. what ``/tokenize`` says) and
``max_tokens`` are kept in ``prompt_sizes``; condensation requests also in ``condense_requests``.

Standalone: ``python3 fake_llm.py --port 8001 --max-model-len 4096``.
"""
from __future__ import annotations

import argparse
import json
import math
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODEL_ID = "fake-phi-3"
_WORD = re.compile(r"[0-9A-Za-z\u00C0-\uFFFF]+")
_SOURCE_HEADER = re.compile(r"^\[(\d+)\](?: \(.*\))?$")
_STOP = {
    "the", "a", "an", "of", "to", "in", "is", "are", "and", "or", "for", "on", "at", "by", "with", "do", "does",
    "how", "what", "when", "where", "which", "who", "many", "much", "i", "my", "me", "you", "your", "we", "our",
    "it", "its", "be", "can", "may", "get", "long", "this", "that", "there", "as", "from",
}


def count_tokens(messages: list[dict] | None = None, prompt: str | None = None) -> int:
    """Deterministic token count: ceil(chars / 3) per message plus 4 per message, plus 3."""
    if prompt is not None:
        return math.ceil(len(prompt) / 3)
    total = 3
    for m in messages or []:
        content = m.get("content") or ""
        if isinstance(content, list):  # OpenAI content parts
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        total += math.ceil(len(str(content)) / 3) + 4
    return total


def words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text) if w.lower() not in _STOP}


def parse_sources(user: str) -> tuple[dict[int, str], str]:
    """Numbered sources and the question from the user message the server builds."""
    question = ""
    body = user
    idx = user.rfind("Question:")
    if idx >= 0:
        question = user[idx + len("Question:"):].strip()
        body = user[:idx]
    sources: dict[int, str] = {}
    current: int | None = None
    lines: list[str] = []
    for line in body.splitlines():
        m = _SOURCE_HEADER.match(line.strip())
        if m:
            if current is not None:
                sources[current] = "\n".join(lines).strip()
            current = int(m.group(1))
            lines = []
        elif current is not None:
            lines.append(line)
    if current is not None:
        sources[current] = "\n".join(lines).strip()
    return sources, question


def first_sentence(text: str) -> str:
    text = re.sub(r"^\(section:[^\n]*\)\n", "", text.strip())
    # Skip a leading heading line (no sentence punctuation) when a sentence follows.
    for para in [p.strip() for p in re.split(r"\n\s*\n|\n", text) if p.strip()]:
        m = re.search(r"(.+?[.!?])(\s|$)", para, re.S)
        if m:
            return " ".join(m.group(1).split())
    return " ".join(text.split())[:200]


def is_condense_request(messages: list[dict]) -> bool:
    return any(m.get("role") == "system" and "standalone question" in str(m.get("content") or "").lower()
               for m in messages)


def follow_up_of(messages: list[dict]) -> str:
    user = "".join(str(m.get("content") or "") for m in messages if m.get("role") == "user")
    m = re.search(r"Follow-up question:(.*?)(?:\n\s*Standalone question:|$)", user, re.S)
    return " ".join(m.group(1).split()) if m else user.strip()


def make_answer(messages: list[dict]) -> str:
    user = ""
    for m in messages:
        if m.get("role") == "user":
            user = str(m.get("content") or "")
    sources, question = parse_sources(user)
    if not sources:
        return "I don't know based on the provided documents."
    q = words(question)
    best_n, best_score = None, -1
    for n in sorted(sources):
        text = sources[n]
        # Prefer the sentence-level overlap of the best sentence, then the passage overlap.
        score = len(q & words(text))
        if score > best_score:
            best_n, best_score = n, score
    if best_score <= 0:
        return "I don't know based on the provided documents."
    text = sources[best_n]
    # The sentence of the passage that shares most words with the question.
    sentences = [" ".join(s.split()) for s in re.split(r"(?<=[.!?])\s+|\n+", text) if s.strip()]
    sentences = [s for s in sentences if not s.startswith("(section:")]
    best_sentence = max(sentences, key=lambda s: (len(q & words(s)), -sentences.index(s)), default="")
    sentence = best_sentence if best_sentence and q & words(best_sentence) else first_sentence(text)
    return f"{sentence} [{best_n}]"


class FakeLLM:
    """Threaded fake model server; use as a context manager or call start()/stop()."""

    def __init__(self, max_model_len: int = 4096, mode: str = "ok", stream_delay: float = 0.0,
                 chunk_chars: int = 4, host: str = "127.0.0.1", port: int = 0):
        self.max_model_len = max_model_len
        self.mode = mode
        self.stream_delay = stream_delay
        self.chunk_chars = chunk_chars
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.stream_events: list[dict] = []  # one per streamed completion: chunks sent, aborted?
        self.stream_error_after = -1
        self.condense_answer: str | None = None
        self.answer_text: str | None = None
        self.prompt_sizes: list[dict] = []  # per chat completion: {"prompt_tokens", "max_tokens", "condense"}
        self.condense_requests: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _body(self) -> dict | None:
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n) if n else b""
                try:
                    return json.loads(raw or b"{}")
                except ValueError:
                    return None

            def _send(self, status: int, obj, headers: dict | None = None):
                data = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def _record(self, body):
                with fake.lock:
                    fake.requests.append({"method": self.command, "path": self.path, "body": body,
                                          "headers": dict(self.headers), "time": time.time()})

            def _fail(self, path: str) -> bool:
                if fake.mode == "fail503" or (fake.mode == "chat503" and path.endswith("/chat/completions")):
                    self._send(503, {"object": "error", "message": "fake model is overloaded (test failure mode)",
                                     "type": "ServiceUnavailableError", "code": 503})
                    return True
                return False

            def do_GET(self):
                self._record(None)
                if self._fail(self.path):
                    return
                if self.path.rstrip("/") in ("/v1/models", "/models"):
                    return self._send(200, {"object": "list", "data": [
                        {"id": MODEL_ID, "object": "model", "owned_by": "kaito-rag-tests",
                         "max_model_len": fake.max_model_len}]})
                if self.path == "/health":
                    return self._send(200, {})
                if self.path == "/_events":  # for out-of-process tests (the browser tests)
                    return self._send(200, {"stream_events": fake.stream_events})
                self._send(404, {"detail": "Not Found"})

            def do_POST(self):
                body = self._body()
                self._record(body)
                if self.path == "/_control":
                    for key in ("mode", "stream_delay", "max_model_len", "chunk_chars", "stream_error_after",
                                "condense_answer", "answer_text"):
                        if isinstance(body, dict) and key in body:
                            setattr(fake, key, body[key])
                    return self._send(200, {"mode": fake.mode, "stream_delay": fake.stream_delay,
                                            "max_model_len": fake.max_model_len})
                if body is None:
                    return self._send(400, {"object": "error", "message": "invalid JSON", "code": 400})
                if self._fail(self.path):
                    return
                if self.path == "/tokenize":
                    if "messages" in body:
                        return self._send(200, {"count": count_tokens(messages=body["messages"]),
                                                "max_model_len": fake.max_model_len})
                    if "prompt" in body:
                        return self._send(200, {"count": count_tokens(prompt=str(body["prompt"])),
                                                "max_model_len": fake.max_model_len})
                    return self._send(422, {"detail": "messages or prompt required"})
                if self.path.rstrip("/") in ("/v1/chat/completions", "/chat/completions"):
                    return self._chat(body)
                if self.path.rstrip("/") in ("/v1/completions", "/completions") and not body.get("stream"):
                    return self._completion(body)
                self._send(404, {"detail": "Not Found"})

            def _completion(self, body: dict):
                # A base model's text completion (the completion prompt style), non-streaming only.
                answer = fake.answer_text if fake.answer_text is not None else "I do not know."
                prompt_tokens = count_tokens(prompt=str(body.get("prompt", "")))
                completion_tokens = math.ceil(len(answer) / 3)
                self._send(200, {"id": "cmpl-fake", "object": "text_completion", "created": int(time.time()),
                                 "model": MODEL_ID,
                                 "choices": [{"index": 0, "text": answer, "finish_reason": "stop"}],
                                 "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                                           "total_tokens": prompt_tokens + completion_tokens}})

            def _chat(self, body: dict):
                messages = body.get("messages") or []
                prompt_tokens = count_tokens(messages=messages)
                max_tokens = int(body.get("max_tokens") or 0)
                condense = is_condense_request(messages)
                with fake.lock:
                    fake.prompt_sizes.append({"prompt_tokens": prompt_tokens, "max_tokens": max_tokens,
                                              "condense": condense})
                    if condense:
                        fake.condense_requests.append(body)
                if prompt_tokens + max_tokens > fake.max_model_len:
                    return self._send(400, {"object": "error", "type": "BadRequestError", "code": 400,
                                            "message": f"This model's maximum context length is {fake.max_model_len}"
                                                       f" tokens. However, you requested {prompt_tokens + max_tokens}"
                                                       f" tokens ({prompt_tokens} in the messages, {max_tokens} in"
                                                       " the completion)."})
                if condense:
                    answer = fake.condense_answer if fake.condense_answer is not None else follow_up_of(messages)
                else:
                    answer = fake.answer_text if fake.answer_text is not None else make_answer(messages)
                completion_tokens = math.ceil(len(answer) / 3)
                usage = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                         "total_tokens": prompt_tokens + completion_tokens}
                created = int(time.time())
                if not body.get("stream"):
                    return self._send(200, {
                        "id": "chatcmpl-fake", "object": "chat.completion", "created": created, "model": MODEL_ID,
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": answer},
                                     "finish_reason": "stop"}],
                        "usage": usage})
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                record = {"chunks_sent": 0, "chunks_total": 0, "aborted": False, "finished": False}
                with fake.lock:
                    fake.stream_events.append(record)

                def event(obj) -> None:
                    self.wfile.write(b"data: " + json.dumps(obj).encode() + b"\n\n")
                    self.wfile.flush()

                def chunk(delta: dict, finish=None) -> dict:
                    return {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": created,
                            "model": MODEL_ID, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

                step = max(1, int(fake.chunk_chars))
                pieces = [answer[i:i + step] for i in range(0, len(answer), step)]
                record["chunks_total"] = len(pieces)
                try:
                    event(chunk({"role": "assistant", "content": ""}))
                    for i, piece in enumerate(pieces):
                        if 0 <= int(fake.stream_error_after) <= i:
                            event({"error": {"message": "fake model failed mid-stream (test failure mode)",
                                             "type": "InternalServerError", "param": None, "code": 500}})
                            self.wfile.write(b"data: [DONE]\n\n")
                            self.wfile.flush()
                            record["errored"] = True
                            return
                        if fake.stream_delay:
                            time.sleep(fake.stream_delay)
                        event(chunk({"content": piece}))
                        record["chunks_sent"] += 1
                    event(chunk({}, "stop"))
                    if (body.get("stream_options") or {}).get("include_usage"):
                        event({"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": created,
                               "model": MODEL_ID, "choices": [], "usage": usage})
                    self.wfile.write(b"data: [DONE]\n\n")
                    self.wfile.flush()
                    record["finished"] = True
                except (BrokenPipeError, ConnectionResetError, OSError):
                    record["aborted"] = True

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://{host}:{self.port}/v1"
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> "FakeLLM":
        self._thread = threading.Thread(target=self.server.serve_forever, name="fake-llm", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> "FakeLLM":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- helpers for tests -------------------------------------------------------------------
    def set_mode(self, mode: str = "ok", stream_delay: float | None = None) -> None:
        self.mode = mode
        if stream_delay is not None:
            self.stream_delay = stream_delay

    def chat_requests(self) -> list[dict]:
        with self.lock:
            return [r for r in self.requests if r["path"].rstrip("/").endswith("/chat/completions")]

    def clear(self) -> None:
        with self.lock:
            self.requests.clear()
            self.stream_events.clear()
            self.prompt_sizes.clear()
            self.condense_requests.clear()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--max-model-len", type=int, default=4096)
    parser.add_argument("--mode", default="ok", choices=["ok", "fail503", "chat503"])
    parser.add_argument("--stream-delay", type=float, default=0.0)
    args = parser.parse_args()
    fake = FakeLLM(max_model_len=args.max_model_len, mode=args.mode, stream_delay=args.stream_delay,
                   host=args.host, port=args.port)
    print(f"fake LLM listening on {fake.url} (model {MODEL_ID}, max_model_len {fake.max_model_len})", flush=True)
    try:
        fake.server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
