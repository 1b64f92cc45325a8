"""Clients that go away at every stage: before the CLI starts, mid-stream, during the final chunks.
Each time the CLI's process group must be gone within a second of the hang-up, and the responder
keeps serving. Times are measured from the moment the client closed (ChatStream.closed_at) to the
scan that found the group empty."""
from __future__ import annotations

import json
import socket
import statistics
import threading
import time

from support import (ChatStream, chat_body, post_chat, seconds_until_group_gone,
                     stream_then_disconnect, unique, wait_until)

MODEL = "claude-sonnet-4-5"


def the_cli(stack):
    """The one CLI the responder runs now (it leads its own process group)."""
    children = stack.children(include_zombies=False)
    assert len(children) == 1, f"expected one CLI running mid-stream: {children}"
    cli = children[0]
    assert cli.pgid == cli.pid, f"the CLI does not lead its own process group: {cli}"
    return cli


def raw_post(port: int, body: dict) -> socket.socket:
    """Sends a chat completion over a bare socket (nothing is read back); the caller closes it."""
    data = json.dumps(body).encode()
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    raw.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: " + str(len(data)).encode() + b"\r\n\r\n" + data)
    return raw


def chat_request_lines(stack) -> list[dict]:
    return [line for line in stack.log_lines()
            if line.get("msg") == "request" and line.get("path") == "/v1/chat/completions"]


def test_disconnect_mid_stream_ends_the_cli_group_within_a_second(fake_stack):
    times = []
    for _ in range(8):
        seen = {}
        stream = stream_then_disconnect(
            fake_stack, chat_body(f"FAKE:slow {unique()}", MODEL, stream=True),
            while_open=lambda _: seen.setdefault("cli", the_cli(fake_stack)))
        took = seconds_until_group_gone(seen["cli"].pgid, since=stream.closed_at)
        assert took is not None, f"the CLI group was still there 10 s after the hang-up: {seen['cli']}"
        times.append(took)
    print(f"\ndisconnect -> CLI group gone: median {statistics.median(times) * 1000:.0f} ms, "
          f"max {max(times) * 1000:.0f} ms over {len(times)} disconnects")
    assert max(times) < 1.0, times
    assert not fake_stack.children(include_zombies=True)


def test_disconnect_while_waiting_for_a_slot_starts_no_cli(make_stack):
    stack = make_stack(fake=True, name="one-slot",
                       extra_env={"CCA_MAX_CONCURRENT_CLI": "1", "CCA_QUEUE_TIMEOUT_MS": "3000"})
    busy = threading.Thread(target=lambda: post_chat(stack, chat_body(f"FAKE:slow {unique()}", MODEL), timeout=30))
    busy.start()
    assert wait_until(lambda: len(stack.invocations()) == 1, 10), "the first request started no CLI"
    # A raw client sends its request and leaves once it waits for the only slot.
    token = unique("gave-up")
    with raw_post(stack.port, chat_body(token, MODEL)):
        assert wait_until(lambda: stack.get("/status").json()["cli"]["waiting"] == 1, 10), \
            "the second request never queued for the slot"
    gave_up = stack.wait_for_log_line(lambda l: l.get("msg") == "request" and l.get("status") == 499, 10)
    assert gave_up is not None and gave_up.get("client_disconnected"), \
        f"no 499 logged for the client that left: {chat_request_lines(stack)}"
    busy.join(30)
    assert not busy.is_alive(), "the first request did not end"
    # The request is over (logged), so no CLI can start for it any more.
    assert not any(token in json.dumps(inv.get("stdin")) for inv in stack.invocations()), \
        "a CLI was started for a client that had left"
    assert len(stack.invocations()) == 1
    assert stack.get("/health").status_code == 200


def test_disconnect_after_the_finish_chunk_leaves_nothing_behind(fake_stack):
    body = chat_body(f"FAKE:slow {unique()}", MODEL, stream=True, stream_options={"include_usage": True})
    with ChatStream(fake_stack, body, timeout=30) as stream:
        stream.read_content(1)
        cli = the_cli(fake_stack)
        # Leave before the usage chunk and [DONE] are read.
        assert stream.read_until(lambda s: s.finish_reasons), stream.describe()
    took = seconds_until_group_gone(cli.pgid, since=stream.closed_at)
    assert took is not None and took < 1.0, f"CLI group gone after {took} s: {cli}"
    assert post_chat(fake_stack, chat_body(f"after {unique()}", MODEL)).status_code == 200


def test_disconnect_right_after_sending_the_request(make_stack):
    # A stack of its own: every chat completion in its log is one of these five.
    stack = make_stack(fake=True, name="leave-at-once")
    for _ in range(5):
        with raw_post(stack.port, chat_body(f"FAKE:slow {unique()}", MODEL, stream=True)):
            closed_at = time.monotonic()
    # Each request ends (and is logged) once the responder notices the client left; only then
    # is "no CLI left" meaningful: before, a CLI might still be about to start.
    ended = wait_until(lambda: len(chat_request_lines(stack)) >= 5, 10, interval=0.01)
    took = time.monotonic() - closed_at
    lines = chat_request_lines(stack)
    assert ended, f"only {len(lines)} of 5 abandoned requests ended within 10 s: {lines}"
    assert len(lines) == 5 and all(line.get("client_disconnected") for line in lines), lines
    assert not stack.children(), f"CLIs left behind: {stack.children()}"
    assert took < 1.5, f"the last abandoned request ended {took:.2f}s after its client left"
    assert stack.get("/health").status_code == 200
