#!/usr/bin/env python3
"""A mock of the Anthropic Messages API for integration tests (stdlib only).

It answers ``POST /v1/messages`` (the CLI sends ``?beta=true``) the way Anthropic
does: server-sent events when ``stream`` is true (message_start, ping,
content_block_start, content_block_delta, content_block_stop, message_delta,
message_stop), a JSON message otherwise (the CLI's non-streaming fallback).

Default answer: ``Hello from the mock! You said: <text of the last user message>``,
sent as 5-character text deltas.  ``max_tokens`` is honoured at ~1 token per word:
a longer answer is cut and ends with ``stop_reason: "max_tokens"``.

Markers in the text of the LAST user message switch behaviour:

=================  ==========================================================
``MOCK:401``       HTTP 401 authentication_error
``MOCK:429``       HTTP 429 rate_limit_error with ``retry-after: 3``
``MOCK:529``       HTTP 529 overloaded_error
``MOCK:500``       HTTP 500 api_error
``MOCK:slow``      0.3 s between deltas
``MOCK:long``      60 text deltas
``MOCK:drop``      first attempt for this prompt: 2 deltas, then the TCP
                   connection is cut; later attempts are normal
``MOCK:sse-error`` streaming requests: 1 delta then an SSE ``error`` event
                   (overloaded_error); non-streaming requests answer normally
``MOCK:thinking``  a thinking block (thinking_delta + signature_delta) before
                   the text block
``MOCK:call=a,b``  the answer calls the request's tools ``a`` and ``b`` (parallel
                   ``tool_use`` blocks, ``stop_reason: "tool_use"``), each with
                   arguments made from its ``input_schema`` (or ``MOCK:args=<JSON>``
                   up to the end of the line, for every call); a short text first
``MOCK:reply=...`` the answer is exactly the rest of the line
=================  ==========================================================

When the last user message carries ``tool_result`` blocks (a tool loop going on),
the answer is ``Tool results: <their texts joined by " | ">``.

Test hooks: ``GET /_requests`` returns every recorded request as a JSON list
(``method``, ``path``, ``headers`` with credential values masked, ``body``
parsed as JSON when possible, ``t``); ``DELETE /_requests`` clears the record
and the per-prompt state of ``MOCK:drop``.

Use it as a module::

    mock = MockAnthropic(); mock.start(); ...; mock.stop()

or as a script::

    python3 mock_anthropic.py --port 0 --port-file /tmp/port
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

DEFAULT_INPUT_TOKENS = 25
DELTA_CHARS = 5
SLOW_DELAY = 0.3
LONG_DELTAS = 60
SECRET_HEADERS = {"x-api-key", "authorization", "proxy-authorization"}

ERRORS = {
    "MOCK:401": (401, "authentication_error", "invalid x-api-key"),
    "MOCK:429": (429, "rate_limit_error",
                 "Number of request tokens has exceeded your per-minute rate limit"),
    "MOCK:529": (529, "overloaded_error", "Overloaded"),
    "MOCK:500": (500, "api_error", "Internal server error"),
}


def _is_reminder(text: str) -> bool:
    return text.lstrip().startswith("<system-reminder>")


def message_text(message: dict) -> str:
    """Text of one Messages API message (string content or text blocks), without the
    CLI's ``<system-reminder>`` blocks."""
    content = message.get("content")
    if isinstance(content, str):
        return "" if _is_reminder(content) else content
    parts = []
    if isinstance(content, list):
        for block in content:
            if not isinstance(block, dict) or block.get("type") != "text":
                continue
            text = block.get("text", "")
            if not _is_reminder(text):
                parts.append(text)
    return "\n".join(parts)


