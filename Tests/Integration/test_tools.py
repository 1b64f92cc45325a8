"""Function calling and structured output, end to end: official clients -> nginx -> responder -> the real CLI ->
the mock upstream, scripted to answer with tool_use blocks (MOCK:call=...). Every test reads what upstream got."""

from __future__ import annotations

import json

import openai
import pytest
from pydantic import BaseModel

from support import (chat_body, openai_client, post_chat, run_weather_agent, stream_raw, stream_then_disconnect, unique,
                     wait_until)

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "The weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
                   "required": ["city"]}}}
STOCK = {"type": "function", "function": {
    "name": "lookup-stock", "description": "A stock price.",
    "parameters": {"type": "object", "properties": {"symbol": {"type": "string"}}, "required": ["symbol"]}}}


@pytest.fixture(scope="module")
def client(real_stack):
    return openai_client(real_stack)


def upstream_for(mock, token: str) -> list[dict]:
    return [r["body"] for r in mock.message_requests() if token in json.dumps(r["body"].get("messages"))]


def assert_nothing_inserted(body: dict):
    """No text the client did not send: none of the CLI's known insertions, in any message."""
    text = json.dumps(body["messages"])
    for inserted in ("Continue from where you left off", "No response requested", "(no content)", "[Request interrupted"):
        assert inserted not in text, (inserted, body["messages"])


def test_tools_reach_upstream_with_the_clients_names_and_schemas_and_a_call_comes_back(client, claude_model, mock_upstream, real_stack):
    token = unique("tools")
    resp = client.chat.completions.create(model=claude_model, tools=[WEATHER, STOCK],
                                          messages=[{"role": "user", "content": f"weather? MOCK:call=get_weather {token}"}])
    choice = resp.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "Let me check."
    [call] = choice.message.tool_calls
    assert call.type == "function" and call.function.name == "get_weather" and call.id.startswith("toolu_")
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    [upstream] = upstream_for(mock_upstream, token)  # exactly one upstream request: nothing ran, nothing was re-asked
    tools = {t["name"]: t for t in upstream["tools"]}
    assert set(tools) == {"get_weather", "lookup-stock"}
    assert tools["get_weather"]["input_schema"] == WEATHER["function"]["parameters"]
    assert tools["get_weather"]["description"] == "The weather in a city."
    assert "tool_choice" not in upstream
    assert wait_until(lambda: not real_stack.children(include_zombies=False), 5), "the CLI must be gone after the call"


def test_parallel_calls_come_back_together_or_only_the_first_when_asked(client, claude_model, mock_upstream):
    token = unique("parallel")
    prompt = f"both MOCK:call=get_weather,lookup-stock {token}"
    resp = client.chat.completions.create(model=claude_model, tools=[WEATHER, STOCK], messages=[{"role": "user", "content": prompt}])
    assert [c.function.name for c in resp.choices[0].message.tool_calls] == ["get_weather", "lookup-stock"]
    assert json.loads(resp.choices[0].message.tool_calls[1].function.arguments) == {"symbol": "Paris"}
    single = client.chat.completions.create(model=claude_model, tools=[WEATHER, STOCK], parallel_tool_calls=False,
                                            messages=[{"role": "user", "content": prompt}])
    assert [c.function.name for c in single.choices[0].message.tool_calls] == ["get_weather"]
    assert single.choices[0].finish_reason == "tool_calls"
    assert len(upstream_for(mock_upstream, token)) == 2


def test_streamed_calls_arrive_as_openai_tool_call_deltas(real_stack, claude_model, mock_upstream):
    token = unique("stream")
    body = chat_body(f"MOCK:call=get_weather,lookup-stock {token}", claude_model, stream=True,
                     tools=[WEATHER, STOCK], stream_options={"include_usage": True})
    result = stream_raw(real_stack, body)
    assert result.status == 200 and result.done, result.describe()
    deltas = [c["choices"][0]["delta"] for c in result.chunks if c.get("choices")]
    pieces = [d["tool_calls"][0] for d in deltas if d.get("tool_calls")]
    first = [p for p in pieces if "id" in p]
    assert [(p["index"], p["type"], p["function"]["name"], p["function"]["arguments"]) for p in first] == \
        [(0, "function", "get_weather", ""), (1, "function", "lookup-stock", "")]
    assert all(p["id"].startswith("toolu_") for p in first)
    arguments = {0: "", 1: ""}
    for p in pieces:
        arguments[p["index"]] += p["function"].get("arguments", "")
    assert json.loads(arguments[0]) == {"city": "Paris"} and json.loads(arguments[1]) == {"symbol": "Paris"}
    assert len([p for p in pieces if "id" not in p]) >= 2, "arguments must come in fragments as upstream streams them"
    assert result.finish_reasons == ["tool_calls"]
    assert result.chunks[-1]["usage"]["completion_tokens"] >= 1
    assert len(upstream_for(mock_upstream, token)) == 1


