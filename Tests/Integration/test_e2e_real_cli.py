"""End to end: OpenAI clients -> nginx -> responder -> the real Claude Code CLI -> mock Anthropic API."""

from __future__ import annotations

import base64
import time
from concurrent.futures import ThreadPoolExecutor

import openai
import pytest

from support import (assert_openai_error, chat_body, message_text, openai_client, proc_descendants,
                     seconds_until_group_gone, stream_raw, stream_then_disconnect, unique,
                     upstream_requests_with)

# A 1x1 transparent PNG.
PNG_1X1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")


def expected(prompt: str) -> str:
    return f"Hello from the mock! You said: {prompt}"


@pytest.fixture(scope="module")
def client(real_stack):
    return openai_client(real_stack)


# -- non-streaming -----------------------------------------------------------------


def test_non_streaming_answer_is_the_upstream_text(client, claude_model):
    prompt = f"hello {unique()}"
    resp = client.chat.completions.create(model=claude_model,
                                          messages=[{"role": "user", "content": prompt}])
    assert resp.object == "chat.completion"
    assert resp.id
    assert len(resp.choices) == 1
    choice = resp.choices[0]
    assert choice.index == 0
    assert choice.message.role == "assistant"
    assert choice.message.content == expected(prompt)
    assert choice.finish_reason == "stop"


def test_non_streaming_usage_is_reported(client, claude_model):
    resp = client.chat.completions.create(
        model=claude_model, messages=[{"role": "user", "content": f"usage {unique()}"}])
    usage = resp.usage
    assert usage is not None
    assert usage.prompt_tokens >= 1
    assert usage.completion_tokens >= 1
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_user_text_and_system_prompt_reach_upstream(client, claude_model, mock_upstream):
    token = unique("sys")
    system = f"You are a pirate named {token}."
    prompt = f"ahoy {token}"
    resp = client.chat.completions.create(model=claude_model, messages=[
        {"role": "system", "content": system},
        {"role": "user", "content": prompt}])
    assert resp.choices[0].message.content == expected(prompt)
    bodies = upstream_requests_with(mock_upstream, prompt)
    assert bodies, "the user text never reached the upstream API"
    body = bodies[-1]
    system_blocks = body.get("system")
    system_text = system_blocks if isinstance(system_blocks, str) else \
        "\n".join(b.get("text", "") for b in system_blocks or [])
    assert system in system_text, f"system prompt missing upstream: {system_blocks!r}"
    users = [m for m in body["messages"] if m["role"] == "user"]
    assert message_text(users[-1]).strip() == prompt


def test_multi_turn_history_reaches_upstream_as_turns(client, claude_model, mock_upstream):
    token = unique("turns")
    messages = [
        {"role": "user", "content": f"first question {token}"},
        {"role": "assistant", "content": f"first answer {token}"},
        {"role": "user", "content": f"second question {token}"},
    ]
    resp = client.chat.completions.create(model=claude_model, messages=messages)
    assert resp.choices[0].message.content == expected(f"second question {token}")
    body = upstream_requests_with(mock_upstream, f"second question {token}")[-1]
    upstream = [(m["role"], message_text(m).strip()) for m in body["messages"]]
    wanted = [(m["role"], m["content"]) for m in messages]
    assert upstream == wanted, upstream


def test_max_tokens_reaches_upstream_and_gives_finish_reason_length(client, claude_model,
                                                                    mock_upstream):
    prompt = f"please talk at length {unique()}"
    resp = client.chat.completions.create(
        model=claude_model, max_tokens=5, messages=[{"role": "user", "content": prompt}])
    bodies = upstream_requests_with(mock_upstream, prompt)
    assert bodies and bodies[0].get("max_tokens") == 5, [b.get("max_tokens") for b in bodies]
    choice = resp.choices[0]
    assert choice.finish_reason == "length"
    # The mock cuts at ~1 token per word: at most 5 words, and no repeat of the text
    # (the CLI's own "Output token limit hit. Resume" continuations must not leak in).
    assert choice.message.content.startswith("Hello from the mock!")
    assert len(choice.message.content.split()) <= 5, choice.message.content


