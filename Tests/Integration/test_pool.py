"""The warm pool of pre-started CLIs, with the real CLI against the mock upstream.

The proof: for a mixed sequence of requests on reused processes, each upstream request is what a cold CLI sends for
the same request, field by field (ids and session headers aside), and nothing of one request reaches a later one.
Then: what ends a pooled process (an error, a disconnect, a cut, its use limit, dying while idle, a shutdown) and the
facts of the CLI the pool leans on, pinned so that a CLI upgrade that changes them fails here loudly.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid

import httpx
import pytest

from support import (assert_openai_error, post_chat, proc_descendants, stream_then_disconnect, unique, wait_until)
from test_api_keys import KeyedStack, bearer, keys_new

POOL_ENV = {"CCA_POOL_SIZE": "1"}
# Upstream fields that differ between any two CLI processes whatever they are sent: the session id.
IGNORED_BODY_FIELDS = {"metadata"}
IGNORED_HEADERS = {"x-claude-code-session-id", "content-length", "x-client-request-id"}


def pool_status(stack) -> dict:
    return stack.get("/status").json()["pool"]


def wait_for_idle(stack, fresh: int = 0, used: int = 0, timeout: float = 30.0) -> dict:
    status = wait_until(lambda: (s := pool_status(stack))["idle_fresh"] >= fresh and s["idle_used"] >= used and s, timeout)
    assert status, f"the pool did not reach {fresh} fresh and {used} used idle CLIs: {pool_status(stack)}\n{stack.log_tail()}"
    return status


def records_with(mock, token: str) -> list[dict]:
    """The upstream /v1/messages requests (method, path, headers, body) whose messages mention ``token``."""
    return [r for r in mock.message_requests()
            if isinstance(r.get("body"), dict) and token in json.dumps(r["body"].get("messages"), ensure_ascii=False)]


def comparable(record: dict) -> dict:
    body = {k: v for k, v in record["body"].items() if k not in IGNORED_BODY_FIELDS}
    headers = {k.lower(): v for k, v in record["headers"].items() if k.lower() not in IGNORED_HEADERS}
    return {"path": record["path"], "headers": headers, "body": body}


def differences(cold: dict, warm: dict, where: str = "") -> list[str]:
    if isinstance(cold, dict) and isinstance(warm, dict):
        out = []
        for key in sorted(set(cold) | set(warm)):
            out += differences(cold.get(key, "<absent>"), warm.get(key, "<absent>"), f"{where}.{key}")
        return out
    return [] if cold == warm else [f"{where}: cold {json.dumps(cold)[:300]} warm {json.dumps(warm)[:300]}"]


def cli_start(stack, response) -> str | None:
    line = stack.request_log_line(response.headers["x-request-id"])
    assert line, f"no access-log line for the request\n{stack.log_tail()}"
    return line.get("cli_start")


def pooled_cli_pids(stack) -> list[int]:
    return [p.pid for p in proc_descendants(stack.responder_pid) if p.ppid == stack.responder_pid and not p.zombie]


# Requests in an order that reuses one process: first the ones without a system prompt (a process that was given one
# cannot drop it), then system prompts that change; models, limits, thinking and histories vary throughout.
def mixed_requests(token):
    return [
        ("chat", {"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": f"first {token(0)}"}]}),
        ("chat", {"model": "claude-haiku-4-5", "max_tokens": 300,
                  "messages": [{"role": "user", "content": f"earlier {token(1)}"}, {"role": "assistant", "content": "an answer"},
                               {"role": "user", "content": f"second {token(1)}"}]}),
        ("chat", {"model": "claude-sonnet-4-5", "max_tokens": 4000, "reasoning_effort": "low", "stream": True,
                  "messages": [{"role": "user", "content": f"third MOCK:thinking {token(2)}"}]}),
        ("chat", {"model": "claude-opus-4-5", "messages": [
            {"role": "system", "content": "Be a pirate."},
            {"role": "user", "content": f"u1 {token(3)}"}, {"role": "assistant", "content": "a1"},
            {"role": "user", "content": f"u2 {token(3)}"}, {"role": "assistant", "content": "a2"},
            {"role": "user", "content": f"fourth {token(3)}"}]}),
        ("messages", {"model": "claude-sonnet-4-5", "max_tokens": 500, "system": "Answer in French.",
                      "messages": [{"role": "user", "content": f"fifth {token(4)}"}]}),
        ("chat", {"model": "claude-sonnet-4-5", "stream": True, "messages": [
            {"role": "developer", "content": "Answer in French."}, {"role": "user", "content": f"/context sixth {token(5)}"}]}),
        ("chat", {"model": "claude-haiku-4-5", "max_tokens": 2000, "messages": [
            {"role": "system", "content": "Be terse."}, {"role": "user", "content": f"seventh {token(6)}"}]}),
        # An alias the CLI resolves itself (to a model with adaptive thinking).
        ("chat", {"model": "sonnet", "reasoning_effort": "high", "messages": [
            {"role": "system", "content": "Be terse."}, {"role": "user", "content": f"eighth {token(7)}"}]}),
        ("chat", {"model": "claude-sonnet-4-5", "messages": [
            {"role": "system", "content": "Be terse."}, {"role": "user", "content": f"ninth {token(8)}"}]}),
        # The same settings again: the pooled CLI is told nothing before the prompt.
        ("chat", {"model": "claude-sonnet-4-5", "stream": True, "messages": [
            {"role": "system", "content": "Be terse."}, {"role": "user", "content": f"tenth {token(9)}"}]}),
    ]


def send(stack, kind: str, body: dict) -> httpx.Response:
    path = "/v1/chat/completions" if kind == "chat" else "/v1/messages"
    headers = {"anthropic-version": "2023-06-01"} if kind == "messages" else {}
    response = httpx.post(stack.base_url + path, json=body, headers=headers, timeout=60)
    assert response.status_code == 200, response.text
    return response


def test_pooled_requests_reach_upstream_exactly_as_cold_ones_do(make_stack, mock_upstream):
    cold = make_stack(name="pool-cold")
    warm = make_stack(name="pool-warm", extra_env=POOL_ENV)
    wait_for_idle(warm, fresh=1)
    run = unique("pool")
    token = lambda i: f"{run}-{i}"  # noqa: E731
    starts = []
    for index, (kind, body) in enumerate(mixed_requests(token)):
        send(cold, kind, body)
        cold_records = records_with(mock_upstream, token(index))
        response = send(warm, kind, body)
        starts.append(cli_start(warm, response))
        warm_records = records_with(mock_upstream, token(index))[len(cold_records):]
        assert len(cold_records) == len(warm_records) == 1, (index, len(cold_records), len(warm_records))
        found = differences(comparable(cold_records[0]), comparable(warm_records[0]))
        assert not found, f"request {index} ({kind}) reached upstream differently from a pooled CLI:\n" + "\n".join(found)
        # Nothing of an earlier request reaches this one.
        text = json.dumps(warm_records[0]["body"], ensure_ascii=False)
        leaked = [token(i) for i in range(index) if token(i) in text]
        assert not leaked, f"request {index} carried earlier requests' text: {leaked}"
    assert starts[0] == "pooled" and starts[1:] == ["reused"] * (len(starts) - 1), starts
    # One process served them all (never-used, then reset after each turn).
    status = pool_status(warm)
    assert status["served_warm"] == 1 and status["served_reused"] == len(starts) - 1 and status["served_cold"] == 0, status


def test_a_history_turn_starting_with_a_slash_starts_cold_and_is_sent_verbatim(make_stack, mock_upstream):
    stack = make_stack(name="pool-slash", extra_env=POOL_ENV)
    wait_for_idle(stack, fresh=1)
    token = unique("slash")
    body = {"model": "claude-sonnet-4-5", "messages": [
        {"role": "user", "content": "/clear"}, {"role": "assistant", "content": "ok"},
        {"role": "user", "content": f"/model opus {token}"}]}
    response = post_chat(stack, body)
    assert response.status_code == 200, response.text
    assert cli_start(stack, response) == "cold"
    [record] = records_with(mock_upstream, token)
    messages = record["body"]["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert "".join(b["text"] for b in messages[0]["content"]) == "/clear"
    assert "".join(b["text"] for b in messages[2]["content"]) == f"/model opus {token}"
    # The prompt itself may start with a slash on a pooled CLI: it is sent as text there too.
    token2 = unique("slash")
    response = post_chat(stack, {"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": f"/compact {token2}"}]})
    assert response.status_code == 200 and cli_start(stack, response) == "pooled", response.text
    [record] = records_with(mock_upstream, token2)
    assert "".join(b["text"] for b in record["body"]["messages"][-1]["content"]) == f"/compact {token2}"


def test_two_client_keys_never_share_a_pooled_cli(make_stack, mock_upstream):
    key_a, line_a = keys_new("alice")
    key_b, line_b = keys_new("bob")
    keyed = KeyedStack(lambda env: make_stack(name="pool-keys", extra_env={**POOL_ENV, "CCA_POOL_SIZE": "2", **env}),
                       [line_a, line_b], "pool-keys")
    try:
        stack = keyed.stack
        wait_for_idle(stack, fresh=2)
        sessions = {"alice": set(), "bob": set()}
        for round_ in range(3):
            for name, key in (("alice", key_a), ("bob", key_b)):
                token = unique(name)
                response = httpx.post(stack.base_url + "/v1/chat/completions", headers=bearer(key), timeout=60,
                                      json={"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": token}]})
                assert response.status_code == 200, response.text
                assert cli_start(stack, response) == ("pooled" if round_ == 0 else "reused")
                [record] = records_with(mock_upstream, token)
                sessions[name].add(record["headers"].get("x-claude-code-session-id") or record["headers"].get("X-Claude-Code-Session-Id"))
        assert len(sessions["alice"]) == len(sessions["bob"]) == 1, sessions
        assert not sessions["alice"] & sessions["bob"], sessions
    finally:
        keyed.remove()


@pytest.mark.parametrize("case", ["upstream_error", "stop_sequence", "max_tokens", "disconnect", "timeout"])
def test_a_pooled_cli_is_ended_not_reused_after_an_error_a_cut_a_disconnect_or_a_timeout(make_stack, case):
    env = {**POOL_ENV, "CCA_REQUEST_TIMEOUT_SECONDS": "2"} if case == "timeout" else POOL_ENV
    stack = make_stack(name=f"pool-{case}", extra_env=env)
    wait_for_idle(stack, fresh=1)
    [first] = pooled_cli_pids(stack)
    if case == "upstream_error":
        response = post_chat(stack, {"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "MOCK:529"}]})
        assert_openai_error(response, 503)
    elif case == "stop_sequence":
        response = post_chat(stack, {"model": "claude-sonnet-4-5", "stop": ["mock"],
                                     "messages": [{"role": "user", "content": "cut me"}]})
        assert response.status_code == 200 and response.json()["choices"][0]["message"]["content"] == "Hello from the "
    elif case == "max_tokens":
        response = post_chat(stack, {"model": "claude-sonnet-4-5", "max_tokens": 2,
                                     "messages": [{"role": "user", "content": "a long enough question to be cut"}]})
        assert response.status_code == 200 and response.json()["choices"][0]["finish_reason"] == "length", response.text
    elif case == "timeout":
        response = post_chat(stack, {"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "MOCK:slow MOCK:long"}]})
        assert_openai_error(response, 504)
    else:
        stream = stream_then_disconnect(stack, {"model": "claude-sonnet-4-5", "stream": True,
                                                "messages": [{"role": "user", "content": "MOCK:slow MOCK:long"}]})
        assert stream.content_deltas >= 1
    assert wait_until(lambda: first not in pooled_cli_pids(stack), 10), f"the pooled CLI {first} still runs"
    status = wait_for_idle(stack, fresh=1)
    assert status["idle_used"] == 0 and status["retired"] >= 1, status
    response = post_chat(stack, {"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "after"}]})
    assert response.status_code == 200 and cli_start(stack, response) == "pooled", response.text


def test_a_pooled_cli_is_retired_after_its_uses(make_stack):
    stack = make_stack(name="pool-uses", extra_env={**POOL_ENV, "CCA_POOL_MAX_USES": "2"})
    wait_for_idle(stack, fresh=1)
    starts = []
    for i in range(4):
        response = post_chat(stack, {"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": f"use {i}"}]})
        assert response.status_code == 200, response.text
        starts.append(cli_start(stack, response))
        wait_for_idle(stack, fresh=1) if i % 2 == 1 else None
    assert starts == ["pooled", "reused", "pooled", "reused"], starts


def test_an_idle_cli_that_dies_is_replaced(make_stack):
    stack = make_stack(name="pool-dies", extra_env=POOL_ENV)
    wait_for_idle(stack, fresh=1)
    [victim] = pooled_cli_pids(stack)
    os.killpg(victim, signal.SIGKILL)
    replaced = wait_until(lambda: (pids := pooled_cli_pids(stack)) and victim not in pids and pids, 30)
    assert replaced, f"no new pooled CLI after {victim} died: {pool_status(stack)}\n{stack.log_tail()}"
    wait_for_idle(stack, fresh=1)
    response = post_chat(stack, {"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "still fine"}]})
    assert response.status_code == 200 and cli_start(stack, response) == "pooled", response.text


def test_shutdown_ends_every_pooled_cli_and_its_folder(make_stack):
    stack = make_stack(name="pool-stop", extra_env={**POOL_ENV, "CCA_POOL_SIZE": "2"})
    wait_for_idle(stack, fresh=2)
    response = post_chat(stack, {"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "one"}]})
    assert response.status_code == 200
    wait_for_idle(stack, fresh=1, used=1)
    pids = pooled_cli_pids(stack)
    assert len(pids) == 2
    stack.responder.send_signal(signal.SIGTERM)
    assert stack.responder.wait(timeout=15) == 0
    assert wait_until(lambda: not any(os.path.exists(f"/proc/{pid}") for pid in pids), 5), "pooled CLIs outlived the responder"
    assert list(stack.scratch_dir.iterdir()) == [], list(stack.scratch_dir.iterdir())


# -- The CLI facts the pool leans on (measured with 2.1.332; POOL.md) -----------------------------


class PreStartedCLI:
    """The real CLI started the way the pool starts it, driven line by line."""

    def __init__(self, cli: str, upstream: str, folder):
        (folder / "system-prompt.txt").write_text("")
        env = {"PATH": "/usr/bin:/bin", "HOME": str(folder), "TMPDIR": str(folder), "ANTHROPIC_BASE_URL": upstream,
               "ANTHROPIC_API_KEY": "test-key", "DISABLE_TELEMETRY": "1", "DISABLE_AUTOUPDATER": "1",
               "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "MAX_THINKING_TOKENS": "0"}
        self.process = subprocess.Popen(
            [cli, "-p", "--output-format", "stream-json", "--verbose", "--include-partial-messages", "--input-format", "stream-json",
             "--bare", "--tools", "", "--no-session-persistence", "--disable-slash-commands", "--strict-mcp-config",
             "--model", "claude-sonnet-4-5", "--system-prompt-file", str(folder / "system-prompt.txt")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=folder, start_new_session=True)
        self.number = 0

    def write(self, obj: dict):
        self.process.stdin.write((json.dumps(obj) + "\n").encode())
        self.process.stdin.flush()

    def read_until(self, predicate, timeout: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            assert line, "the CLI closed its output"
            event = json.loads(line)
            if predicate(event):
                return event
        raise AssertionError("no such event in time")

    def control(self, request: dict) -> dict:
        self.number += 1
        request_id = f"pin-{self.number}"
        self.write({"type": "control_request", "request_id": request_id, "request": request})
        return self.read_until(lambda e: e.get("type") == "control_response" and e["response"].get("request_id") == request_id)["response"]

    def user(self, text: str, uuid: str, should_query: bool = True) -> dict:
        line = {"type": "user", "uuid": uuid, "message": {"role": "user", "content": [{"type": "text", "text": text}]}}
        if not should_query:
            line["shouldQuery"] = False
        self.write(line)
        return self.read_until(lambda e: e.get("type") == "result")

    def close(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


@pytest.fixture
def pre_started(tmp_path, mock_upstream):
    from conftest import real_cli_path
    cli = PreStartedCLI(real_cli_path(), mock_upstream.url, tmp_path)
    yield cli
    cli.close()


def test_pin_a_pre_started_cli_prints_a_line_before_any_input(pre_started):
    # The pool counts a CLI as ready at its first line; without one, no CLI ever joins the pool (all turns go cold).
    event = pre_started.read_until(lambda e: True, timeout=20)
    assert event.get("type") == "system", event


def test_pin_control_requests_the_pool_sends_are_answered_and_applied(pre_started, mock_upstream):
    token = unique("pin")
    answers = [pre_started.control({"subtype": "apply_flag_settings", "settings": {
                   "model": "claude-haiku-4-5", "env": {"CLAUDE_CODE_MAX_OUTPUT_TOKENS": "777"}}}),
               pre_started.control({"subtype": "set_max_thinking_tokens", "max_thinking_tokens": 0}),
               pre_started.control({"subtype": "set_model", "model": "claude-haiku-4-5", "system_prompt": "Pinned prompt.",
                                    "only_if_model_is_current": True})]
    assert [a["subtype"] for a in answers] == ["success"] * 3, answers
    result = pre_started.user(token, str(uuid.uuid4()))
    assert result["is_error"] is False
    [record] = records_with(mock_upstream, token)
    body = record["body"]
    assert body["model"] == "claude-haiku-4-5" and body["max_tokens"] == 777, body
    assert body.get("thinking") == {"type": "disabled"}, body.get("thinking")
    assert body["system"][-1]["text"] == "Pinned prompt."
    # A system prompt cannot be taken back: an empty one is refused (so the pool keeps prompt-less processes apart).
    refused = pre_started.control({"subtype": "set_model", "model": "claude-haiku-4-5", "system_prompt": "",
                                   "only_if_model_is_current": True})
    assert refused["subtype"] == "error", refused
    # A null limit resets it to the CLI's default.
    pre_started.control({"subtype": "apply_flag_settings", "settings": {"env": {"CLAUDE_CODE_MAX_OUTPUT_TOKENS": None}}})


def test_pin_history_by_should_query_false_and_rewind_newest_first(pre_started, mock_upstream):
    token = unique("pin")
    first, prompt = str(uuid.uuid4()), str(uuid.uuid4())  # random, as the pool's are
    acknowledged = pre_started.user(f"prior {token}", first, should_query=False)
    assert acknowledged.get("num_turns") == 0 and records_with(mock_upstream, token) == [], acknowledged
    pre_started.write({"type": "assistant", "message": {"role": "assistant", "content": [{"type": "text", "text": "prior answer"}]}})
    pre_started.user(f"now {token}", prompt)
    [record] = records_with(mock_upstream, token)
    assert [m["role"] for m in record["body"]["messages"]] == ["user", "assistant", "user"]
    # Newest first, each rewind answers rewound: true; a target that is gone answers success with rewound: false,
    # so the field (not the subtype) says whether the process is clean.
    for target in (prompt, first):
        answer = pre_started.control({"subtype": "rewind_conversation", "target_message_uuid": target})
        assert answer["subtype"] == "success" and answer.get("response", {}).get("rewound") is True, answer
    gone = pre_started.control({"subtype": "rewind_conversation", "target_message_uuid": prompt})
    assert gone["subtype"] == "success" and gone.get("response", {}).get("rewound") is False, gone
    token2 = unique("pin")
    pre_started.user(f"fresh {token2}", str(uuid.uuid4()))
    [after] = records_with(mock_upstream, token2)
    assert len(after["body"]["messages"]) == 1 and token not in json.dumps(after["body"]), after["body"]["messages"]