def test_the_round_trip_reaches_upstream_as_real_tool_use_and_tool_result_with_nothing_inserted(client, claude_model, mock_upstream):
    token = unique("roundtrip")
    messages = [{"role": "system", "content": "Be brief."},
                {"role": "user", "content": f"weather? MOCK:call=get_weather {token}"}]
    first = client.chat.completions.create(model=claude_model, tools=[WEATHER], messages=messages)
    call = first.choices[0].message.tool_calls[0]
    messages += [first.choices[0].message.model_dump(exclude_none=True),
                 {"role": "tool", "tool_call_id": call.id, "content": "sunny, 21 C"}]
    final = client.chat.completions.create(model=claude_model, tools=[WEATHER], messages=messages)
    assert final.choices[0].finish_reason == "stop"
    assert final.choices[0].message.content == "Tool results: sunny, 21 C"
    requests = upstream_for(mock_upstream, token)
    assert len(requests) == 2
    second = requests[1]
    assert [m["role"] for m in second["messages"]] == ["user", "assistant", "user"]
    tool_use = [b for b in second["messages"][1]["content"] if b["type"] == "tool_use"]
    assert tool_use == [{"type": "tool_use", "id": call.id, "name": "get_weather", "input": {"city": "Paris"}}]
    last = [{k: v for k, v in b.items() if k != "cache_control"} for b in second["messages"][2]["content"]]
    assert last == [{"type": "tool_result", "tool_use_id": call.id, "content": "sunny, 21 C"}]
    assert_nothing_inserted(second)
    assert "Be brief." in json.dumps(second["system"])


def test_a_follow_up_without_tools_declares_the_historys_tools(client, claude_model, mock_upstream):
    token = unique("derived")
    messages = [{"role": "user", "content": f"weather? {token}"},
                {"role": "assistant", "content": None, "tool_calls": [
                    {"id": "call_abc123", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}}]},
                {"role": "tool", "tool_call_id": "call_abc123", "content": [{"type": "text", "text": "snow"}]},
                {"role": "user", "content": "thanks"}]
    resp = client.chat.completions.create(model=claude_model, messages=messages)
    assert resp.choices[0].message.content == "Tool results: snow"  # the mock answers the tool result it got
    [upstream] = upstream_for(mock_upstream, token)
    assert [t["name"] for t in upstream["tools"]] == ["get_weather"]
    last = [{k: v for k, v in b.items() if k != "cache_control"} for b in upstream["messages"][2]["content"]]
    assert last == [{"type": "tool_result", "tool_use_id": "call_abc123", "content": [{"type": "text", "text": "snow"}]},
                    {"type": "text", "text": "thanks"}]
    assert_nothing_inserted(upstream)


def test_legacy_functions_get_the_legacy_answer_and_round_trip(client, claude_model, mock_upstream):
    token = unique("legacy")
    functions = [WEATHER["function"]]
    messages = [{"role": "user", "content": f"weather? MOCK:call=get_weather {token}"}]
    first = client.chat.completions.create(model=claude_model, functions=functions, messages=messages)
    assert first.choices[0].finish_reason == "function_call"
    call = first.choices[0].message.function_call
    assert call.name == "get_weather" and json.loads(call.arguments) == {"city": "Paris"}
    assert not first.choices[0].message.tool_calls
    messages += [{"role": "assistant", "content": None, "function_call": {"name": call.name, "arguments": call.arguments}},
                 {"role": "function", "name": "get_weather", "content": "rain"}]
    final = client.chat.completions.create(model=claude_model, functions=functions, messages=messages)
    assert final.choices[0].message.content == "Tool results: rain"
    second = upstream_for(mock_upstream, token)[1]
    tool_use = [b for b in second["messages"][1]["content"] if b["type"] == "tool_use"][0]
    assert second["messages"][2]["content"][0]["tool_use_id"] == tool_use["id"]
    assert_nothing_inserted(second)


def test_tool_choice_none_returns_no_call(client, claude_model, mock_upstream):
    token = unique("none")
    resp = client.chat.completions.create(model=claude_model, tools=[WEATHER], tool_choice="none",
                                          messages=[{"role": "user", "content": f"MOCK:call=get_weather {token}"}])
    assert resp.choices[0].finish_reason == "stop" and not resp.choices[0].message.tool_calls
    assert resp.choices[0].message.content == "Let me check."
    [upstream] = upstream_for(mock_upstream, token)
    assert not upstream.get("tools"), "with tool_choice none and no tool history, no tool is offered"


def test_tool_choice_required_fails_clearly_when_the_model_does_not_call(real_stack, claude_model, mock_upstream):
    token = unique("required")
    resp = post_chat(real_stack, chat_body(f"just talk {token}", claude_model, tools=[WEATHER], tool_choice="required"))
    assert resp.status_code == 502, resp.text
    assert resp.json()["error"]["code"] == "invalid_model_output"
    [upstream] = upstream_for(mock_upstream, token)
    assert "You must answer by calling one or more of the available tools." in json.dumps(upstream["system"])


