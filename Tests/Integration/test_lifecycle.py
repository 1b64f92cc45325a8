"""The responder's own life: stopping with SIGTERM, idle and with a stream in flight."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import httpx

from support import chat_body, iter_sse_data, post_chat, processes_using, unique, wait_until

MODEL = "claude-sonnet-4-5"


def fake_cli_processes(stack) -> list:
    """Live processes running this stack's fake CLI (zombies have no cwd and are not listed)."""
    return processes_using(stack.prefix / "fakecli")


def test_sigterm_stops_an_idle_responder_promptly(make_stack):
    stack = make_stack(fake=True, name="sigterm-idle")
    assert post_chat(stack, chat_body(f"warm up {unique()}", MODEL)).status_code == 200
    started = time.monotonic()
    os.kill(stack.responder_pid, signal.SIGTERM)
    code = stack.responder.wait(timeout=15)
    elapsed = time.monotonic() - started
    assert elapsed < 10, f"idle responder took {elapsed:.1f}s to stop"
    assert code == 0, f"exit status {code} after SIGTERM"


def test_sigterm_with_a_stream_in_flight_ends_it_cleanly(make_stack):
    stack = make_stack(fake=True, name="sigterm-busy")
    prompt = f"FAKE:slow {unique()}"
    first_chunk = threading.Event()
    outcome = {}

    def client():
        payloads = []
        try:
            with httpx.Client(timeout=httpx.Timeout(30.0, connect=5.0)) as c:
                with c.stream("POST", stack.base_url + "/v1/chat/completions",
                              json=chat_body(prompt, MODEL, stream=True)) as resp:
                    outcome["status"] = resp.status_code
                    for payload in iter_sse_data(resp.iter_lines()):
                        payloads.append(payload)
                        first_chunk.set()
        except httpx.HTTPError as err:
            outcome["error"] = repr(err)
        finally:
            outcome["payloads"] = payloads
            first_chunk.set()

    thread = threading.Thread(target=client, daemon=True)
    thread.start()
    assert first_chunk.wait(15), "the stream never started"
    started = time.monotonic()
    os.kill(stack.responder_pid, signal.SIGTERM)
    stack.responder.wait(timeout=30)
    elapsed = time.monotonic() - started
    thread.join(timeout=30)
    assert elapsed < 25, f"responder took {elapsed:.1f}s to stop with one stream in flight"
    payloads = outcome["payloads"]
    assert "error" not in outcome, f"the stream was cut without an ending: {outcome}"
    assert payloads and payloads[-1] == "[DONE]", f"stream did not end properly: {payloads[-3:]}"
    events = [json.loads(p) for p in payloads[:-1]]
    text = "".join((c.get("delta") or {}).get("content") or ""
                   for e in events for c in e.get("choices") or [])
    drained = text == f"Fake answer to: {prompt}"
    assert drained or any("error" in e for e in events), \
        f"stream neither finished nor reported an error: {text!r}"
    left = wait_until(lambda: not fake_cli_processes(stack), 3)
    assert left, f"CLI processes outlived the responder: {fake_cli_processes(stack)}"


def test_past_the_drain_deadline_streams_end_with_a_shutting_down_event(make_stack):
    stack = make_stack(fake=True, name="drain-deadline", extra_env={"CCA_DRAIN_TIMEOUT_SECONDS": "1"})
    payloads: list[str] = []
    started_streaming = threading.Event()

    def client():
        with httpx.Client(timeout=httpx.Timeout(30.0, connect=5.0)) as c:
            with c.stream("POST", stack.base_url + "/v1/chat/completions",
                          json=chat_body(f"FAKE:slow {unique()}", MODEL, stream=True)) as resp:
                for payload in iter_sse_data(resp.iter_lines()):
                    payloads.append(payload)
                    started_streaming.set()

    # FAKE:slow streams a delta every 0.5 s for 5 s: longer than the 1 s drain deadline.
    streamer = threading.Thread(target=client, daemon=True)
    streamer.start()
    assert started_streaming.wait(10), "the stream never started"
    started = time.monotonic()
    os.kill(stack.responder_pid, signal.SIGTERM)
    code = stack.responder.wait(timeout=20)
    elapsed = time.monotonic() - started
    streamer.join(timeout=10)
    assert code == 0
    assert 0.8 < elapsed < 5, f"stopped after {elapsed:.1f}s with a 1 s drain deadline"
    assert payloads[-1] == "[DONE]", payloads
    assert json.loads(payloads[-2])["error"]["code"] == "shutting_down"
    assert not fake_cli_processes(stack), "a CLI outlived the responder"


def test_sighup_is_ignored_and_the_responder_keeps_serving(make_stack):
    stack = make_stack(fake=True, name="sighup")
    os.kill(stack.responder_pid, signal.SIGHUP)
    time.sleep(0.3)
    assert stack.responder.poll() is None
    assert post_chat(stack, chat_body(f"after hup {unique()}", MODEL)).status_code == 200
    assert any("SIGHUP ignored" in line.get("msg", "") for line in stack.log_lines())


def test_a_second_instance_does_not_take_over_a_live_socket(make_stack):
    import subprocess
    from stack import responder_binary

    stack = make_stack(fake=True, name="second-instance")
    inode_before = os.stat(stack.socket_path).st_ino
    second = subprocess.run([str(responder_binary())], env={"CCA_LISTEN": str(stack.socket_path), "PATH": "/usr/bin:/bin"},
                            capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)
    assert second.returncode != 0
    assert "already serving" in second.stderr
    assert os.stat(stack.socket_path).st_ino == inode_before, "the live socket file was replaced"
    assert post_chat(stack, chat_body(f"still mine {unique()}", MODEL)).status_code == 200
