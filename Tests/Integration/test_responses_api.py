"""The OpenAI Responses API end to end: the official `openai` client and the OpenAI Agents SDK -> nginx -> responder
-> the real CLI -> the mock upstream, with stored responses in a SQLite file in the stack's state folder."""

from __future__ import annotations

import json
import sqlite3

import httpx
import openai
import pytest

from support import openai_client, run_weather_agent, unique

WEATHER = {"type": "function", "name": "get_weather", "description": "The weather in a city.",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
                          "additionalProperties": False}}


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("state")


@pytest.fixture(scope="module")
def stack(_stack_factory, state_dir):
    """The real CLI against the mock upstream, with a state folder (stored responses)."""
    from conftest import SESSION_PING_INTERVAL, real_cli_path

    stack = _stack_factory.start(cli=real_cli_path(), name="responses",
                                 extra_env={"CCA_STATE_DIR": str(state_dir), "CCA_PING_INTERVAL_SECONDS": SESSION_PING_INTERVAL})
    yield stack
    _stack_factory.close(stack)


@pytest.fixture(scope="module")
def client(stack):
    return openai_client(stack)


def upstream_for(mock, token: str) -> list[dict]:
    return [r["body"] for r in mock.message_requests() if token in json.dumps(r["body"].get("messages"))]


def plain(messages: list[dict]) -> list[dict]:
    """Upstream messages without cache_control marks, content always as blocks."""
    out = []
    for message in messages:
        content = message["content"]
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        out.append({"role": message["role"], "content": [{k: v for k, v in b.items() if k != "cache_control"} for b in content]})
    return out


def test_create_answers_with_a_response_whose_output_text_works_and_instructions_are_the_system_prompt(client, claude_model, mock_upstream):
    token = unique("resp")
    response = client.responses.create(model=claude_model, instructions="You are terse.", input=f"hello {token}")
    assert response.object == "response" and response.status == "completed" and response.id.startswith("resp_")
    assert response.output_text == f"Hello from the mock! You said: hello {token}"
    [message] = response.output
    assert message.type == "message" and message.role == "assistant" and message.content[0].type == "output_text"
    assert response.usage.input_tokens == 25 and response.usage.output_tokens >= 1
    assert response.usage.input_tokens_details.cached_tokens == 0
    assert response.usage.output_tokens_details.reasoning_tokens == 0
    assert response.instructions == "You are terse." and response.store is True
    [upstream] = upstream_for(mock_upstream, token)
    assert "You are terse." in json.dumps(upstream["system"])


def test_streaming_sends_the_typed_events_in_order_with_sequence_numbers(client, claude_model):
    token = unique("stream")
    events = list(client.responses.create(model=claude_model, input=f"hi {token}", stream=True))
    types = [e.type for e in events]
    assert types[:4] == ["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added"]
    assert set(types[4:-4]) == {"response.output_text.delta"} and len(types[4:-4]) > 1
    assert types[-4:] == ["response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    final = events[-1].response
    assert final.output_text == f"Hello from the mock! You said: hi {token}"
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == final.output_text
    assert events[0].response.id == final.id and events[0].response.status == "in_progress"


def test_a_function_call_round_trip_with_function_call_output(client, claude_model, mock_upstream):
    token = unique("fn")
    first = client.responses.create(model=claude_model, tools=[WEATHER], input=f"weather? MOCK:call=get_weather {token}", store=False)
    [call] = [item for item in first.output if item.type == "function_call"]
    assert call.name == "get_weather" and json.loads(call.arguments) == {"city": "Paris"} and call.call_id.startswith("toolu_")
    assert first.store is False
    follow_up = [{"role": "user", "content": f"weather? MOCK:call=get_weather {token}"},
                 *[item.model_dump(exclude_none=True) for item in first.output],
                 {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}]
    final = client.responses.create(model=claude_model, tools=[WEATHER], input=follow_up)
    assert final.output_text == "Tool results: sunny"
    second = upstream_for(mock_upstream, token)[1]
    messages = plain(second["messages"])
    assert messages[-1] == {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.call_id, "content": "sunny"}]}
    assert any(b["type"] == "tool_use" and b["id"] == call.call_id for b in messages[-2]["content"])
    assert "Continue from where you left off" not in json.dumps(second["messages"])


