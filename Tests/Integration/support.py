"""Helpers shared by the integration tests (no fixtures here: see conftest.py)."""

from __future__ import annotations

import json
import os
import time
import uuid
from typing import Iterable

import httpx

# Every network call in the tests has a timeout; this is the default one.
HTTP_TIMEOUT = httpx.Timeout(60.0, connect=5.0)


def unique(label: str = "t") -> str:
    """A short unique token to put into a prompt, so upstream requests can be told apart."""
    return f"{label}-{uuid.uuid4().hex[:10]}"


def openai_client(stack, **kwargs):
    """The official OpenAI client pointed at the stack; no client-side retries."""
    from openai import OpenAI

    kwargs.setdefault("timeout", 60.0)
    kwargs.setdefault("max_retries", 0)
    return OpenAI(base_url=stack.base_url + "/v1", api_key="unused", **kwargs)


def chat_body(prompt: str, model: str, stream: bool = False, **extra) -> dict:
    body = {"model": model, "messages": [{"role": "user", "content": prompt}], "stream": stream}
    body.update(extra)
    return body


def iter_sse_data(lines: Iterable[str]):
    """Yields the payload of every ``data:`` field (comments and other fields skipped)."""
    for line in lines:
        if line.startswith("data:"):
            yield line[5:].lstrip(" ")


class SSEResult:
    """A streamed chat completion read raw: status, headers, and every data payload."""

    def __init__(self, status: int, headers: httpx.Headers, payloads: list[str], body: bytes):
        self.status = status
        self.headers = headers
        self.payloads = payloads
        self.body = body

    @property
    def done(self) -> bool:
        return bool(self.payloads) and self.payloads[-1] == "[DONE]"

    @property
    def events(self) -> list[dict]:
        out = []
        for p in self.payloads:
            if p == "[DONE]":
                continue
            out.append(json.loads(p))
        return out

    @property
    def chunks(self) -> list[dict]:
        return [e for e in self.events if "error" not in e]

    @property
    def errors(self) -> list[dict]:
        return [e for e in self.events if "error" in e]

    @property
    def text(self) -> str:
        return "".join((c.get("delta") or {}).get("content") or ""
                       for e in self.chunks for c in e.get("choices") or [])

    @property
    def finish_reasons(self) -> list[str]:
        return [c["finish_reason"] for e in self.chunks for c in e.get("choices") or []
                if c.get("finish_reason")]

    def json(self):
        return json.loads(self.body)


def stream_raw(stack, body: dict, timeout: float = 60.0) -> SSEResult:
    """POSTs a chat completion with httpx and reads the whole SSE stream (or error body)."""
    with httpx.Client(timeout=httpx.Timeout(timeout, connect=5.0)) as client:
        with client.stream("POST", stack.base_url + "/v1/chat/completions", json=body) as resp:
            if not resp.headers.get("content-type", "").startswith("text/event-stream"):
                data = resp.read()
                return SSEResult(resp.status_code, resp.headers, [], data)
            payloads = list(iter_sse_data(resp.iter_lines()))
            return SSEResult(resp.status_code, resp.headers, payloads, b"")


def stream_until_content(stack, body: dict, chunks: int = 2, while_open=None) -> None:
    """Streams until ``chunks`` content deltas arrived, calls ``while_open()`` (the client still connected),
    then drops the connection."""
    got = 0
    with httpx.Client(timeout=httpx.Timeout(30.0, connect=5.0)) as client:
        with client.stream("POST", stack.base_url + "/v1/chat/completions", json=body) as resp:
            assert resp.status_code == 200
            for payload in iter_sse_data(resp.iter_lines()):
                assert payload != "[DONE]", f"the stream ended before {chunks} content deltas"
                event = json.loads(payload)
                if any((c.get("delta") or {}).get("content") for c in event.get("choices") or []):
                    got += 1
                if got >= chunks:
                    if while_open:
                        while_open()
                    return
    raise AssertionError("the stream ended without content")


def post_chat(stack, body, timeout: float = 60.0, **kwargs) -> httpx.Response:
    """POSTs a chat completion (non-streaming read). ``body`` may be a dict or raw bytes."""
    with httpx.Client(timeout=httpx.Timeout(timeout, connect=5.0)) as client:
        if isinstance(body, (bytes, str)):
            headers = kwargs.pop("headers", {"Content-Type": "application/json"})
            return client.post(stack.base_url + "/v1/chat/completions", content=body,
                               headers=headers, **kwargs)
        return client.post(stack.base_url + "/v1/chat/completions", json=body, **kwargs)


def assert_openai_error(resp: httpx.Response, status: int, param: str | None = "any",
                        error_type: str | None = None) -> dict:
    """Checks an OpenAI-style error body: {"error": {"message", "type", "param", "code"}}."""
    assert resp.status_code == status, f"expected {status}, got {resp.status_code}: {resp.text[:500]}"
    assert resp.headers.get("content-type", "").startswith("application/json"), resp.headers
    body = resp.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), body
    err = body["error"]
    for key in ("message", "type", "param", "code"):
        assert key in err, f"error object lacks {key!r}: {err}"
    assert isinstance(err["message"], str) and err["message"], err
    if error_type is not None:
        assert err["type"] == error_type, err
    if param != "any":
        assert err["param"] == param, err
    return err


def message_text(message: dict) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    return "\n".join(b.get("text", "") for b in content or []
                     if isinstance(b, dict) and b.get("type") == "text")


def upstream_requests_with(mock, token: str) -> list[dict]:
    """Bodies of the upstream /v1/messages requests whose messages mention ``token``."""
    out = []
    for record in mock.message_requests():
        body = record.get("body")
        if isinstance(body, dict) and token in json.dumps(body.get("messages"), ensure_ascii=False):
            out.append(body)
    return out


def wait_until(predicate, timeout: float, interval: float = 0.05):
    """Polls ``predicate`` until it returns a truthy value; returns the last value."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    return value


def proc_children(pid: int, include_zombies: bool = True) -> list[dict]:
    """Processes whose parent is ``pid`` (from /proc): pid, state, cmdline."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode("utf-8", "replace")
            # comm may contain spaces/parens: split after the last ')'
            rest = stat[stat.rindex(")") + 2:].split()
            state, ppid = rest[0], int(rest[1])
            if ppid != pid:
                continue
            if state == "Z" and not include_zombies:
                continue
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
            out.append({"pid": int(entry), "state": state, "cmdline": cmd})
        except (OSError, ValueError):
            continue
    return out


def proc_descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (breadth-first, from /proc)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode("utf-8", "replace")
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        except (OSError, ValueError):
            continue
        parents.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def required_program(name: str, package: str) -> str:
    """The path of program ``name`` (on PATH, else /usr/bin or /usr/sbin). Missing is a failure, never a
    skip: ``scripts/setup system`` installs Debian's ``package``."""
    import shutil

    import pytest

    for candidate in (shutil.which(name), f"/usr/bin/{name}", f"/usr/sbin/{name}"):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail(f"{name} not found: install Debian's {package} package (scripts/setup system does)",
                pytrace=False)
