"""The gateway against a misbehaving CLI (fake_claude.py): crashes, garbage, hangs,
API failures, retries, disconnects, and what the CLI is given (argv, env, stdin)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from support import (ChatStream, assert_openai_error, chat_body, openai_client, post_chat,
                     seconds_until_group_gone, stream_raw, stream_then_disconnect, unique,
                     wait_until)

MODEL = "claude-sonnet-4-5"

# What the responder may hand to the CLI: Configuration.passedThroughVariables, the
# variables it sets itself, and the CLI's own knobs.
ALLOWED_ENV = {
    "PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "TZ",
    "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL", "ANTHROPIC_CUSTOM_HEADERS",
    "CLAUDE_CODE_OAUTH_TOKEN", "CLAUDE_CODE_USE_BEDROCK", "CLAUDE_CODE_USE_VERTEX",
    "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
    "CLOUD_ML_REGION", "ANTHROPIC_VERTEX_PROJECT_ID", "GOOGLE_APPLICATION_CREDENTIALS",
    "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "https_proxy", "http_proxy", "no_proxy",
    "NODE_EXTRA_CA_CERTS", "MAX_THINKING_TOKENS",
}
ALLOWED_ENV_PREFIXES = ("CLAUDE_CODE_", "DISABLE_", "ANTHROPIC_")


def fake_answer(prompt: str) -> str:
    return f"Fake answer to: {prompt}"


@pytest.fixture(scope="module")
def model(fake_stack) -> str:
    ids = [m["id"] for m in fake_stack.get("/v1/models").json()["data"]]
    return MODEL if MODEL in ids else ids[0]


@pytest.fixture(scope="module")
def timeout_stack(_stack_factory):
    """A fake-CLI stack whose requests time out after 2 s, long before the first keep-alive."""
    stack = _stack_factory.start(fake=True, name="timeout",
                                 extra_env={"CCA_REQUEST_TIMEOUT_SECONDS": "2",
                                            "CCA_PING_INTERVAL_SECONDS": "60"})
    yield stack
    _stack_factory.close(stack)


def no_children_within(stack, seconds: float) -> list[dict]:
    """Waits until the responder has no child process; returns what is left."""
    wait_until(lambda: not stack.children(), seconds)
    return stack.children()


def cli_starts_with(stack, token: str) -> list[dict]:
    """The fake CLI's invocations whose stdin mentions ``token``."""
    return [c for c in stack.invocations() if token in json.dumps(c["stdin"])]


# -- the happy path through the fake -----------------------------------------------


def test_fake_cli_answer_non_streaming(fake_stack, model):
    prompt = f"plain {unique()}"
    resp = post_chat(fake_stack, chat_body(prompt, model))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["choices"][0]["message"]["content"] == fake_answer(prompt)
    assert body["choices"][0]["finish_reason"] == "stop"


def test_prompt_goes_to_the_cli_on_stdin_as_stream_json(fake_stack, model):
    token = unique("stdin")
    resp = post_chat(fake_stack, chat_body(f"via stdin {token}", model))
    assert resp.status_code == 200, resp.text
    calls = cli_starts_with(fake_stack, token)
    assert len(calls) == 1, "expected exactly one CLI launch for the request"
    lines = [json.loads(line) for line in calls[0]["stdin"] if line.strip()]
    assert lines[-1]["type"] == "user"
    assert lines[-1]["message"]["role"] == "user"
    assert token in json.dumps(lines[-1]["message"]["content"])


def test_no_child_process_is_left_after_a_request(fake_stack, model):
    resp = post_chat(fake_stack, chat_body(f"reap {unique()}", model))
    assert resp.status_code == 200, resp.text
    left = no_children_within(fake_stack, 3)
    assert not left, f"CLI processes (or zombies) left behind: {left}"


def test_concurrent_requests_each_get_their_own_answer(fake_stack, model):
    slots = int(fake_stack.started_info().get("cli_slots") or 2)
    prompts = [f"concurrent {i} {unique()}" for i in range(min(6, slots))]

    def one(prompt):
        return prompt, post_chat(fake_stack, chat_body(prompt, model, stream=False))

    with ThreadPoolExecutor(len(prompts)) as pool:
        results = list(pool.map(one, prompts))
    for prompt, resp in results:
        assert resp.status_code == 200, resp.text
        assert resp.json()["choices"][0]["message"]["content"] == fake_answer(prompt)