def last_user_text(body: dict) -> str:
    """Text of the last user message that has any (the CLI's own nudges, such as the
    "Output token limit hit" continuation, are system reminders and are skipped)."""
    for message in reversed(body.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            text = message_text(message)
            if text:
                return text
    return ""


def tool_results(body: dict) -> list[str] | None:
    """The texts of the tool_result blocks of the last user message, or None when it has none."""
    messages = body.get("messages") or []
    if not messages or not isinstance(messages[-1], dict) or messages[-1].get("role") != "user":
        return None
    content = messages[-1].get("content")
    if not isinstance(content, list):
        return None
    results = []
    for block in content:
        if isinstance(block, dict) and block.get("type") == "tool_result":
            inner = block.get("content")
            if isinstance(inner, list):
                inner = "".join(b.get("text", "") for b in inner if isinstance(b, dict))
            results.append(str(inner if inner is not None else ""))
    return results or None


def marker_value(prompt: str, marker: str) -> str | None:
    """The rest of the line after ``marker`` in the prompt."""
    at = prompt.find(marker)
    if at < 0:
        return None
    return prompt[at + len(marker):].split("\n", 1)[0]


def sample_arguments(schema: dict) -> dict:
    """Arguments that satisfy a simple JSON schema: every required property, by type."""
    samples = {"string": "Paris", "integer": 3, "number": 1.5, "boolean": True, "array": [], "object": {}}
    properties = schema.get("properties") or {}
    out = {}
    for name in schema.get("required") or list(properties):
        prop = properties.get(name) or {}
        if "enum" in prop and prop["enum"]:
            out[name] = prop["enum"][0]
        elif prop.get("type") == "object":
            out[name] = sample_arguments(prop)
        else:
            kind = prop.get("type")
            out[name] = samples.get(kind[0] if isinstance(kind, list) else kind, "x")
    return out


def chunk_text(text: str, size: int = DELTA_CHARS) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


def cut_to_tokens(text: str, max_tokens: int | None) -> tuple[str, bool]:
    """Cut text to max_tokens words (~1 token per word). Returns (text, was_cut)."""
    if not max_tokens or max_tokens <= 0:
        return text, False
    words = text.split(" ")
    if len([w for w in words if w]) <= max_tokens:
        return text, False
    kept, count = [], 0
    for word in words:
        if word:
            if count == max_tokens:
                break
            count += 1
        kept.append(word)
    return " ".join(kept), True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    mock: "MockAnthropic"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    # -- plumbing ---------------------------------------------------------
    def log_message(self, fmt, *args):  # quiet by default
        if self.server.mock.verbose:
            sys.stderr.write("mock_anthropic: " + (fmt % args) + "\n")

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            return self.rfile.read(length)
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            data = b""
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        return b""

    def _send_json(self, status: int, obj, headers: dict | None = None):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("request-id", "req_mock_" + uuid.uuid4().hex[:16])
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _send_error(self, status: int, etype: str, message: str, headers=None):
        self._send_json(status, {"type": "error", "error": {"type": etype, "message": message}},
                        headers)

    def _record(self, raw: bytes):
        headers = {}
        for key, value in self.headers.items():
            headers[key] = "<redacted>" if key.lower() in SECRET_HEADERS else value
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        self.server.mock._add_request({
            "method": self.command, "path": self.path, "headers": headers,
            "body": body, "t": time.time(),
        })
        return body

    # -- verbs ------------------------------------------------------------
    def do_GET(self):
        path = urlsplit(self.path).path
        if path == "/_requests":
            self._send_json(200, self.server.mock.requests())
            return
        if path == "/_health":
            self._send_json(200, {"ok": True})
            return
        self._record(b"")
        self._send_error(404, "not_found_error", f"Not found: {path}")

    def do_DELETE(self):
        path = urlsplit(self.path).path
        if path == "/_requests":
            self.server.mock.reset()
            self._send_json(200, {"ok": True})
            return
        self._send_error(404, "not_found_error", f"Not found: {path}")

    def do_HEAD(self):
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        raw = self._read_body()
        path = urlsplit(self.path).path
        body = self._record(raw)
        if path != "/v1/messages":
            self._send_error(404, "not_found_error", f"Not found: {path}")
            return
        if not isinstance(body, dict):
            self._send_error(400, "invalid_request_error", "body must be a JSON object")
            return
        try:
            self._messages(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    # -- the Messages API -------------------------------------------------
    def _messages(self, body: dict):
        mock = self.server.mock
        prompt = last_user_text(body)
        for marker, (status, etype, message) in ERRORS.items():
            if marker in prompt:
                headers = {"retry-after": "3"} if status == 429 else None
                self._send_error(status, etype, message, headers)
                return

        model = body.get("model") or "claude-sonnet-4-5"
        max_tokens = body.get("max_tokens")
        text = f"Hello from the mock! You said: {prompt}"
        results = tool_results(body)
        calls = []
        if results is not None:
            text = "Tool results: " + " | ".join(results)
        elif (reply := marker_value(prompt, "MOCK:reply=")) is not None:
            text = reply
        elif (names := marker_value(prompt, "MOCK:call=")) is not None:
            tools = {t.get("name"): t for t in body.get("tools") or [] if isinstance(t, dict)}
            given = marker_value(prompt, "MOCK:args=")
            for name in [n.strip() for n in names.split()[0].split(",") if n.strip()] if names.strip() else []:
                schema = (tools.get(name) or {}).get("input_schema") or {}
                args = json.loads(given) if given else sample_arguments(schema)
                calls.append({"id": "toolu_mock_" + uuid.uuid4().hex[:20], "name": name, "input": args})
            text = "Let me check."
        deltas = chunk_text(text)
        if "MOCK:long" in prompt:
            i = 0
            while len(deltas) < LONG_DELTAS:
                deltas.append(f" lorem{i}")
                i += 1
            text = "".join(deltas)
        text, was_cut = cut_to_tokens(text, max_tokens if isinstance(max_tokens, int) else None)
        if was_cut:
            deltas = chunk_text(text)
        stop_reason = "max_tokens" if was_cut else ("tool_use" if calls else "end_turn")
        thinking = "MOCK:thinking" in prompt
        msg_id = "msg_mock_" + uuid.uuid4().hex[:20]

        if not body.get("stream"):
            content = []
            if thinking:
                content.append({"type": "thinking", "thinking": "Let me think about this.",
                                "signature": "c2lnbmF0dXJl"})
            content.append({"type": "text", "text": text})
            content += [{"type": "tool_use", **call} for call in calls]
            self._send_json(200, {
                "id": msg_id, "type": "message", "role": "assistant", "model": model,
                "content": content, "stop_reason": stop_reason, "stop_sequence": None,
                "usage": {"input_tokens": DEFAULT_INPUT_TOKENS,
                          "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                          "output_tokens": len(deltas)},
            })
            return

        drop = "MOCK:drop" in prompt and mock._attempt(prompt) == 1
        sse_error = "MOCK:sse-error" in prompt
        delay = SLOW_DELAY if "MOCK:slow" in prompt else 0.0

        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("request-id", "req_mock_" + uuid.uuid4().hex[:16])
        self.end_headers()

        self._event("message_start", {"type": "message_start", "message": {
            "id": msg_id, "type": "message", "role": "assistant", "model": model,
            "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": DEFAULT_INPUT_TOKENS, "cache_creation_input_tokens": 0,
                      "cache_read_input_tokens": 0, "output_tokens": 1}}})
        self._event("ping", {"type": "ping"})
        index = 0
        if thinking:
            self._event("content_block_start", {"type": "content_block_start", "index": 0,
                        "content_block": {"type": "thinking", "thinking": "", "signature": ""}})
            for piece in ("Let me t", "hink abo", "ut this."):
                self._event("content_block_delta", {"type": "content_block_delta", "index": 0,
                            "delta": {"type": "thinking_delta", "thinking": piece}})
                if delay:
                    time.sleep(delay)
            self._event("content_block_delta", {"type": "content_block_delta", "index": 0,
                        "delta": {"type": "signature_delta", "signature": "c2lnbmF0dXJl"}})
            self._event("content_block_stop", {"type": "content_block_stop", "index": 0})
            index = 1
        self._event("content_block_start", {"type": "content_block_start", "index": index,
                    "content_block": {"type": "text", "text": ""}})
        for n, piece in enumerate(deltas):
            if drop and n == 2:
                self._cut()
                return
            if sse_error and n == 1:
                self._event("error", {"type": "error", "error": {
                    "type": "overloaded_error", "message": "Overloaded"}})
                self._end_chunks()
                return
            self._event("content_block_delta", {"type": "content_block_delta", "index": index,
                        "delta": {"type": "text_delta", "text": piece}})
            if delay:
                time.sleep(delay)
        self._event("content_block_stop", {"type": "content_block_stop", "index": index})
        for call in calls:
            index += 1
            self._event("content_block_start", {"type": "content_block_start", "index": index,
                        "content_block": {"type": "tool_use", "id": call["id"], "name": call["name"], "input": {}}})
            arguments = json.dumps(call["input"])
            for piece in [arguments[i:i + 7] for i in range(0, len(arguments), 7)]:
                self._event("content_block_delta", {"type": "content_block_delta", "index": index,
                            "delta": {"type": "input_json_delta", "partial_json": piece}})
            self._event("content_block_stop", {"type": "content_block_stop", "index": index})
        self._event("message_delta", {"type": "message_delta",
                    "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                    "usage": {"output_tokens": len(deltas)}})
        self._event("message_stop", {"type": "message_stop"})
        self._end_chunks()

    def _event(self, name: str, data: dict):
        payload = f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(payload), payload))
        self.wfile.flush()

    def _end_chunks(self):
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _cut(self):
        """Cut the TCP connection mid-body, like a dropped upstream.

        A FIN in the middle of a chunked body (no terminating chunk): the
        client has already read the first events and then sees the body end
        early.  (An RST would make the kernel drop the unread events.)
        """
        self.close_connection = True
        try:
            self.wfile.flush()  # the events written so far go out before the FIN
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class MockAnthropic:
    """The mock server; ``start()`` runs it in a background thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, verbose: bool = False):
        self.host = host
        self.verbose = verbose
        self._lock = threading.Lock()
        self._requests: list[dict] = []
        self._attempts: dict[str, int] = {}
        self._server = _Server((host, port), _Handler)
        self._server.mock = self
        self.port: int = self._server.server_address[1]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "MockAnthropic":
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1},
                                        name="mock-anthropic", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def serve_forever(self):
        self._server.serve_forever(poll_interval=0.1)

    # state
    def _add_request(self, record: dict):
        with self._lock:
            self._requests.append(record)

    def _attempt(self, prompt: str) -> int:
        with self._lock:
            self._attempts[prompt] = self._attempts.get(prompt, 0) + 1
            return self._attempts[prompt]

    def requests(self) -> list[dict]:
        with self._lock:
            return list(self._requests)

    def message_requests(self) -> list[dict]:
        return [r for r in self.requests()
                if r["method"] == "POST" and urlsplit(r["path"]).path == "/v1/messages"]

    def reset(self):
        with self._lock:
            self._requests.clear()
            self._attempts.clear()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", help="write the bound port into this file")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    mock = MockAnthropic(args.host, args.port, verbose=args.verbose)
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{mock.port}\n")
        os.replace(tmp, args.port_file)
    print(mock.port, flush=True)

    def stop(signum, frame):
        threading.Thread(target=mock._server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    mock.serve_forever()
    mock._server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