def test_a_function_call_answered_through_previous_response_id(client, claude_model, mock_upstream):
    token = unique("fnchain")
    first = client.responses.create(model=claude_model, tools=[WEATHER], input=f"MOCK:call=get_weather {token}")
    [call] = [item for item in first.output if item.type == "function_call"]
    final = client.responses.create(model=claude_model, tools=[WEATHER], previous_response_id=first.id,
                                    input=[{"type": "function_call_output", "call_id": call.call_id, "output": "rainy"}])
    assert final.output_text == "Tool results: rainy"
    messages = plain(upstream_for(mock_upstream, token)[1]["messages"])
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[-1]["content"] == [{"type": "tool_result", "tool_use_id": call.call_id, "content": "rainy"}]


def test_streamed_function_calls_come_as_argument_deltas(client, claude_model):
    events = list(client.responses.create(model=claude_model, tools=[WEATHER], stream=True,
                                          input=f"MOCK:call=get_weather {unique()}"))
    assert [e.sequence_number for e in events] == list(range(len(events)))
    done = [e for e in events if e.type == "response.function_call_arguments.done"]
    assert len(done) == 1 and json.loads(done[0].arguments) == {"city": "Paris"}
    final = events[-1]
    assert final.type == "response.completed"
    assert [i.type for i in final.response.output][-1] == "function_call"


def test_a_previous_response_id_chain_of_three_turns_reaches_upstream_as_real_history(client, claude_model, mock_upstream):
    token = unique("chain")
    first = client.responses.create(model=claude_model, input=f"one {token}")
    second = client.responses.create(model=claude_model, input="MOCK:reply=second answer", previous_response_id=first.id)
    third = client.responses.create(model=claude_model, input=f"three {token}", previous_response_id=second.id, stream=False)
    assert second.previous_response_id == first.id and second.output_text == "second answer"
    assert third.output_text == f"Hello from the mock! You said: three {token}"
    last = upstream_for(mock_upstream, token)[-1]
    assert plain(last["messages"]) == [
        {"role": "user", "content": [{"type": "text", "text": f"one {token}"}]},
        {"role": "assistant", "content": [{"type": "text", "text": f"Hello from the mock! You said: one {token}"}]},
        {"role": "user", "content": [{"type": "text", "text": "MOCK:reply=second answer"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "second answer"}]},
        {"role": "user", "content": [{"type": "text", "text": f"three {token}"}]},
    ]


def test_get_input_items_and_delete(client, claude_model, stack):
    token = unique("get")
    created = client.responses.create(model=claude_model, input=[{"role": "user", "content": [{"type": "input_text", "text": f"a {token}"}]}],
                                      metadata={"k": "v"})
    got = client.responses.retrieve(created.id)
    assert got.id == created.id and got.output_text == created.output_text and got.metadata == {"k": "v"}
    items = client.responses.input_items.list(created.id)
    assert [(i.type, i.role, i.content[0].text) for i in items.data] == [("message", "user", f"a {token}")]
    assert items.data[0].id.startswith("msg_")
    deleted = httpx.delete(stack.base_url + f"/v1/responses/{created.id}", timeout=10)
    assert deleted.status_code == 200 and deleted.json() == {"id": created.id, "object": "response.deleted", "deleted": True}
    with pytest.raises(openai.NotFoundError) as gone:
        client.responses.retrieve(created.id)
    assert gone.value.body["code"] == "response_not_found"
    with pytest.raises(openai.BadRequestError) as chain:
        client.responses.create(model=claude_model, input="x", previous_response_id=created.id)
    assert chain.value.body["param"] == "previous_response_id"