def test_a_named_tool_choice_offers_that_tool_and_asks_for_it(client, claude_model, mock_upstream):
    token = unique("named")
    resp = client.chat.completions.create(model=claude_model, tools=[WEATHER, STOCK],
                                          tool_choice={"type": "function", "function": {"name": "lookup-stock"}},
                                          messages=[{"role": "user", "content": f"MOCK:call=lookup-stock {token}"}])
    assert [c.function.name for c in resp.choices[0].message.tool_calls] == ["lookup-stock"]
    [upstream] = upstream_for(mock_upstream, token)
    assert [t["name"] for t in upstream["tools"]] == ["lookup-stock"]
    assert "You must answer by calling the tool `lookup-stock`." in json.dumps(upstream["system"])


def test_strict_arguments_that_break_the_schema_are_an_error_not_a_call(real_stack, claude_model):
    strict = {"type": "function", "function": {**WEATHER["function"], "strict": True}}
    resp = post_chat(real_stack, chat_body(f'MOCK:call=get_weather MOCK:args={{"city": 5}}\n{unique()}', claude_model, tools=[strict]))
    assert resp.status_code == 502, resp.text
    error = resp.json()["error"]
    assert error["code"] == "invalid_model_output" and "/city" in error["message"]
    ok = post_chat(real_stack, chat_body(f"MOCK:call=get_weather {unique()}", claude_model, tools=[strict]))
    assert ok.status_code == 200 and ok.json()["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "get_weather"


@pytest.mark.parametrize("stream", [False, True])
def test_json_object_answers_are_checked(real_stack, claude_model, stream):
    fmt = {"type": "json_object"}
    good = chat_body(f'MOCK:reply={{"answer": 42}}\n{unique()}', claude_model, stream=stream, response_format=fmt)
    bad = chat_body(f"MOCK:reply=forty-two\n{unique()}", claude_model, stream=stream, response_format=fmt)
    if not stream:
        resp = post_chat(real_stack, good)
        assert json.loads(resp.json()["choices"][0]["message"]["content"]) == {"answer": 42}
        failed = post_chat(real_stack, bad)
        assert failed.status_code == 502 and failed.json()["error"]["code"] == "invalid_model_output", failed.text
    else:
        result = stream_raw(real_stack, good)
        assert json.loads(result.text) == {"answer": 42} and result.finish_reasons == ["stop"]
        result = stream_raw(real_stack, bad)
        assert result.status == 200 and result.text == "forty-two" and result.done
        assert result.errors and result.errors[-1]["error"]["code"] == "invalid_model_output"


class Weather(BaseModel):
    city: str
    degrees: int


def test_json_schema_answers_work_with_the_official_parse_helper(client, claude_model, mock_upstream):
    token = unique("schema")
    parsed = client.chat.completions.parse(model=claude_model, response_format=Weather,
                                           messages=[{"role": "user", "content": f"MOCK:call=structured_output {token}"}])
    assert parsed.choices[0].message.parsed == Weather(city="Paris", degrees=3)
    assert parsed.choices[0].finish_reason == "stop"
    [upstream] = upstream_for(mock_upstream, token)
    [tool] = upstream["tools"]
    assert tool["name"] == "structured_output" and tool["input_schema"]["properties"].keys() == {"city", "degrees"}
    with pytest.raises(openai.APIStatusError) as failure:
        client.chat.completions.parse(model=claude_model, response_format=Weather, messages=[
            {"role": "user", "content": f'MOCK:call=structured_output MOCK:args={{"city": "Oslo"}}\n{unique()}'}])
    assert failure.value.status_code == 502 and failure.value.code == "invalid_model_output"


def test_a_client_leaving_during_a_call_ends_the_cli_without_a_second_request(real_stack, claude_model, mock_upstream):
    token = unique("leave")
    body = chat_body(f"MOCK:slow MOCK:call=get_weather {token}", claude_model, stream=True, tools=[WEATHER])
    stream_then_disconnect(real_stack, body, deltas=1)
    assert wait_until(lambda: not real_stack.children(include_zombies=False), 5), "the CLI must end with the client"
    assert len(upstream_for(mock_upstream, token)) == 1


def test_langchain_bind_tools_gets_the_call(real_stack, claude_model):
    from langchain_core.tools import tool
    from langchain_openai import ChatOpenAI

    @tool
    def get_weather(city: str) -> str:
        """The weather in a city."""
        return "sunny"

    llm = ChatOpenAI(model=claude_model, base_url=real_stack.base_url + "/v1", api_key="unused", max_retries=0)
    message = llm.bind_tools([get_weather]).invoke(f"MOCK:call=get_weather {unique()}")
    assert message.tool_calls and message.tool_calls[0]["name"] == "get_weather"
    assert message.tool_calls[0]["args"] == {"city": "Paris"}


def test_the_openai_agents_sdk_runs_a_tool_loop_over_chat_completions(real_stack, claude_model, mock_upstream):
    token = unique("agents")
    calls, result = run_weather_agent(real_stack, "OpenAIChatCompletionsModel", claude_model, f"MOCK:call=get_weather {token}")
    assert calls == ["Paris"]
    assert result.final_output == "Tool results: sunny in Paris"
    requests = upstream_for(mock_upstream, token)
    assert len(requests) == 2
    assert_nothing_inserted(requests[1])
