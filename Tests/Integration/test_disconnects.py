"""Clients that go away at every stage: before the CLI starts, mid-stream, during the final chunks.
Each time the CLI's process group must be gone within a second, and the responder keeps serving."""
from __future__ import annotations

import json
import socket
import statistics
import threading
import time

from support import ChatStream, chat_body, post_chat, stream_then_disconnect, unique, wait_until

MODEL = "claude-sonnet-4-5"


def _assert_cli_running(stack, _stream=None) -> None:
    assert stack.children(), "the CLI should be running mid-stream"


def _gone_after(stack) -> float:
    """Seconds from now until the responder has no child process left (10 s at most)."""
    start = time.monotonic()
    wait_until(lambda: not stack.children(), 10, interval=0.005)
    return time.monotonic() - start


def test_disconnect_mid_stream_ends_the_cli_group_within_a_second(fake_stack):
    times = []
    for _ in range(8):
        stream_then_disconnect(fake_stack, chat_body(f"FAKE:slow {unique()}", MODEL, stream=True),
                               while_open=lambda _: _assert_cli_running(fake_stack))
        times.append(_gone_after(fake_stack))
    print(f"\ndisconnect -> CLI group gone: median {statistics.median(times) * 1000:.0f} ms, "
          f"max {max(times) * 1000:.0f} ms over {len(times)} disconnects")
    assert max(times) < 1.0, times
    assert not fake_stack.children(include_zombies=True)


def test_disconnect_while_waiting_for_a_slot_starts_no_cli(make_stack):
    stack = make_stack(fake=True, name="one-slot",
                       extra_env={"CCA_MAX_CONCURRENT_CLI": "1", "CCA_QUEUE_TIMEOUT_MS": "3000"})
    busy = threading.Thread(target=lambda: post_chat(stack, chat_body(f"FAKE:slow {unique()}", MODEL), timeout=30))
    busy.start()
    assert wait_until(lambda: len(stack.invocations()) == 1, 10)
    # A raw client sends its request and leaves while the only slot is taken.
    body = json.dumps(chat_body(f"gave-up {unique()}", MODEL)).encode()
    with socket.create_connection(("127.0.0.1", stack.port), timeout=5) as raw:
        raw.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        time.sleep(0.3)
    busy.join(30)
    time.sleep(0.5)
    prompts = [inv.get("stdin", "") for inv in stack.invocations()]
    assert not any("gave-up" in p for p in prompts), "a CLI was started for a client that had left"
    assert stack.get("/health").status_code == 200
    lines = [l for l in stack.log_lines() if l.get("client_disconnected")]
    assert any(l.get("status") == 499 for l in lines), lines


def test_disconnect_after_the_finish_chunk_leaves_nothing_behind(fake_stack):
    body = chat_body(f"FAKE:slow {unique()}", MODEL, stream=True, stream_options={"include_usage": True})
    with ChatStream(fake_stack, body, timeout=30) as stream:
        # Leave before the usage chunk and [DONE] are read.
        assert stream.read_until(lambda s: s.finish_reasons), stream.describe()
    assert _gone_after(fake_stack) < 1.0
    assert post_chat(fake_stack, chat_body(f"after {unique()}", MODEL)).status_code == 200


def test_disconnect_right_after_sending_the_request(fake_stack):
    for _ in range(5):
        body = json.dumps(chat_body(f"FAKE:slow {unique()}", MODEL, stream=True)).encode()
        with socket.create_connection(("127.0.0.1", fake_stack.port), timeout=5) as raw:
            raw.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    assert _gone_after(fake_stack) < 1.5
    assert fake_stack.get("/health").status_code == 200
