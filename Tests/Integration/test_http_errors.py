"""HTTP behaviour through nginx: validation errors, limits, routing, models, health, CORS."""

from __future__ import annotations

import json

import httpx
import pytest

from support import assert_openai_error, chat_body, post_chat, unique

MODEL = "claude-sonnet-4-5"


@pytest.fixture(scope="module")
def stack(fake_stack):
    """Request validation does not depend on the CLI: the fake one is enough."""
    return fake_stack


# -- request validation ------------------------------------------------------------


def test_malformed_json_is_a_400(stack):
    resp = post_chat(stack, b'{"model": "x", "messages": [')
    assert_openai_error(resp, 400, error_type="invalid_request_error")


def test_missing_messages_is_a_400_naming_the_param(stack):
    resp = post_chat(stack, {"model": MODEL})
    assert_openai_error(resp, 400, param="messages", error_type="invalid_request_error")


@pytest.mark.parametrize("body,param", [
    ({"model": MODEL, "messages": "hello"}, "messages"),
    ({"model": MODEL, "messages": []}, "messages"),
    ({"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "n": 2}, "n"),
], ids=["messages-not-a-list", "messages-empty", "n-2"])
def test_invalid_parameters_are_a_400_naming_the_param(stack, body, param):
    resp = post_chat(stack, body)
    assert_openai_error(resp, 400, param=param, error_type="invalid_request_error")


def test_unknown_role_is_a_400_naming_the_message(stack):
    resp = post_chat(stack, {"model": MODEL, "messages": [{"role": "wizard", "content": "hi"}]})
    err = assert_openai_error(resp, 400, error_type="invalid_request_error")
    assert err["param"] and err["param"].startswith("messages"), err


def test_missing_model_is_a_400_naming_the_param(stack):
    before = len(stack.invocations())
    resp = post_chat(stack, {"messages": [{"role": "user", "content": "hi"}]})
    err = assert_openai_error(resp, 400, param="model", error_type="invalid_request_error")
    assert err["code"] == "missing_required_parameter", err
    assert len(stack.invocations()) == before, "a CLI was started without a model"


def test_unknown_model_is_a_404_model_not_found(stack):
    resp = post_chat(stack, chat_body("hi", "no-such-model-" + unique()))
    err = assert_openai_error(resp, 404, param="model")
    assert err["code"] == "model_not_found", err


def test_validation_errors_start_no_cli(stack):
    before = len(stack.invocations())
    assert_openai_error(post_chat(stack, {"model": MODEL, "messages": []}), 400)
    assert_openai_error(post_chat(stack, b"not json"), 400)
    assert len(stack.invocations()) == before


# -- body limits ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_body_stack(_stack_factory):
    """The responder takes 1000 bytes; nginx takes 20 KiB."""
    stack = _stack_factory.start(fake=True, name="small-body", nginx_max_body="20k",
                                 extra_env={"CCA_MAX_BODY_BYTES": "1000"})
    yield stack
    _stack_factory.close(stack)


def test_body_over_the_responder_limit_is_a_413(small_body_stack):
    body = json.dumps(chat_body("x" * 5000, MODEL)).encode()
    assert 4000 < len(body) < 20 * 1024
    resp = post_chat(small_body_stack, body)
    assert_openai_error(resp, 413)


def test_body_over_the_nginx_limit_is_a_413_json(small_body_stack):
    body = json.dumps(chat_body("x" * 50000, MODEL)).encode()
    resp = post_chat(small_body_stack, body)
    assert_openai_error(resp, 413)


def test_body_under_the_limit_is_accepted(small_body_stack):
    prompt = f"small {unique()}"
    resp = post_chat(small_body_stack, chat_body(prompt, MODEL))
    assert resp.status_code == 200, resp.text


# -- routing -------------------------------------------------------------------------


def test_unknown_path_is_a_404_json(stack):
    resp = stack.get("/nope")
    assert_openai_error(resp, 404)


def test_wrong_method_is_a_405_json(stack):
    resp = stack.get("/v1/chat/completions")
    assert_openai_error(resp, 405)


def test_models_list_has_the_openai_shape(stack):
    resp = stack.get("/v1/models")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert body["object"] == "list"
    assert body["data"], "no model listed"
    for model in body["data"]:
        assert isinstance(model["id"], str) and model["id"]
        assert model["object"] == "model"
        assert isinstance(model["created"], int)
        assert isinstance(model["owned_by"], str)
    ids = [m["id"] for m in body["data"]]
    assert len(ids) == len(set(ids)), "duplicate model ids"


def test_models_list_works_with_the_openai_client(stack):
    from support import openai_client

    ids = [m.id for m in openai_client(stack).models.list()]
    assert ids and ids == [m["id"] for m in stack.get("/v1/models").json()["data"]]


# -- health --------------------------------------------------------------------------


def test_health_reports_the_cli_version_without_a_model_turn(real_stack, mock_upstream):
    before = len(mock_upstream.message_requests())
    resp = real_stack.get("/health", timeout=30)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    assert "2.1.332" in json.dumps(resp.json()), resp.text
    assert len(mock_upstream.message_requests()) == before, "/health made a model request"


def test_health_with_the_fake_cli_starts_no_turn(stack):
    before = len(stack.invocations())
    resp = stack.get("/health", timeout=30)
    assert resp.status_code == 200, resp.text
    assert "2.1.332" in resp.text
    assert len(stack.invocations()) == before


def test_missing_cli_gives_503_and_unhealthy(make_stack):
    broken = make_stack(cli="/nonexistent/claude", name="no-cli")
    resp = post_chat(broken, chat_body("hi", MODEL), timeout=30)
    assert_openai_error(resp, 503)
    health = broken.get("/health", timeout=30)
    assert health.status_code == 503, health.text
    assert health.headers["content-type"].startswith("application/json")


# -- CORS ----------------------------------------------------------------------------


def test_cors_preflight_is_a_204_with_allow_origin(stack):
    origin = "http://localhost:3000"
    resp = httpx.request("OPTIONS", stack.base_url + "/v1/chat/completions", timeout=10,
                         headers={"Origin": origin,
                                  "Access-Control-Request-Method": "POST",
                                  "Access-Control-Request-Headers": "authorization,content-type"})
    assert resp.status_code == 204
    assert resp.headers.get("access-control-allow-origin") == origin
    assert "POST" in resp.headers.get("access-control-allow-methods", "")


def test_cors_header_on_ordinary_and_error_responses(stack):
    origin = "http://localhost:3000"
    ok = stack.get("/v1/models", headers={"Origin": origin})
    assert ok.headers.get("access-control-allow-origin") == origin
    bad = stack.get("/nope", headers={"Origin": origin})
    assert bad.headers.get("access-control-allow-origin") == origin


def test_status_page_counts_requests_through_nginx(fake_stack):
    before = fake_stack.get("/status").json()
    assert fake_stack.get("/v1/models").status_code == 200
    after = fake_stack.get("/status").json()
    assert after["requests"]["accepted"] >= before["requests"]["accepted"] + 2
    assert after["requests"]["by_status"]["2xx"] >= before["requests"]["by_status"].get("2xx", 0) + 2
    assert {"active", "capacity", "max_active", "waiting", "max_children_reached", "runs"} <= set(after["cli"])
    assert after["draining"] is False
