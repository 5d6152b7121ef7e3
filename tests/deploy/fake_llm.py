#!/usr/bin/env python3
"""A minimal OpenAI-compatible model server standing in for a KAITO Workspace (vLLM) in the
offline dry run of scripts/deploy: GET /health, GET /v1/models, POST /v1/chat/completions
(plain and SSE). Loopback only.   fake_llm.py PORT"""
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODEL = "phi-3-mini-4k-instruct"


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # quiet
        pass

    def send(self, status, body, content_type="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/health":
            self.send(200, b"", "text/plain")
        elif self.path == "/v1/models":
            self.send(200, {"object": "list", "data": [{"id": MODEL, "object": "model", "created": int(time.time()),
                                                         "owned_by": "vllm", "max_model_len": 4096}]})
        else:
            self.send(404, b"", "text/plain")

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        request = json.loads(self.rfile.read(length) or b"{}")
        if self.path != "/v1/chat/completions":
            self.send(404, b"", "text/plain")
            return
        answer = "New employees get 25 days of paid vacation per year [1]."
        usage = {"prompt_tokens": 100, "completion_tokens": 12, "total_tokens": 112}
        if not request.get("stream"):
            self.send(200, {"id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()),
                            "model": MODEL, "usage": usage,
                            "choices": [{"index": 0, "finish_reason": "stop",
                                         "message": {"role": "assistant", "content": answer}}]})
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        chunks = [{"role": "assistant", "content": ""}] + [{"content": w + " "} for w in answer.split()]
        for delta in chunks:
            event = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "model": MODEL,
                     "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
            self.wfile.write(b"data: " + json.dumps(event).encode() + b"\n\n")
        final = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "model": MODEL,
                 "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        self.wfile.write(b"data: " + json.dumps(final).encode() + b"\n\n")
        self.wfile.write(b"data: " + json.dumps({"choices": [], "usage": usage}).encode() + b"\n\n")
        self.wfile.write(b"data: [DONE]\n\n")


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
