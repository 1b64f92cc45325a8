"""The responder's own life: stopping with SIGTERM, idle and with a stream in flight."""

from __future__ import annotations

import json
import os
import signal
import time

from support import BackgroundStream, chat_body, post_chat, processes_using, unique, wait_until

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
    client = BackgroundStream(stack, chat_body(prompt, MODEL, stream=True))
    client.start()
    assert client.started.wait(15) and client.payloads, f"the stream never started: {client.describe()}"
    started = time.monotonic()
    os.kill(stack.responder_pid, signal.SIGTERM)
    stack.responder.wait(timeout=30)
    elapsed = time.monotonic() - started
    client.join(timeout=30)
    assert elapsed < 25, f"responder took {elapsed:.1f}s to stop with one stream in flight"
    assert client.error is None, f"the stream was cut without an ending: {client.describe()}"
    # The turn (10 deltas, 0.5 s apart) is far inside the 30 s drain deadline: it ends complete.
    assert client.done, f"stream did not end properly: {client.describe()}"
    assert not client.errors, f"the stream was ended instead of drained: {client.describe()}"
    assert client.text == f"Fake answer to: {prompt}", client.describe()
    assert client.stream.finish_reasons == ["stop"], client.describe()
    left = wait_until(lambda: not fake_cli_processes(stack), 3)
    assert left, f"CLI processes outlived the responder: {fake_cli_processes(stack)}"


def test_past_the_drain_deadline_streams_end_with_a_shutting_down_event(make_stack):
    stack = make_stack(fake=True, name="drain-deadline", extra_env={"CCA_DRAIN_TIMEOUT_SECONDS": "1"})
    # FAKE:slow streams a delta every 0.5 s for 5 s: longer than the 1 s drain deadline.
    streamer = BackgroundStream(stack, chat_body(f"FAKE:slow {unique()}", MODEL, stream=True))
    streamer.start()
    assert streamer.started.wait(10) and streamer.payloads, f"the stream never started: {streamer.describe()}"
    started = time.monotonic()
    os.kill(stack.responder_pid, signal.SIGTERM)
    code = stack.responder.wait(timeout=20)
    elapsed = time.monotonic() - started
    streamer.join(timeout=10)
    assert code == 0
    assert 0.8 < elapsed < 5, f"stopped after {elapsed:.1f}s with a 1 s drain deadline"
    payloads = streamer.payloads
    assert payloads[-1] == "[DONE]", payloads
    assert json.loads(payloads[-2])["error"]["code"] == "shutting_down"
    assert not fake_cli_processes(stack), "a CLI outlived the responder"


def test_sighup_is_ignored_and_the_responder_keeps_serving(make_stack):
    stack = make_stack(fake=True, name="sighup")
    os.kill(stack.responder_pid, signal.SIGHUP)
    # The responder says it has handled the signal; then it must still be there, and serving.
    assert stack.wait_for_log_line(lambda line: "SIGHUP ignored" in line.get("msg", ""), 10), \
        stack.log_tail(10)
    assert stack.responder.poll() is None
    assert post_chat(stack, chat_body(f"after hup {unique()}", MODEL)).status_code == 200
    assert stack.responder.poll() is None


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