def test_max_tokens_when_streaming_gives_finish_reason_length(real_stack, claude_model):
    prompt = f"please stream at length {unique()}"
    result = stream_raw(real_stack, chat_body(prompt, claude_model, stream=True, max_tokens=5))
    assert result.status == 200
    assert not result.errors, result.errors
    assert result.done
    assert result.finish_reasons == ["length"]
    assert result.text.startswith("Hello from the mock!")
    assert len(result.text.split()) <= 5, f"more than max_tokens streamed: {result.text!r}"


def test_openai_model_alias_is_echoed_while_upstream_gets_a_claude_model(
        client, real_models, mock_upstream):
    alias = next((m for m in real_models if m.startswith("gpt-")), None)
    assert alias is not None, f"GET /v1/models lists no OpenAI alias: {real_models}"
    prompt = f"alias {unique()}"
    resp = client.chat.completions.create(model=alias,
                                          messages=[{"role": "user", "content": prompt}])
    assert resp.model == alias
    assert resp.choices[0].message.content == expected(prompt)
    upstream_model = upstream_requests_with(mock_upstream, prompt)[-1]["model"]
    assert upstream_model.startswith("claude"), upstream_model


def test_shell_metacharacters_arrive_upstream_as_literal_text(client, claude_model,
                                                              mock_upstream):
    prompt = f'"; rm -rf / # --dangerously-skip-permissions $(id) `whoami` \' {unique()}'
    resp = client.chat.completions.create(model=claude_model,
                                          messages=[{"role": "user", "content": prompt}])
    assert resp.choices[0].message.content == expected(prompt)
    body = upstream_requests_with(mock_upstream, prompt)[-1]
    assert message_text(body["messages"][-1]).strip() == prompt