def test_more_requests_than_cli_slots_get_429_with_retry_after(make_stack, model):
    stack = make_stack(fake=True, name="two-slots", extra_env={"CCA_MAX_CONCURRENT_CLI": "2"})
    with contextlib.ExitStack() as streams:
        for _ in range(2):  # occupy both slots with slow streams
            stream = streams.enter_context(
                ChatStream(stack, chat_body(f"FAKE:slow {unique()}", model, stream=True), timeout=30))
            assert stream.status == 200, stream.describe()
            stream.read_content(1)
        started = time.monotonic()
        over = post_chat(stack, chat_body(f"one too many {unique()}", model), timeout=30)
        assert time.monotonic() - started < 5, "an over-capacity request waited too long"
        assert_openai_error(over, 429, error_type="rate_limit_error")
        assert over.headers.get("retry-after"), "no Retry-After on 429"
    # The slots come back once the clients are gone.
    ok = wait_until(lambda: post_chat(stack, chat_body(f"after {unique()}", model)).status_code
                    == 200, 5, interval=0.3)
    assert ok, "slots were not released after the clients disconnected"


# -- crashes and garbage -----------------------------------------------------------


def test_crash_mid_stream_ends_with_an_error_event_then_done(fake_stack, model):
    result = stream_raw(fake_stack, chat_body(f"FAKE:crash {unique()}", model, stream=True))
    assert result.status == 200
    assert result.text.startswith("Fake "), "the deltas before the crash were not streamed"
    assert result.payloads[-1] == "[DONE]", result.payloads[-3:]
    last_event = json.loads(result.payloads[-2])
    assert "error" in last_event, f"no error event before [DONE]: {result.payloads[-3:]}"
    assert last_event["error"].get("message")


def test_crash_at_start_is_a_502_with_an_openai_error(fake_stack, model):
    resp = post_chat(fake_stack, chat_body(f"FAKE:crash-start {unique()}", model))
    assert_openai_error(resp, 502)


def test_crash_at_start_when_streaming_is_a_502_before_any_output(fake_stack, model):
    # Nothing was sent when the CLI failed (the status line waits for the first content, and the
    # session stacks' keep-alive is far off): the failure is the HTTP status itself.
    token = unique("crash-start")
    result = stream_raw(fake_stack, chat_body(f"FAKE:crash-start {token}", model, stream=True))
    err = assert_openai_error(result, 502, error_type="upstream_error")
    assert err["code"] == "cli_failed", err
    request_id = result.headers["x-request-id"]
    assert request_id in err["message"] and "boom" not in err["message"], err
    logged = [line for line in fake_stack.log_lines()
              if line.get("request_id") == request_id and line.get("msg") == "CLI failed twice before any output"]
    assert logged and "boom" in logged[0]["reason"], logged
    assert len(cli_starts_with(fake_stack, token)) == 2, "a CLI that printed nothing is retried once"


def test_garbage_lines_from_the_cli_are_skipped(fake_stack, model):
    prompt = f"FAKE:garbage {unique()}"
    resp = post_chat(fake_stack, chat_body(prompt, model))
    assert resp.status_code == 200, resp.text
    assert resp.json()["choices"][0]["message"]["content"] == fake_answer(prompt)
    result = stream_raw(fake_stack, chat_body(prompt, model, stream=True))
    assert result.status == 200 and result.done and not result.errors
    assert result.text == fake_answer(prompt)


def test_stderr_flood_does_not_block_the_cli(fake_stack, model):
    prompt = f"FAKE:stderr-flood {unique()}"
    resp = post_chat(fake_stack, chat_body(prompt, model), timeout=30)
    assert resp.status_code == 200, resp.text
    assert resp.json()["choices"][0]["message"]["content"] == fake_answer(prompt)


# -- API failures as the CLI reports them ------------------------------------------


@pytest.mark.parametrize("upstream,status", [(401, 502), (429, 429), (529, 503), (500, 502)])
def test_cli_api_errors_map_to_http_status(fake_stack, model, upstream, status):
    resp = post_chat(fake_stack, chat_body(f"FAKE:error-{upstream} {unique()}", model))
    err = assert_openai_error(resp, status)
    if status in (429, 503):
        assert resp.headers.get("retry-after"), "no Retry-After on a retryable error"
    if upstream == 401:
        text = f"{err['message']} {err.get('code')}".lower()
        assert "authentication" in text or "credentials" in text, err


def test_cli_auth_error_when_streaming_is_a_502_not_content(fake_stack, model):
    # The CLI's synthetic "Invalid API key" text comes before its failed result: it must not
    # open the stream, so the failure is still a real status.
    result = stream_raw(fake_stack, chat_body(f"FAKE:error-401 {unique()}", model, stream=True))
    err = assert_openai_error(result, 502, error_type="upstream_error")
    assert err["code"] == "upstream_authentication_failed", err
    assert result.payloads == [], "the failed turn was streamed"


# -- retries and fallbacks inside the CLI ------------------------------------------


