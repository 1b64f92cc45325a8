"""Scale-out: two responders (one socket each, the same fake CLI) behind one nginx upstream.

When one instance dies (SIGKILL) its in-flight requests end at once (a clean error or a cut
stream, never a hang) and new requests go to the other; a POST that reached the dead instance is
never retried on the other (it may have started a CLI turn). When one is stopped (SIGTERM), its
in-flight streams finish (graceful drain) and new requests go to the other.
"""

from __future__ import annotations

import json
import os
import signal
import time

import httpx

import fastcgi_raw as fr
from support import BackgroundStream, alive, chat_body, post_chat, unique, wait_until

MODEL = "claude-sonnet-4-5"
STREAMS = 6            # FAKE:slow streams in flight (10 deltas 0.5 s apart: ~5 s each)
FOLLOW_UPS = 20        # requests in a row that must all succeed on the surviving instance
END_WITHIN = 4.0       # seconds for a stream on a killed instance to end


def fake_answer(prompt: str) -> str:
    return f"Fake answer to: {prompt}"


def stream_client(stack, prompt: str, timeout: float = 30.0) -> BackgroundStream:
    return BackgroundStream(stack, chat_body(prompt, MODEL, stream=True), timeout=timeout)


def instance_of(stack, token: str) -> int | None:
    """Which responder (index into stack.instances) started the CLI for the prompt with ``token``
    (from fake_claude.py's invocation log: its parent pid)."""
    pids = [p.pid for p in stack.instances]
    for entry in cli_starts_for(stack, token):
        if entry.get("ppid") in pids:
            return pids.index(entry["ppid"])
    return None


def cli_starts_for(stack, token: str) -> list[dict]:
    return [e for e in stack.invocations() if any(token in s for s in e.get("stdin") or [])]


def wait_for_instance(stack, token: str, timeout: float) -> int | None:
    """instance_of(), waiting up to ``timeout`` seconds for the CLI to be started."""
    wait_until(lambda: instance_of(stack, token) is not None, timeout)
    return instance_of(stack, token)


def start_streams(stack, count: int = STREAMS) -> tuple[list[BackgroundStream], dict[int, list[BackgroundStream]]]:
    """Starts ``count`` slow streams and waits until each is flowing; returns them and which
    instance serves each."""
    clients = [stream_client(stack, f"FAKE:slow {unique('s')}") for _ in range(count)]
    for client in clients:
        client.start()
    for client in clients:
        assert client.started.wait(15), f"a stream never started: {client.describe()}"
        assert client.status == 200 and client.payloads, client.describe()
    by_instance: dict[int, list[BackgroundStream]] = {}
    for client in clients:
        index = wait_for_instance(stack, client.prompt.split()[-1], 5)
        assert index is not None, f"no CLI invocation logged for {client.prompt}"
        by_instance.setdefault(index, []).append(client)
    assert set(by_instance) == set(range(len(stack.instances))), \
        f"nginx did not spread the streams over every instance: {by_instance}"
    return clients, by_instance


def follow_ups_all_succeed(stack, count: int = FOLLOW_UPS, per_request: float = 5.0):
    results = []
    for n in range(count):
        prompt = f"after {n} {unique('f')}"
        started = time.monotonic()
        try:
            resp = post_chat(stack, chat_body(prompt, MODEL), timeout=per_request)
            content = resp.json()["choices"][0]["message"]["content"] \
                if resp.status_code == 200 else resp.text[:200]
            results.append((resp.status_code, round(time.monotonic() - started, 2), content, prompt))
        except httpx.HTTPError as err:
            results.append((repr(err), round(time.monotonic() - started, 2), None, prompt))
    bad = [r for r in results if r[0] != 200 or r[2] != fake_answer(r[3])]
    assert not bad, f"{len(bad)} of {count} follow-up requests failed: {bad[:5]}"
    return results


