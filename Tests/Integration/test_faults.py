"""Faults injected from outside: a CLI killed mid-stream, upstream server errors with the real CLI,
and a scratch folder on a full disk. Each ends in a clear OpenAI error, and nothing is left running."""
from __future__ import annotations

import ctypes
import errno
import json
import os
import signal
import tempfile
import time

import pytest

from support import ChatStream, assert_openai_error, chat_body, post_chat, unique, wait_until

MODEL = "claude-sonnet-4-5"


def _logged(stack, request_id: str, message: str) -> list[dict]:
    """The responder's log lines about one request with the given message."""
    return [line for line in stack.log_lines() if line.get("request_id") == request_id and line.get("msg") == message]


def _stream_and_kill_cli(stack, prompt: str, model: str) -> tuple[list[str], str]:
    """Streams until the first content delta, SIGKILLs the CLI's whole group, and returns every payload and
    the request id."""
    with ChatStream(stack, chat_body(prompt, model, stream=True), timeout=30) as stream:
        assert stream.status == 200, stream.describe()
        stream.read_content(1)
        children = stack.children(include_zombies=False)
        assert children, "the CLI should be running"
        for child in children:
            os.killpg(child.pid, signal.SIGKILL)
        stream.read_all()
    return stream.payloads, stream.headers["x-request-id"]


def _assert_cli_failure_named_and_logged(stack, payloads: list[str], request_id: str):
    """The client learns that the CLI failed and under which request id; the log says how (signal 9)."""
    assert payloads[-1] == "[DONE]"
    error = json.loads(payloads[-2])["error"]
    assert error["code"] == "cli_failed" and request_id in error["message"], error
    assert "signal" not in error["message"], error
    logged = wait_until(lambda: _logged(stack, request_id, "CLI ended before finishing the answer"), 5)
    assert logged and logged[0]["cli_exit"] == "signal 9", logged


def test_cli_killed_mid_stream_ends_with_an_error_event(fake_stack):
    payloads, request_id = _stream_and_kill_cli(fake_stack, f"FAKE:slow {unique()}", MODEL)
    _assert_cli_failure_named_and_logged(fake_stack, payloads, request_id)
    assert wait_until(lambda: not fake_stack.children(), 2), fake_stack.children()
    assert post_chat(fake_stack, chat_body(f"after {unique()}", MODEL)).status_code == 200


def test_real_cli_killed_mid_stream_ends_with_an_error_event(real_stack, claude_model):
    payloads, request_id = _stream_and_kill_cli(real_stack, f"MOCK:slow MOCK:long {unique()}", claude_model)
    _assert_cli_failure_named_and_logged(real_stack, payloads, request_id)
    assert wait_until(lambda: not real_stack.children(), 2), real_stack.children()


@pytest.mark.parametrize("stream", [False, True])
def test_upstream_500_with_the_real_cli_is_a_502(real_stack, claude_model, stream):
    started = time.monotonic()
    resp = post_chat(real_stack, chat_body(f"MOCK:500 {unique()}", claude_model, stream=stream))
    assert_openai_error(resp, 502)
    assert resp.json()["error"]["code"] == "upstream_error"
    assert "500" in resp.json()["error"]["message"]
    assert time.monotonic() - started < 15, "retries should be capped"


MNT_DETACH = 2


@pytest.fixture
def tiny_disk():
    """A 1 MiB tmpfs: a scratch root with no room for a CLI's files. Mounted with mount(2) itself,
    so no program is needed; it needs root, which the test run has (a missing privilege fails, it never skips)."""
    libc = ctypes.CDLL(None, use_errno=True)
    folder = tempfile.mkdtemp(prefix="cca-tinydisk-")
    if libc.mount(b"tmpfs", os.fsencode(folder), b"tmpfs", 0, b"size=1m") != 0:
        code = ctypes.get_errno()
        os.rmdir(folder)
        hint = " (run the tests as root, as CI does: mount(2) needs CAP_SYS_ADMIN)" if code == errno.EPERM else ""
        pytest.fail(f"mounting a tmpfs on {folder} failed: {os.strerror(code)}{hint}", pytrace=False)
    try:
        yield folder
    finally:
        libc.umount2(os.fsencode(folder), MNT_DETACH)
        os.rmdir(folder)


def test_full_scratch_disk_is_a_clear_503(make_stack, tiny_disk):
    stack = make_stack(fake=True, name="tiny-disk", extra_env={"CCA_SCRATCH_DIR": tiny_disk})
    resp = post_chat(stack, chat_body(f"hello {unique()}", MODEL))
    assert_openai_error(resp, 503)
    error = resp.json()["error"]
    assert error["code"] == "scratch_unavailable"
    assert "disk" in error["message"].lower() and resp.headers["x-request-id"] in error["message"]
    assert tiny_disk not in error["message"], "no server path for the client"
    logged = _logged(stack, resp.headers["x-request-id"], "cannot create scratch folder")
    assert logged and "free" in logged[0]["error"], logged
    assert resp.headers.get("retry-after")
    assert not stack.invocations(), "no CLI may start without room for its files"
    assert os.listdir(tiny_disk) == []