def test_unsupported_parameters_are_clear_400s(stack, claude_model):
    cases = [({"background": True}, "background"), ({"tools": [{"type": "web_search"}]}, "tools[0].type"),
             ({"include": ["reasoning.encrypted_content"]}, "include"), ({"truncation": "auto"}, "truncation"),
             ({"conversation": "conv_1"}, "conversation"), ({"input": [{"type": "item_reference", "id": "x"}]}, "input[0].type")]
    for extra, param in cases:
        body = {"model": claude_model, "input": "x", **extra}
        resp = httpx.post(stack.base_url + "/v1/responses", json=body, timeout=10)
        assert resp.status_code == 400, (extra, resp.text)
        assert resp.json()["error"]["param"] == param and resp.json()["error"]["type"] == "invalid_request_error"


def test_the_store_file_is_sqlite_in_wal_mode_and_sound(state_dir, client, claude_model):
    client.responses.create(model=claude_model, input=f"x {unique()}")
    db = sqlite3.connect(f"file:{state_dir / 'responses.sqlite3'}?mode=ro", uri=True)
    try:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        db.close()


def test_the_openai_agents_sdk_runs_a_tool_loop_with_its_default_responses_model(stack, claude_model, mock_upstream):
    token = unique("agents")
    calls, result = run_weather_agent(stack, "OpenAIResponsesModel", claude_model, f"MOCK:call=get_weather {token}")
    assert calls == ["Paris"]
    assert result.final_output == "Tool results: sunny in Paris"
    requests = upstream_for(mock_upstream, token)
    assert len(requests) == 2
    assert "Use the tool." in json.dumps(requests[1]["system"])


def test_sigkill_during_stored_writes_leaves_a_sound_database_with_every_completed_response(make_stack, tmp_path, claude_model):
    """Rounds of concurrent stored responses with large inputs (every write is ~1.5 MB of WAL frames, fsynced); once
    one has completed, the responder is SIGKILLed the moment the WAL file changes again (another response's write
    under way); then the file passes `PRAGMA integrity_check` and a fresh responder serves every response a client
    saw complete."""
    import os
    import signal
    import threading
    import time

    state = tmp_path / "state"
    padding = "lorem ipsum " * 125_000
    completed: dict[str, str] = {}
    env = {"CCA_STATE_DIR": str(state), "CCA_MAX_CONCURRENT_CLI": "8", "CCA_QUEUE_TIMEOUT_MS": "30000"}
    for round_number in range(5):
        stack = make_stack(extra_env=env, name=f"crash{round_number}")
        done = threading.Condition()
        finished = []

        def one(index: int):
            body = {"model": claude_model, "input": [
                {"role": "user", "content": padding}, {"role": "assistant", "content": "ok"},
                {"role": "user", "content": f"r{round_number} n{index} {unique()}"}]}
            try:
                resp = httpx.post(stack.base_url + "/v1/responses", json=body, timeout=30)
                if resp.status_code == 200:
                    with done:
                        completed[resp.json()["id"]] = resp.json()["output"][0]["content"][0]["text"]
            except httpx.HTTPError:
                pass  # cut by the kill
            finally:
                with done:
                    finished.append(index)
                    done.notify_all()

        before = len(completed)
        threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        with done:
            assert done.wait_for(lambda: len(completed) > before or len(finished) == len(threads), timeout=60)
        wal = state / "responses.sqlite3-wal"
        seen = wal.stat().st_mtime_ns
        deadline = time.monotonic() + 30
        while len(finished) < len(threads) and time.monotonic() < deadline and wal.stat().st_mtime_ns == seen:
            pass  # spin: the kill must land within the next write
        os.kill(stack.responder_pid, signal.SIGKILL)
        for thread in threads:
            thread.join(timeout=40)
            assert not thread.is_alive(), "a request hung after the responder was killed"
    assert len(completed) >= 5

    db = sqlite3.connect(str(state / "responses.sqlite3"))
    try:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        stored = {row[0] for row in db.execute("SELECT id FROM responses")}
    finally:
        db.close()
    assert set(completed) <= stored

    stack = make_stack(extra_env={"CCA_STATE_DIR": str(state)}, name="crash-after")
    for response_id, text in completed.items():
        got = httpx.get(stack.base_url + f"/v1/responses/{response_id}", timeout=10)
        assert got.status_code == 200 and got.json()["output"][0]["content"][0]["text"] == text