def test_sigkill_one_instance_ends_its_streams_and_the_other_takes_over(make_scaled_stack):
    stack = make_scaled_stack(2, name="scale-kill")
    clients, by_instance = start_streams(stack)
    victim = stack.instances[0]
    victim_clis = [e["pid"] for e in stack.invocations() if e["ppid"] == victim.pid]

    killed_at = time.monotonic()
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=5)

    for client in clients:
        client.join(timeout=20)
        assert not client.is_alive(), f"a stream hung after the kill: {client.describe()}"
    for client in by_instance[0]:
        took = client.ended_at - killed_at
        assert took < END_WITHIN, f"a stream on the killed instance took {took:.1f}s to end"
        # A cut stream: nginx ends the chunked body cleanly, with no [DONE] and no error event;
        # whatever arrived is the start of this prompt's own answer.
        assert client.status == 200 and client.error is None, client.describe()
        assert not client.errors, client.describe()
        assert fake_answer(client.prompt).startswith(client.text), client.describe()
        assert not client.done, f"a stream on the killed instance claims to be complete: {client.describe()}"
    for client in by_instance[1]:
        assert client.done and client.text == fake_answer(client.prompt), client.describe()

    follow_ups_all_succeed(stack)
    assert stack.get("/health").status_code == 200
    # The killed instance's CLIs lose their stdout and end on their next write.
    left = wait_until(lambda: not [p for p in victim_clis if alive(p)], 5)
    assert left, f"CLIs of the killed instance are still running: {[p for p in victim_clis if alive(p)]}"


def test_a_post_that_reached_a_killed_instance_is_not_retried_on_the_other(make_scaled_stack):
    # The status line is held back until the first token: a CLI that says nothing keeps nginx
    # waiting for the response header, the one moment a retry would be possible.
    stack = make_scaled_stack(2, name="scale-noretry", extra_env={"CCA_PING_INTERVAL_SECONDS": "60"})
    token = unique("h")
    client = stream_client(stack, f"FAKE:hang {token}", timeout=20)
    client.start()
    index = wait_for_instance(stack, token, 10)
    assert index is not None, "the CLI was never started"
    survivor = stack.socket_paths[1 - index]

    def survivor_accepted() -> int:
        """Requests the other instance has accepted, this direct FastCGI GET /status included."""
        return json.loads(fr.request(survivor, "/status").body)["requests"]["accepted"]

    accepted_before = survivor_accepted()
    killed_at = time.monotonic()
    os.kill(stack.instances[index].pid, signal.SIGKILL)
    client.join(timeout=15)
    assert not client.is_alive(), "the request hung after its responder was killed"
    assert client.ended_at - killed_at < END_WITHIN, client.describe()
    assert client.status == 503, client.describe()
    err = json.loads(client.body)["error"]
    assert err["code"] == "responder_unavailable", err
    # nginx logs the request once it is done with it: any retry would have been sent before.
    assert wait_until(lambda: [line for line in stack.access_log_lines()
                               if '"POST /v1/chat/completions HTTP/1.1" 503 ' in line], 10), \
        stack.access_log_lines()
    assert survivor_accepted() == accepted_before + 1, "the POST was passed to the other instance"
    starts = cli_starts_for(stack, token)
    assert len(starts) == 1, f"the request was run {len(starts)} times: {[s['ppid'] for s in starts]}"


def test_sigterm_one_instance_drains_its_streams_then_the_other_takes_over(make_scaled_stack):
    stack = make_scaled_stack(2, name="scale-term")
    clients, by_instance = start_streams(stack)
    victim = stack.instances[0]
    os.kill(victim.pid, signal.SIGTERM)
    for client in clients:
        client.join(timeout=20)
        assert not client.is_alive(), f"a stream hung: {client.describe()}"
    # Graceful drain: the stopped instance's streams end complete, like the others.
    for client in clients:
        assert client.done and client.text == fake_answer(client.prompt), client.describe()
    assert victim.wait(timeout=10) == 0
    assert not stack.socket_paths[0].exists(), "the stopped instance left its socket file"
    follow_ups_all_succeed(stack)


def test_while_an_instance_drains_new_requests_go_to_the_other(make_scaled_stack):
    stack = make_scaled_stack(2, name="scale-drain")
    clients, _ = start_streams(stack)
    os.kill(stack.instances[0].pid, signal.SIGTERM)
    try:
        # The drain lasts ~4 s more (the slow streams): every request must be answered at once.
        follow_ups_all_succeed(stack, count=10, per_request=2.0)
    finally:
        for client in clients:
            client.join(timeout=20)
