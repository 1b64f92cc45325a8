"""The Anthropic Messages API on the same service, end to end: the official `anthropic` client -> nginx -> responder ->
the real CLI -> the mock upstream, reading what upstream received."""

from __future__ import annotations

import json

import anthropic
import httpx
import pytest

from support import unique, wait_until


@pytest.fixture(scope="module")
def claude(real_stack):
    return anthropic.Anthropic(base_url=real_stack.base_url, api_key="unused", max_retries=0)


def upstream_for(mock, token: str) -> list[dict]:
    return [r["body"] for r in mock.message_requests() if token in json.dumps(r["body"].get("messages"))]


def test_messages_create_answers_with_a_message_and_upstream_gets_the_system_prompt(claude, claude_model, mock_upstream):
    token = unique("msg")
    message = claude.messages.create(model=claude_model, max_tokens=200, system="You are terse.",
                                     messages=[{"role": "user", "content": f"hello {token}"}])
    assert message.type == "message" and message.role == "assistant" and message.model == claude_model
    assert [b.type for b in message.content] == ["text"]
    assert message.content[0].text == f"Hello from the mock! You said: hello {token}"
    assert message.stop_reason == "end_turn" and message.stop_sequence is None
    assert message.usage.input_tokens == 25 and message.usage.output_tokens >= 1
    [upstream] = upstream_for(mock_upstream, token)
    assert "You are terse." in json.dumps(upstream["system"])
    assert upstream["max_tokens"] == 200
    assert message.id.startswith("msg_mock_"), "upstream's message id is carried through"


def test_messages_stream_builds_the_same_message_from_anthropics_events(claude, claude_model):
    token = unique("stream")
    with claude.messages.stream(model=claude_model, max_tokens=200, messages=[{"role": "user", "content": f"hi {token}"}]) as stream:
        texts = list(stream.text_stream)
        final = stream.get_final_message()
    assert "".join(texts) == f"Hello from the mock! You said: hi {token}"
    assert len(texts) > 1, "text arrives as deltas"
    assert final.id.startswith("msg_mock_"), "upstream's message id is carried through"
    assert final.stop_reason == "end_turn" and final.usage.output_tokens >= 1


def test_the_raw_stream_has_anthropics_event_sequence(real_stack, claude_model):
    body = {"model": claude_model, "max_tokens": 100, "stream": True, "messages": [{"role": "user", "content": f"x {unique()}"}]}
    with httpx.Client(timeout=60) as client:
        with client.stream("POST", real_stack.base_url + "/v1/messages", json=body) as resp:
            assert resp.status_code == 200
            names = [line[len("event: "):] for line in resp.iter_lines() if line.startswith("event: ")]
    assert names[0] == "message_start" and names[1] == "content_block_start"
    assert set(names[2:-3]) == {"content_block_delta"}
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]


def test_stop_sequences_end_the_text_with_stop_sequence_and_the_one_that_matched(claude, claude_model):
    message = claude.messages.create(model=claude_model, max_tokens=200, stop_sequences=["said"],
                                     messages=[{"role": "user", "content": f"hey {unique()}"}])
    assert message.content[0].text == "Hello from the mock! You "
    assert message.stop_reason == "stop_sequence" and message.stop_sequence == "said"


