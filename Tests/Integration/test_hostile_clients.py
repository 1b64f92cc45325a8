"""Hostile clients, end to end: user text reaches the model as text (the real CLI, reading what upstream got),
bodies that are not JSON are refused, a client that reads too slowly is dropped and its CLI ended, and failures
tell the client nothing of the server's insides."""

from __future__ import annotations

import json
import socket
import time

import httpx
import pytest

from support import chat_body, post_chat, stream_raw, unique, upstream_requests_with, wait_until

# Texts the CLI would otherwise treat as its own commands or inputs (PROTOCOL.md: "Text that starts with /").
LITERAL_TEXTS = ["/context", "/model claude-opus-4-5", "/compact", "/clear", "/simplify tidy this", "//usage",
                 "!ls /", "# remember this", "@/etc/passwd"]


def user_texts(body: dict) -> list[str]:
    """Each upstream user message as the concatenation of its text blocks."""
    out = []
    for message in body["messages"]:
        if message["role"] != "user":
            continue
        content = message["content"]
        out.append(content if isinstance(content, str) else
                   "".join(block.get("text", "") for block in content if block.get("type") == "text"))
    return out


@pytest.mark.parametrize("text", LITERAL_TEXTS)
@pytest.mark.parametrize("shape", ["string, non-streaming", "parts, streaming"])
def test_the_model_receives_exactly_the_text_the_client_sent(real_stack, claude_model, mock_upstream, text, shape):
    token = unique("lit")
    sent = f"{text} {token}"
    content = sent if shape.startswith("string") else [{"type": "text", "text": sent}]
    body = chat_body("", claude_model, stream=shape == "parts, streaming")
    body["messages"] = [{"role": "user", "content": content}]
    if body.get("stream"):
        result = stream_raw(real_stack, body)
        assert result.status == 200 and result.done, result.body
        answer = result.text
    else:
        resp = post_chat(real_stack, body)
        assert resp.status_code == 200, resp.text
        answer = resp.json()["choices"][0]["message"]["content"]
    requests = upstream_requests_with(mock_upstream, token)
    assert len(requests) == 1, "the CLI answered by itself instead of asking the model"
    assert user_texts(requests[0]) == [sent]
    assert token in answer, answer  # the model's answer, not the CLI's own output


@pytest.mark.parametrize("text", ["/context", "/model claude-opus-4-5", "!ls /"])
def test_prior_turns_reach_the_model_verbatim(real_stack, claude_model, mock_upstream, text):
    token = unique("hist")
    first = f"{text} {token}"
    body = chat_body("", claude_model)
    body["messages"] = [{"role": "user", "content": first}, {"role": "assistant", "content": "noted"},
                        {"role": "user", "content": [{"type": "text", "text": f"/usage {token}"}]}]
    resp = post_chat(real_stack, body)
    assert resp.status_code == 200, resp.text
    requests = upstream_requests_with(mock_upstream, token)
    assert len(requests) == 1
    assert user_texts(requests[0]) == [first, f"/usage {token}"]
    assert requests[0]["model"].startswith("claude-sonnet"), "a /model text must not switch the model"


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"])
def test_a_body_that_is_not_json_is_415(fake_stack, content_type):
    body = json.dumps(chat_body(f"hi {unique()}", "claude-sonnet-4-5"))
    resp = post_chat(fake_stack, body, headers={"Content-Type": content_type})
    assert resp.status_code == 415, resp.text
    error = resp.json()["error"]
    assert error["code"] == "unsupported_media_type" and "Content-Type" in error["message"]


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", None])
def test_json_with_a_charset_or_without_content_type_is_accepted(fake_stack, content_type):
    body = json.dumps(chat_body(f"hi {unique()}", "claude-sonnet-4-5"))
    headers = {"Content-Type": content_type} if content_type else {}
    with httpx.Client(timeout=30) as client:
        resp = client.post(fake_stack.base_url + "/v1/chat/completions", content=body.encode(), headers=headers)
    assert resp.status_code == 200, resp.text


def test_a_failed_cli_tells_the_client_the_request_id_and_the_log_why(fake_stack):
    resp = post_chat(fake_stack, chat_body(f"FAKE:crash-start {unique()}", "claude-sonnet-4-5"))
    assert resp.status_code == 502, resp.text
    message = resp.json()["error"]["message"]
    request_id = resp.headers["x-request-id"]
    assert request_id in message
    assert "boom" not in message and "/tmp" not in message and "cca-" not in message
    logged = [line for line in fake_stack.log_lines() if line.get("request_id") == request_id]
    assert any("boom" in json.dumps(line) for line in logged), logged


def test_health_shows_no_server_paths(fake_stack):
    resp = fake_stack.get("/health")
    assert resp.status_code == 200
    body = resp.json()
    assert set(body) == {"status", "cli", "cli_slots", "draining"}
    assert set(body["cli"]) == {"available", "version"} and body["cli"]["available"] is True
    assert "/" not in json.dumps(body["cli"])


@pytest.fixture
def trickle_stack(make_stack):
    return make_stack(fake=True, name="trickle", extra_env={"CCA_CLIENT_WRITE_TIMEOUT_SECONDS": "2"})


def test_a_client_that_reads_too_slowly_is_dropped_and_its_cli_ended(trickle_stack):
    """A client that reads a little, often enough for nginx's send_timeout, but takes far longer than the
    responder's write timeout to accept the events: its CLI must not live on."""
    body = json.dumps(chat_body(f"FAKE:flood {unique()}", "claude-sonnet-4-5", stream=True)).encode()
    host, port = trickle_stack.base_url.removeprefix("http://").split(":")
    client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    client.connect((host, int(port)))
    try:
        client.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                       + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
        client.settimeout(10)
        first = client.recv(1024)
        assert first.startswith(b"HTTP/1.1 200"), first[:200]
        assert wait_until(lambda: trickle_stack.children(include_zombies=False), timeout=10), "no CLI started"
        # Trickle: 256 bytes every 0.2 s (1.3 KB/s), for at most 30 s, until the CLI is gone.
        deadline = time.monotonic() + 30
        cli_gone_after = None
        started = time.monotonic()
        while time.monotonic() < deadline:
            try:
                if not client.recv(256):
                    break
            except socket.timeout:
                pass
            if not trickle_stack.children(include_zombies=False):
                cli_gone_after = time.monotonic() - started
                break
            time.sleep(0.2)
        assert cli_gone_after is not None, "the CLI stayed alive while the client trickled"
        # 2 s write timeout, once the ~200 KB of socket buffers between us are full at 1.3 KB/s... and margin.
        assert cli_gone_after < 25, cli_gone_after
    finally:
        client.close()
    line = wait_until(lambda: [l for l in trickle_stack.log_lines() if l.get("msg") == "request"
                                and l.get("path") == "/v1/chat/completions"], timeout=10)
    assert line and line[-1].get("client_disconnected") is True, line