def test_image_parts_reach_upstream_as_base64_image_blocks(client, claude_model, mock_upstream):
    token = unique("img")
    data = base64.b64encode(PNG_1X1).decode()
    resp = client.chat.completions.create(model=claude_model, messages=[{"role": "user", "content": [
        {"type": "text", "text": f"what is this {token}"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{data}"}}]}])
    assert resp.choices[0].message.content == expected(f"what is this {token}")
    body = upstream_requests_with(mock_upstream, token)[-1]
    blocks = body["messages"][-1]["content"]
    images = [b for b in blocks if b.get("type") == "image"]
    assert len(images) == 1, blocks
    assert images[0]["source"] == {"type": "base64", "media_type": "image/png", "data": data}


def test_concurrent_requests_do_not_mix_answers(real_stack, claude_model):
    prompts = [f"parallel {i} {unique()}" for i in range(3)]
    client = openai_client(real_stack)

    def ask(prompt):
        return client.chat.completions.create(
            model=claude_model, messages=[{"role": "user", "content": prompt}])

    with ThreadPoolExecutor(len(prompts)) as pool:
        answers = list(pool.map(ask, prompts))
    for prompt, resp in zip(prompts, answers):
        assert resp.choices[0].message.content == expected(prompt)


def test_thinking_is_not_delivered_as_content(client, claude_model):
    prompt = f"MOCK:thinking {unique()}"
    resp = client.chat.completions.create(model=claude_model,
                                          messages=[{"role": "user", "content": prompt}])
    assert resp.choices[0].message.content == expected(prompt)


# -- streaming ---------------------------------------------------------------------


def test_streaming_chunks_build_the_full_text(client, claude_model):
    prompt = f"stream me {unique()}"
    chunks = list(client.chat.completions.create(
        model=claude_model, stream=True, messages=[{"role": "user", "content": prompt}]))
    assert chunks, "no chunk arrived"
    assert chunks[0].choices[0].delta.role == "assistant"
    assert len({c.id for c in chunks}) == 1, "chunks carry different ids"
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    content_chunks = [c for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(content_chunks) > 1, "the answer arrived in one piece: not streamed"
    text = "".join(c.choices[0].delta.content for c in content_chunks)
    assert text == expected(prompt)
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.usage is None for c in chunks), "usage sent without stream_options"


def test_streaming_raw_sse_ends_with_done(real_stack, claude_model):
    prompt = f"raw {unique()}"
    result = stream_raw(real_stack, chat_body(prompt, claude_model, stream=True))
    assert result.status == 200
    assert result.headers["content-type"].startswith("text/event-stream")
    assert result.done, f"stream did not end with [DONE]: {result.payloads[-3:]}"
    assert result.payloads.count("[DONE]") == 1
    assert not result.errors, result.errors
    assert result.text == expected(prompt)
    assert result.finish_reasons == ["stop"]


def test_streaming_include_usage_adds_one_final_usage_chunk(client, claude_model):
    chunks = list(client.chat.completions.create(
        model=claude_model, stream=True, stream_options={"include_usage": True},
        messages=[{"role": "user", "content": f"usage stream {unique()}"}]))
    with_usage = [c for c in chunks if c.usage is not None]
    assert len(with_usage) == 1, f"{len(with_usage)} chunks carry usage"
    final = chunks[-1]
    assert final is with_usage[0], "the usage chunk is not the last one"
    assert final.choices == []
    assert final.usage.prompt_tokens >= 1
    assert final.usage.completion_tokens >= 1
    assert final.usage.total_tokens == final.usage.prompt_tokens + final.usage.completion_tokens


def test_streaming_long_answer_arrives_in_order(client, claude_model):
    prompt = f"MOCK:long {unique()}"
    chunks = list(client.chat.completions.create(
        model=claude_model, stream=True, messages=[{"role": "user", "content": prompt}]))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.startswith(expected(prompt))
    assert text.endswith("lorem%d" % (text.count(" lorem") - 1))
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_streaming_upstream_drop_and_retry_has_no_duplicated_text(real_stack, claude_model,
                                                                  mock_upstream):
    prompt = f"MOCK:drop {unique()}"
    result = stream_raw(real_stack, chat_body(prompt, claude_model, stream=True))
    assert result.status == 200
    assert not result.errors, result.errors
    assert result.done
    assert len(upstream_requests_with(mock_upstream, prompt)) >= 2, "upstream was not retried"
    assert result.text == expected(prompt), f"duplicated or lost text: {result.text!r}"


def test_non_streaming_upstream_drop_and_retry(client, claude_model):
    prompt = f"MOCK:drop {unique()}"
    resp = client.chat.completions.create(model=claude_model,
                                          messages=[{"role": "user", "content": prompt}])
    assert resp.choices[0].message.content == expected(prompt)


def test_streaming_sse_error_falls_back_to_the_complete_text(real_stack, claude_model,
                                                             mock_upstream):
    """An SSE error mid-stream makes the CLI retry without streaming: the text then
    arrives only in its assistant/result events, and must still be delivered whole."""
    prompt = f"MOCK:sse-error {unique()}"
    result = stream_raw(real_stack, chat_body(prompt, claude_model, stream=True))
    assert result.status == 200
    assert not result.errors, result.errors
    assert result.done
    assert result.text == expected(prompt), result.text
    assert any(not b.get("stream") for b in upstream_requests_with(mock_upstream, prompt)), \
        "the CLI did not use its non-streaming fallback"


def test_client_disconnect_ends_the_real_cli(real_stack, claude_model):
    running = []
    stream = stream_then_disconnect(
        real_stack, chat_body(f"MOCK:slow {unique()}", claude_model, stream=True),
        while_open=lambda _: running.extend(real_stack.children(include_zombies=False)))
    assert running, "no CLI running mid-stream"
    for cli in running:
        took = seconds_until_group_gone(cli.pgid, since=stream.closed_at, limit=2)
        assert took is not None, f"the CLI's group was still there 2 s after the client went away: {cli}"
    assert not proc_descendants(real_stack.responder_pid), proc_descendants(real_stack.responder_pid)


# -- upstream errors ---------------------------------------------------------------


def test_upstream_authentication_error_is_a_502_and_quick(client, claude_model):
    started = time.monotonic()
    with pytest.raises(openai.APIStatusError) as info:
        client.chat.completions.create(
            model=claude_model, messages=[{"role": "user", "content": f"MOCK:401 {unique()}"}])
    elapsed = time.monotonic() - started
    assert info.value.status_code == 502
    error = (info.value.body or {}) if isinstance(info.value.body, dict) else {}
    described = f"{info.value.message} {error.get('message', '')} {error.get('code', '')}".lower()
    assert "authentication" in described or "credentials" in described, described
    assert elapsed < 15, f"took {elapsed:.1f}s"


def test_upstream_authentication_error_when_streaming_is_a_502_not_content(real_stack, claude_model):
    # The turn fails before any text (and long before the session stack's first keep-alive):
    # the client gets the real status, and the CLI's "Invalid API key" text is not streamed.
    result = stream_raw(real_stack, chat_body(f"MOCK:401 {unique()}", claude_model, stream=True))
    err = assert_openai_error(result, 502, error_type="upstream_error")
    assert err["code"] == "upstream_authentication_failed", err
    assert result.payloads == [], "the failed turn was streamed"


def test_upstream_rate_limit_is_a_429(client, claude_model):
    with pytest.raises(openai.RateLimitError) as info:
        client.chat.completions.create(
            model=claude_model, messages=[{"role": "user", "content": f"MOCK:429 {unique()}"}])
    assert info.value.status_code == 429


def test_upstream_overloaded_is_a_503(client, claude_model):
    with pytest.raises(openai.APIStatusError) as info:
        client.chat.completions.create(
            model=claude_model, messages=[{"role": "user", "content": f"MOCK:529 {unique()}"}])
    assert info.value.status_code == 503


# -- LangChain ---------------------------------------------------------------------


def test_langchain_invoke_and_stream(real_stack, claude_model):
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(model=claude_model, base_url=real_stack.base_url + "/v1", api_key="unused",
                     timeout=60, max_retries=0)
    answer = llm.invoke("hi")
    assert answer.content == expected("hi")
    pieces = [chunk.content for chunk in llm.stream("hi")]
    assert len([p for p in pieces if p]) > 1
    assert "".join(pieces) == expected("hi")


@pytest.mark.parametrize("stream", [False, True])
def test_stop_sequences_end_the_answer_with_the_official_client(real_stack, claude_model, stream):
    client = openai_client(real_stack)
    prompt = f"stop-test {unique()}"
    if stream:
        chunks = list(client.chat.completions.create(model=claude_model, stream=True, stop=["mock!"],
                                                     messages=[{"role": "user", "content": prompt}]))
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        reasons = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    else:
        completion = client.chat.completions.create(model=claude_model, stop="mock!",
                                                    messages=[{"role": "user", "content": prompt}])
        text = completion.choices[0].message.content
        reasons = [completion.choices[0].finish_reason]
        assert completion.usage.prompt_tokens > 0 and completion.usage.completion_tokens > 0
    assert text == "Hello from the "
    assert reasons == ["stop"]


def test_reasoning_effort_enables_thinking_and_returns_reasoning_content(client, claude_model, mock_upstream):
    prompt = f"MOCK:thinking reason {unique()}"
    completion = client.chat.completions.create(model=claude_model, reasoning_effort="low",
                                                messages=[{"role": "user", "content": prompt}])
    message = completion.choices[0].message
    assert message.content.startswith("Hello from the mock!")
    assert (message.model_extra or {}).get("reasoning_content"), "thinking should come back as reasoning_content"
    assert (message.model_extra or {})["reasoning_content"] not in message.content
    bodies = upstream_requests_with(mock_upstream, prompt)
    assert bodies and bodies[0]["thinking"]["type"] == "enabled" and bodies[0]["thinking"]["budget_tokens"] == 2048
    # Without it, thinking stays off upstream.
    plain = f"plain {unique()}"
    client.chat.completions.create(model=claude_model, messages=[{"role": "user", "content": plain}])
    assert upstream_requests_with(mock_upstream, plain)[0].get("thinking", {}).get("type") == "disabled"