def test_non_streaming_fallback_text_arrives_whole(fake_stack, model):
    prompt = f"FAKE:fallback {unique()}"
    result = stream_raw(fake_stack, chat_body(prompt, model, stream=True))
    assert result.status == 200 and result.done and not result.errors
    assert result.text == fake_answer(prompt), result.text
    resp = post_chat(fake_stack, chat_body(prompt, model))
    assert resp.json()["choices"][0]["message"]["content"] == fake_answer(prompt)


def test_retry_restream_has_no_duplicated_text(fake_stack, model):
    prompt = f"FAKE:retry-restream {unique()}"
    result = stream_raw(fake_stack, chat_body(prompt, model, stream=True))
    assert result.status == 200 and result.done and not result.errors
    assert result.text == fake_answer(prompt), result.text
    resp = post_chat(fake_stack, chat_body(prompt, model))
    assert resp.json()["choices"][0]["message"]["content"] == fake_answer(prompt)


def test_max_tokens_stop_gives_finish_reason_length(fake_stack, model):
    prompt = f"FAKE:max-tokens {unique()}"
    resp = post_chat(fake_stack, chat_body(prompt, model))
    assert resp.status_code == 200, resp.text
    assert resp.json()["choices"][0]["finish_reason"] == "length"
    result = stream_raw(fake_stack, chat_body(prompt, model, stream=True))
    assert result.finish_reasons == ["length"]


# -- timeouts ----------------------------------------------------------------------


@pytest.mark.parametrize("marker", ["FAKE:hang", "FAKE:hang-silent"])
def test_hanging_cli_gives_504_and_is_ended(timeout_stack, model, marker):
    started = time.monotonic()
    resp = post_chat(timeout_stack, chat_body(f"{marker} {unique()}", model), timeout=30)
    elapsed = time.monotonic() - started
    err = assert_openai_error(resp, 504, error_type="timeout_error")
    assert err["code"] == "request_timeout", err
    assert 2 <= elapsed < 10, f"took {elapsed:.1f}s with a 2 s timeout"
    left = no_children_within(timeout_stack, 3)
    assert not left, f"the hung CLI was not ended: {left}"


def test_hanging_cli_when_streaming_ends_in_time(timeout_stack, model):
    started = time.monotonic()
    result = stream_raw(timeout_stack, chat_body(f"FAKE:hang {unique()}", model, stream=True),
                        timeout=30)
    elapsed = time.monotonic() - started
    assert 2 <= elapsed < 10, f"took {elapsed:.1f}s with a 2 s timeout"
    # Silent until the deadline, which comes before the first keep-alive: a real 504.
    err = assert_openai_error(result, 504, error_type="timeout_error")
    assert err["code"] == "request_timeout", err
    left = no_children_within(timeout_stack, 3)
    assert not left, f"the hung CLI was not ended: {left}"


def test_a_silent_turn_gets_keep_alives_then_its_timeout_as_an_event(make_stack, model):
    # The other side of the held-back status line: once the first keep-alive is due (1 s), the
    # stream opens with 200 and the later timeout (3 s) travels as an error event.
    stack = make_stack(fake=True, name="keep-alive",
                       extra_env={"CCA_PING_INTERVAL_SECONDS": "1", "CCA_REQUEST_TIMEOUT_SECONDS": "3"})
    result = stream_raw(stack, chat_body(f"FAKE:hang {unique()}", model, stream=True), timeout=30)
    assert result.status == 200 and result.is_sse, result.describe()
    assert result.comments and set(result.comments) == {": ping"}, result.comments
    assert result.text == "" and result.done, result.describe()
    assert [e["error"]["code"] for e in result.errors] == ["request_timeout"], result.describe()
    assert "error" in json.loads(result.payloads[-2]) and result.payloads[-1] == "[DONE]", result.describe()


# -- what the CLI is given ---------------------------------------------------------


def test_cli_argv_has_no_request_text_and_env_is_an_allow_list(fake_stack, model):
    token = unique("argv")
    prompt = f"FAKE:echo-argv-env {token} $(id) ; --dangerously-skip-permissions"
    resp = post_chat(fake_stack, chat_body(prompt, model))
    assert resp.status_code == 200, resp.text
    seen = json.loads(resp.json()["choices"][0]["message"]["content"])
    argv = seen["argv"]
    assert not any(token in arg for arg in argv), f"prompt text reached argv: {argv}"
    assert "--dangerously-skip-permissions" not in argv
    env = set(seen["env"])
    assert "SECRET_SHOULD_NOT_LEAK" not in env
    assert not any(name.startswith("CCA_") for name in env), env
    unexpected = sorted(n for n in env
                        if n not in ALLOWED_ENV and not n.startswith(ALLOWED_ENV_PREFIXES))
    assert not unexpected, f"variables outside the allow-list reached the CLI: {unexpected}"
    assert "ANTHROPIC_API_KEY" in env and "HOME" in env