def test_tools_round_trip_with_tool_use_and_tool_result_blocks(claude, claude_model, mock_upstream):
    token = unique("tools")
    tools = [{"name": "get_weather", "description": "Weather in a city.",
              "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]
    messages = [{"role": "user", "content": f"weather? MOCK:call=get_weather {token}"}]
    first = claude.messages.create(model=claude_model, max_tokens=200, tools=tools, messages=messages)
    assert first.stop_reason == "tool_use"
    call = [b for b in first.content if b.type == "tool_use"][0]
    assert call.name == "get_weather" and call.input == {"city": "Paris"} and call.id.startswith("toolu_")
    messages += [{"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
                 {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "sunny"}]}]
    final = claude.messages.create(model=claude_model, max_tokens=200, tools=tools, messages=messages)
    assert final.content[0].text == "Tool results: sunny" and final.stop_reason == "end_turn"
    second = upstream_for(mock_upstream, token)[1]
    last = [{k: v for k, v in b.items() if k != "cache_control"} for b in second["messages"][-1]["content"]]
    assert last == [{"type": "tool_result", "tool_use_id": call.id, "content": "sunny"}]
    assert "Continue from where you left off" not in json.dumps(second["messages"])


def test_streamed_tool_use_comes_as_input_json_deltas(claude, claude_model):
    tools = [{"name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}]
    with claude.messages.stream(model=claude_model, max_tokens=200, tools=tools,
                                messages=[{"role": "user", "content": f"MOCK:call=get_weather {unique()}"}]) as stream:
        final = stream.get_final_message()
    call = [b for b in final.content if b.type == "tool_use"][0]
    assert call.input == {"city": "Paris"} and final.stop_reason == "tool_use"


def test_thinking_streams_as_thinking_deltas(claude, claude_model):
    with claude.messages.stream(model=claude_model, max_tokens=4000, thinking={"type": "enabled", "budget_tokens": 2048},
                                messages=[{"role": "user", "content": f"MOCK:thinking {unique()}"}]) as stream:
        final = stream.get_final_message()
    assert [b.type for b in final.content] == ["thinking", "text"]
    assert final.content[0].thinking == "Let me think about this."


def test_an_upstream_529_raises_the_sdks_overloaded_error(claude, claude_model):
    with pytest.raises(anthropic.APIStatusError) as failure:
        claude.messages.create(model=claude_model, max_tokens=50, messages=[{"role": "user", "content": f"MOCK:529 {unique()}"}])
    assert failure.value.status_code == 529
    assert type(failure.value).__name__ == "OverloadedError"
    assert failure.value.body["type"] == "error" and failure.value.body["error"]["type"] == "overloaded_error"


def test_bad_requests_get_anthropics_error_shape(real_stack, claude_model):
    with httpx.Client(timeout=30) as client:
        missing = client.post(real_stack.base_url + "/v1/messages", json={"model": claude_model, "messages": [{"role": "user", "content": "x"}]})
        assert missing.status_code == 400
        assert missing.json() == {"type": "error", "error": {"type": "invalid_request_error", "message": "Missing required parameter: 'max_tokens'."}}
        unknown = client.post(real_stack.base_url + "/v1/messages", json={"model": "gpt-99", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]})
        assert unknown.status_code == 404 and unknown.json()["error"]["type"] == "not_found_error"
        count = client.post(real_stack.base_url + "/v1/messages/count_tokens", json={"model": claude_model, "messages": []})
        assert count.status_code == 404 and count.json()["error"]["type"] == "not_found_error"
        wrong = client.get(real_stack.base_url + "/v1/messages")
        assert wrong.status_code == 405 and wrong.json()["type"] == "error"


def test_models_list_in_anthropics_shape(claude, real_stack):
    models = claude.models.list()
    ids = [m.id for m in models.data]
    assert "claude-sonnet-4-5" in ids and all(m.type == "model" for m in models.data)
    plain = real_stack.get("/v1/models").json()
    assert plain["object"] == "list"  # OpenAI's shape without anthropic-version


@pytest.mark.parametrize("surface", ["messages", "chat"])
def test_anthropics_dated_model_ids_are_accepted_on_both_surfaces(real_stack, mock_upstream, surface):
    token = unique("dated")
    model = "claude-sonnet-4-5-20250929"
    with httpx.Client(timeout=60) as client:
        if surface == "messages":
            resp = client.post(real_stack.base_url + "/v1/messages",
                               json={"model": model, "max_tokens": 50, "messages": [{"role": "user", "content": f"hi {token}"}]})
        else:
            resp = client.post(real_stack.base_url + "/v1/chat/completions",
                               json={"model": model, "messages": [{"role": "user", "content": f"hi {token}"}]})
    assert resp.status_code == 200, resp.text
    assert resp.json()["model"] == model
    [upstream] = upstream_for(mock_upstream, token)
    assert upstream["model"] == model