def test_cli_runs_in_a_scratch_folder_not_the_service_folder(fake_stack, model):
    resp = post_chat(fake_stack, chat_body(f"FAKE:echo-argv-env {unique()}", model))
    cwd = json.loads(resp.json()["choices"][0]["message"]["content"])["cwd"]
    assert cwd.startswith(str(fake_stack.scratch_dir)), cwd
    assert wait_until(lambda: not any(fake_stack.scratch_dir.iterdir()), 3), \
        f"scratch folder not cleaned: {list(fake_stack.scratch_dir.iterdir())}"


def echo_argv_env(stack, messages: list[dict]) -> dict:
    """What the fake CLI was given for a FAKE:echo-argv-env turn: argv, env, cwd, system_prompt."""
    resp = post_chat(stack, {"model": MODEL, "messages": messages})
    assert resp.status_code == 200, resp.text
    return json.loads(resp.json()["choices"][0]["message"]["content"])


def test_system_prompt_reaches_the_cli_whole_in_a_file_never_in_argv(fake_stack):
    token = unique("sys")
    system = f"Be terse. $(id) `whoami` \"; rm -rf / {token}\nSecond line."
    seen = echo_argv_env(fake_stack, [{"role": "system", "content": system},
                                      {"role": "user", "content": "FAKE:echo-argv-env"}])
    argv = seen["argv"]
    assert argv.count("--system-prompt-file") == 1, argv
    path = argv[argv.index("--system-prompt-file") + 1]
    assert path.startswith(str(fake_stack.scratch_dir) + "/"), path
    assert seen["system_prompt"] == system
    assert not any(token in a or "whoami" in a for a in argv), f"system prompt text in argv: {argv}"
    assert "--system-prompt" not in argv and "--append-system-prompt" not in argv, argv


def test_system_and_developer_messages_join_into_one_system_prompt(fake_stack):
    seen = echo_argv_env(fake_stack, [
        {"role": "system", "content": "first rule"},
        {"role": "developer", "content": [{"type": "text", "text": "second rule"}]},
        {"role": "user", "content": "FAKE:echo-argv-env"}])
    assert seen["system_prompt"] == "first rule\n\nsecond rule"



# -- client disconnects ------------------------------------------------------------


def test_client_disconnect_mid_stream_ends_the_cli(fake_stack, model):
    running = []
    stream = stream_then_disconnect(fake_stack, chat_body(f"FAKE:slow {unique()}", model, stream=True),
                                    while_open=lambda _: running.extend(fake_stack.children()))
    assert running, "expected the CLI to be running mid-stream"
    for cli in running:
        took = seconds_until_group_gone(cli.pgid, since=stream.closed_at, limit=2)
        assert took is not None, f"CLI still running 2 s after the client went away: {cli}"
    assert not fake_stack.children()


def test_openai_client_against_fake_cli_streaming(fake_stack, model):
    client = openai_client(fake_stack)
    prompt = f"FAKE:slow {unique()}"
    chunks = list(client.chat.completions.create(
        model=model, stream=True, messages=[{"role": "user", "content": prompt}]))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == fake_answer(prompt)
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) >= 10


def test_cheap_endpoints_answer_while_every_cli_slot_is_busy(make_stack):
    stack = make_stack(fake=True, name="slots-busy",
                       extra_env={"CCA_MAX_CONCURRENT_CLI": "1", "CCA_DRAIN_TIMEOUT_SECONDS": "1"})
    hung = ThreadPoolExecutor(max_workers=1)
    future = hung.submit(post_chat, stack, chat_body(f"FAKE:hang {unique()}", MODEL), 30)
    try:
        assert wait_until(lambda: stack.get("/status").json()["cli"]["active"] == 1, 10)
        for path in ("/health", "/v1/models", "/status"):
            # One waiting for the slot would wait for ever (the CLI hangs); answering takes
            # milliseconds. 2 s tells them apart on a loaded machine (/health may start the
            # CLI's --version probe).
            started = time.monotonic()
            resp = stack.get(path)
            assert resp.status_code == 200, (path, resp.text)
            assert time.monotonic() - started < 2.0, f"{path} waited for a CLI slot"
        busy = post_chat(stack, chat_body(f"second {unique()}", MODEL))
        assert_openai_error(busy, 429)
        assert stack.get("/health").json()["cli_slots"]["busy"] == 1
    finally:
        os.kill(stack.responder_pid, signal.SIGTERM)
        future.result(timeout=60)
        hung.shutdown()
