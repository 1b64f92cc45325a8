"""Client API keys through real nginx and the real CLI (against the mock upstream).

Keys are made with the responder's own `keys new` and `keys hash`. Tests that make failed
attempts on purpose send them from their own loopback source address (127.0.0.N), because the
responder limits failed attempts per client address. Every test checks that the plain key never
comes back in a body, and the last one that no log line (responder, nginx) holds a key or digest.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import traceback
import time
from pathlib import Path

import httpx
import pytest

from conftest import real_cli_path
from stack import responder_binary
from support import ChatStream, unique, wait_until

MODEL = "claude-sonnet-4-5"
TIMEOUT = httpx.Timeout(60.0, connect=5.0)


# -- helpers -----------------------------------------------------------------------------------


def keys_new(name: str, *options: str) -> tuple[str, str]:
    """`claude-code-api keys new NAME [options]`: (the key, its file line)."""
    result = subprocess.run([str(responder_binary()), "keys", "new", name, *options],
                            capture_output=True, text=True, timeout=30, check=True)
    key, line = result.stdout.splitlines()
    return key, line


def keys_hash(name: str, key: str, *options: str) -> str:
    """`claude-code-api keys hash NAME [options]` with the key on stdin: its file line."""
    result = subprocess.run([str(responder_binary()), "keys", "hash", name, *options], input=key + "\n",
                            capture_output=True, text=True, timeout=30, check=True)
    return result.stdout.strip()


def client(source: str = "127.0.0.1") -> httpx.Client:
    """An httpx client whose connections come from ``source`` (any 127.x address is loopback)."""
    return httpx.Client(timeout=TIMEOUT, transport=httpx.HTTPTransport(local_address=source))


def chat(stack, headers: dict, prompt: str | None = None, stream: bool = False, source: str = "127.0.0.1",
         path: str = "/v1/chat/completions") -> httpx.Response:
    body = {"model": MODEL, "stream": stream,
            "messages": [{"role": "user", "content": prompt or f"hello {unique()}"}]}
    with client(source) as c:
        return c.post(stack.base_url + path, json=body, headers=headers)


def bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def error_of(resp: httpx.Response) -> dict:
    assert resp.headers.get("content-type", "").startswith("application/json"), resp.headers
    return resp.json()["error"]


def stream_in_thread(stack, headers: dict, prompt: str):
    """Streams a chat completion in a thread. Returns (thread, first_content event, outcome dict)."""
    first = threading.Event()
    outcome: dict = {"payloads": []}

    def run():
        try:
            body = {"model": MODEL, "stream": True, "messages": [{"role": "user", "content": prompt}]}
            with ChatStream(stack, body, timeout=60.0, headers=headers) as stream:
                outcome["status"] = stream.status
                while (payload := stream.next_payload()) is not None:
                    outcome["payloads"].append(payload)
                    outcome["last_at"] = time.monotonic()
                    if payload != "[DONE]" and any((ch.get("delta") or {}).get("content")
                                                   for ch in json.loads(payload).get("choices") or []):
                        first.set()
        except Exception:  # reported to the test through the outcome
            outcome["error"] = traceback.format_exc()
        finally:
            first.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, first, outcome


def streamed_text(outcome: dict) -> str:
    return "".join((c.get("delta") or {}).get("content") or ""
                   for p in outcome["payloads"] if p != "[DONE]" for c in json.loads(p).get("choices") or [])


class KeyedStack:
    """A stack whose responder reads a key file (in a temporary folder of its own)."""

    def __init__(self, factory, lines: list[str], name: str, extra_env: dict | None = None):
        self.folder = Path(tempfile.mkdtemp(prefix="cca-keys-"))
        self.file = self.folder / "keys"
        self.write(lines)
        env = {"CCA_API_KEYS_FILE": str(self.file), **(extra_env or {})}
        self.stack = factory(env)

    def write(self, lines: list[str]):
        self.file.write_text("# test keys\n" + "\n".join(lines) + "\n")

    def reload(self) -> dict:
        """SIGHUP, then waits (bounded) for the responder to log the outcome; returns that log line."""
        seen = len([line for line in self.stack.log_lines() if "API keys" in line.get("msg", "")])
        os.kill(self.stack.responder_pid, signal.SIGHUP)
        found = wait_until(lambda: [line for line in self.stack.log_lines() if "API keys" in line.get("msg", "")][seen:], 10)
        assert found, f"no reload outcome logged after SIGHUP:\n{self.stack.log_tail()}"
        return found[0]

    def remove(self):
        shutil.rmtree(self.folder, ignore_errors=True)


def assert_no_secret_in_logs(stack, secrets_: list[str]):
    logs = {"responder": stack.log_path, "nginx access": stack.prefix / "access.log",
            "nginx error": stack.error_log_path}
    for label, path in logs.items():
        text = path.read_text(errors="replace") if path.exists() else ""
        for secret in secrets_:
            assert secret not in text, f"the {label} log holds a key or a digest"


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


# -- one stack with four keys for most tests ------------------------------------------------------

KEYS: dict[str, str] = {}


@pytest.fixture(scope="module")
def keyed(_stack_factory):
    alice, alice_line = keys_new("alice")
    bob = "sk-elsewhere-" + secrets.token_urlsafe(24)   # a key made elsewhere, hashed by `keys hash`
    bob_line = keys_hash("bob", bob)
    solo, solo_line = keys_new("solo", "--max-concurrent", "1")
    limited, limited_line = keys_new("limited", "--rpm", "10")
    KEYS.update(alice=alice, bob=bob, solo=solo, limited=limited)
    keyed = KeyedStack(lambda env: _stack_factory.start(cli=real_cli_path(), name="keys", extra_env=env),
                       [alice_line, bob_line, solo_line, limited_line], "keys")
    yield keyed
    _stack_factory.close(keyed.stack)
    keyed.remove()


def test_the_keys_subcommands_make_a_random_key_and_its_sha256_line():
    key, line = keys_new("ci-bot", "--rpm", "60", "--max-concurrent", "2")
    other, _ = keys_new("ci-bot")
    assert key.startswith("sk-cca-") and other != key
    assert len(key) - len("sk-cca-") >= 22, "fewer than 128 bits of base64url"
    assert line == f"ci-bot {digest(key)} max_concurrent=2 rpm=60"
    assert keys_hash("x", key) == f"x {digest(key)}"
    bad = subprocess.run([str(responder_binary()), "keys", "new", "no spaces"], capture_output=True, text=True, timeout=30)
    assert bad.returncode != 0 and "name" in bad.stderr


def test_health_needs_no_key(keyed):
    resp = keyed.stack.get("/health")
    assert resp.status_code == 200, resp.text


@pytest.mark.parametrize("method,path", [("GET", "/v1/models"), ("GET", "/models"), ("GET", "/v1/models/gpt-4o"),
                                         ("POST", "/v1/chat/completions"), ("POST", "/chat/completions")])
def test_no_key_is_401_invalid_api_key_with_www_authenticate_on_every_route(keyed, method, path):
    with client("127.0.0.2") as c:
        resp = c.request(method, keyed.stack.base_url + path,
                         json={"model": MODEL, "messages": [{"role": "user", "content": "hi"}]} if method == "POST" else None)
    assert resp.status_code == 401, resp.text
    assert resp.headers.get("www-authenticate") == "Bearer"
    err = error_of(resp)
    assert err["type"] == "invalid_request_error" and err["code"] == "invalid_api_key", err


def test_a_wrong_key_is_401_never_echoed_and_the_openai_client_raises_authentication_error(keyed):
    from openai import AuthenticationError, OpenAI

    wrong = KEYS["alice"][:-1] + ("A" if KEYS["alice"][-1] != "A" else "B")
    resp = chat(keyed.stack, bearer(wrong), source="127.0.0.3")
    assert resp.status_code == 401
    assert wrong not in resp.text and digest(wrong) not in resp.text and KEYS["alice"] not in resp.text
    with httpx.Client(timeout=TIMEOUT, transport=httpx.HTTPTransport(local_address="127.0.0.3")) as http:
        openai = OpenAI(base_url=keyed.stack.base_url + "/v1", api_key=wrong, max_retries=0, http_client=http)
        with pytest.raises(AuthenticationError) as raised:
            openai.models.list()
    assert raised.value.status_code == 401
    assert wrong not in str(raised.value)


def test_a_bearer_key_serves_the_openai_client_streaming_and_not(keyed):
    from openai import OpenAI

    openai = OpenAI(base_url=keyed.stack.base_url + "/v1", api_key=KEYS["alice"], max_retries=0, timeout=60)
    token = unique("bearer")
    answer = openai.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": token}])
    assert token in answer.choices[0].message.content
    text = "".join(chunk.choices[0].delta.content or "" for chunk in
                   openai.chat.completions.create(model=MODEL, stream=True, messages=[{"role": "user", "content": token}])
                   if chunk.choices)
    assert token in text
    assert [m.id for m in openai.models.list()]


def test_an_x_api_key_is_accepted_and_the_access_log_names_the_key(keyed):
    token = unique("xapikey")
    resp = chat(keyed.stack, {"x-api-key": KEYS["bob"]}, prompt=token)
    assert resp.status_code == 200, resp.text
    assert token in resp.json()["choices"][0]["message"]["content"]
    request_id = resp.headers["x-request-id"]
    line = wait_until(lambda: next((r for r in keyed.stack.log_lines() if r.get("request_id") == request_id), None), 5)
    assert line and line["key"] == "bob" and line["status"] == 200, line


def test_max_concurrent_refuses_the_keys_second_turn_at_once_while_another_key_is_served(keyed):
    prompt = f"MOCK:slow {unique('solo')}"
    thread, first, outcome = stream_in_thread(keyed.stack, bearer(KEYS["solo"]), prompt)
    assert first.wait(30) and "error" not in outcome, outcome
    started = time.monotonic()
    refused = chat(keyed.stack, bearer(KEYS["solo"]))
    elapsed = time.monotonic() - started
    assert refused.status_code == 429, refused.text
    assert error_of(refused)["code"] == "per_key_concurrency" and error_of(refused)["type"] == "rate_limit_error"
    assert refused.headers.get("retry-after") == "1"
    assert elapsed < 1.0, f"the refusal took {elapsed:.2f}s: it waited instead of refusing at once"
    other = chat(keyed.stack, bearer(KEYS["alice"]))
    assert other.status_code == 200, other.text
    thread.join(30)
    assert outcome.get("status") == 200 and outcome["payloads"][-1] == "[DONE]", outcome
    assert prompt in streamed_text(outcome)
    assert chat(keyed.stack, bearer(KEYS["solo"])).status_code == 200   # its place came back


def test_rpm_429_with_headers_while_another_key_is_served_and_the_openai_retry_gets_through(keyed):
    from openai import OpenAI

    limited = bearer(KEYS["limited"])
    refusal = None
    for _ in range(20):  # capacity 10, one more every 6 s: a 429 comes within 20 quick requests
        resp = chat(keyed.stack, limited)
        if resp.status_code == 429:
            refusal = resp
            break
        assert resp.status_code == 200, resp.text
        assert resp.headers["x-ratelimit-limit-requests"] == "10"
        assert 0 <= int(resp.headers["x-ratelimit-remaining-requests"]) <= 9
        assert resp.headers["x-ratelimit-reset-requests"].endswith("s")
    assert refusal is not None, "20 requests a few seconds apart never met the limit of 10 a minute"
    err = error_of(refusal)
    assert err["code"] == "rate_limit_exceeded" and err["type"] == "rate_limit_error", err
    assert 1 <= int(refusal.headers["retry-after"]) <= 6
    assert refusal.headers["x-ratelimit-limit-requests"] == "10"
    assert refusal.headers["x-ratelimit-remaining-requests"] == "0"
    assert chat(keyed.stack, bearer(KEYS["alice"])).status_code == 200   # other keys are not limited

    # The openai client's own retry (max_retries=2) honours Retry-After and gets through once the bucket refills.
    # Should a token come back between the drain and the call, the call needs no retry: drain again.
    for _ in range(3):
        drained = any(chat(keyed.stack, limited).status_code == 429 for _ in range(20))
        assert drained, "the limited key was never refused again"
        statuses: list[int] = []
        hooks = {"response": [lambda response: statuses.append(response.status_code)]}
        with httpx.Client(timeout=TIMEOUT, event_hooks=hooks) as http:
            openai = OpenAI(base_url=keyed.stack.base_url + "/v1", api_key=KEYS["limited"], max_retries=2, http_client=http)
            started = time.monotonic()
            answer = openai.chat.completions.with_raw_response.create(
                model=MODEL, messages=[{"role": "user", "content": unique("retry")}])
            elapsed = time.monotonic() - started
        if statuses[0] == 429:
            break
    assert statuses[0] == 429 and statuses[-1] == 200, statuses
    assert answer.http_response.status_code == 200
    assert answer.headers["x-ratelimit-limit-requests"] == "10"
    assert elapsed >= 0.9, f"the client retried after {elapsed:.2f}s, sooner than Retry-After allows"


def test_ten_failed_attempts_from_one_address_then_429_there_even_with_the_right_key(keyed):
    for attempt in range(10):
        resp = chat(keyed.stack, bearer(f"sk-cca-guess-{attempt}"), source="127.0.0.7")
        assert resp.status_code == 401, resp.text
    blocked = chat(keyed.stack, bearer(KEYS["alice"]), source="127.0.0.7")
    assert blocked.status_code == 429, blocked.text
    assert error_of(blocked)["code"] == "too_many_failed_authentications"
    assert 1 <= int(blocked.headers["retry-after"]) <= 6
    assert KEYS["alice"] not in blocked.text
    assert chat(keyed.stack, bearer(KEYS["alice"]), source="127.0.0.8").status_code == 200


def test_hostile_authorization_and_x_api_key_values_through_nginx(keyed):
    rng = random.Random(0x5EED)
    alphabet = [chr(c) for c in range(0x20, 0x7F)]
    seeds = ["Bearer " + KEYS["alice"], KEYS["alice"], "Basic Zm9vOmJhcg==", "Bearer", ""]
    for index in range(150):
        value = rng.choice(seeds)
        for _ in range(rng.randint(1, 3)):
            pos = rng.randint(0, len(value))
            choice = rng.randrange(5)
            if choice == 0:
                value = value[:pos]
            elif choice == 1:
                value = value[:pos] + "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40))) + value[pos:]
            elif choice == 2:
                value = value[:pos] + rng.choice(["\t", "  ", "Bearer ", "é", "\x01", ","]) + value[pos:]
            elif choice == 3:
                value = "x" * rng.randint(500, 6000)
            else:
                value = value[:pos] + value[pos + 1:]
        header = rng.choice(["Authorization", "x-api-key"])
        trimmed = value.strip(" \t")
        exact = trimmed == KEYS["alice"] if header == "x-api-key" else \
            trimmed[:7].lower() in ("bearer ", "bearer\t") and trimmed[7:].strip(" \t") == KEYS["alice"]
        source = f"127.1.{index // 250}.{index % 250 + 1}"   # one attempt per address: this is about parsing
        try:
            with client(source) as c:
                resp = c.get(keyed.stack.base_url + "/v1/models", headers=[(header.encode(), value.encode("utf-8"))])
        except httpx.LocalProtocolError:
            continue  # httpx itself refuses to send it
        assert resp.status_code in ((200,) if exact else (400, 401, 431)), (header, value, resp.status_code, resp.text[:200])
        if len(value) >= 16:
            assert value not in resp.text
    assert keyed.stack.responder.poll() is None, "the responder died"
    assert keyed.stack.get("/health").status_code == 200


def test_no_log_line_holds_a_key_or_its_digest(keyed):
    assert chat(keyed.stack, bearer(KEYS["alice"])).status_code == 200
    secrets_ = list(KEYS.values()) + [digest(k) for k in KEYS.values()]
    assert_no_secret_in_logs(keyed.stack, secrets_)
    names = {line.get("key") for line in keyed.stack.log_lines() if line.get("msg") == "request"}
    assert {"alice", "bob", "solo", "limited"} <= names, names


# -- reload (each with a stack of its own) ---------------------------------------------------------


def test_sighup_revokes_and_adds_keys_while_a_stream_runs_and_the_stream_completes(make_stack):
    alice, alice_line = keys_new("alice")
    bob, bob_line = keys_new("bob")
    carol, carol_line = keys_new("carol")
    keyed = KeyedStack(lambda env: make_stack(extra_env=env, name="keys-reload"), [alice_line, bob_line], "keys-reload")
    try:
        stack = keyed.stack
        assert chat(stack, bearer(carol), source="127.0.0.20").status_code == 401
        # About 25 deltas 0.3 s apart: the stream runs for several seconds after the reload.
        prompt = f"MOCK:slow {unique('reload')} " + " ".join(["long enough to outlast the reload"] * 2)
        thread, first, outcome = stream_in_thread(stack, bearer(alice), prompt)
        assert first.wait(30) and "error" not in outcome, outcome
        keyed.write([bob_line, carol_line])           # alice revoked, carol added
        logged = keyed.reload()
        reloaded_at = time.monotonic()
        assert logged["msg"] == "API keys reloaded" and logged["keys"] == 2, logged
        assert chat(stack, bearer(alice), source="127.0.0.21").status_code == 401
        assert chat(stack, bearer(carol)).status_code == 200
        assert chat(stack, {"x-api-key": bob}).status_code == 200
        thread.join(30)
        assert outcome.get("status") == 200 and outcome["payloads"][-1] == "[DONE]", outcome
        assert outcome["last_at"] > reloaded_at, "the stream ended before the reload: nothing was tested"
        assert streamed_text(outcome) == f"Hello from the mock! You said: {prompt}"
        assert_no_secret_in_logs(stack, [alice, bob, carol, digest(alice), digest(bob), digest(carol)])
    finally:
        keyed.remove()


def test_a_key_file_that_does_not_parse_on_sighup_keeps_the_old_keys_and_logs_why(make_stack):
    alice, alice_line = keys_new("alice")
    bob, bob_line = keys_new("bob")
    keyed = KeyedStack(lambda env: make_stack(extra_env=env, name="keys-broken"), [alice_line], "keys-broken")
    try:
        keyed.write([alice_line, bob_line + " rpm=lots"])
        logged = keyed.reload()
        assert logged["msg"].startswith("API keys not reloaded") and logged["level"] == "error", logged
        assert "line 3" in logged["error"] and digest(bob) not in logged["error"], logged
        assert chat(keyed.stack, bearer(alice)).status_code == 200
        assert chat(keyed.stack, bearer(bob), source="127.0.0.30").status_code == 401
        keyed.file.unlink()
        logged = keyed.reload()
        assert logged["msg"].startswith("API keys not reloaded") and "cannot be read" in logged["error"], logged
        assert chat(keyed.stack, bearer(alice)).status_code == 200
    finally:
        keyed.remove()


def test_the_responder_does_not_start_with_a_key_file_that_does_not_parse(tmp_path):
    keys = tmp_path / "keys"
    keys.write_text("alice not-a-digest\n")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "CCA_API_KEYS_FILE": str(keys),
           "CCA_LISTEN": str(tmp_path / "fcgi.sock"), "CCA_CLAUDE_PATH": "/bin/true"}
    result = subprocess.run([str(responder_binary())], env=env, stdin=subprocess.DEVNULL, capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 78, result.stderr
    assert "key file" in result.stderr and "line 1" in result.stderr
    assert not (tmp_path / "fcgi.sock").exists()


def test_an_open_service_says_so_once_at_start(fake_stack):
    started = fake_stack.started_info()
    assert started.get("api_keys") == "off", started
    warnings = [line for line in fake_stack.log_lines() if "API keys are off" in line.get("msg", "")]
    assert len(warnings) == 1 and warnings[0]["level"] == "warning", warnings


def test_browsers_may_send_x_api_key_and_read_the_rate_limit_headers(keyed):
    preflight = httpx.request("OPTIONS", keyed.stack.base_url + "/v1/chat/completions", timeout=10,
                              headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST",
                                       "Access-Control-Request-Headers": "x-api-key, content-type"})
    assert preflight.status_code == 204
    assert "x-api-key" in preflight.headers["access-control-allow-headers"].lower()
    resp = chat(keyed.stack, {"x-api-key": KEYS["bob"], "Origin": "http://localhost:3000"})
    exposed = resp.headers["access-control-expose-headers"].lower()
    assert all(f"x-ratelimit-{name}-requests" in exposed for name in ("limit", "remaining", "reset")), exposed


def test_stored_responses_belong_to_their_key_and_messages_answer_401_in_anthropics_shape(_stack_factory):
    """The Responses API stores under the key's name: another key gets 404; the Messages API's 401 is Anthropic's."""
    alice, alice_line = keys_new("alice")
    bob, bob_line = keys_new("bob")
    state = Path(tempfile.mkdtemp(prefix="cca-state-"))
    keyed = KeyedStack(lambda env: _stack_factory.start(cli=real_cli_path(), name="keys-state",
                                                        extra_env={**env, "CCA_STATE_DIR": str(state)}),
                       [alice_line, bob_line], "keys-state")
    try:
        base = keyed.stack.base_url
        with httpx.Client(timeout=TIMEOUT) as c:
            created = c.post(base + "/v1/responses", headers={"Authorization": f"Bearer {alice}"},
                             json={"model": MODEL, "input": f"remember {unique()}"})
            assert created.status_code == 200, created.text
            rid = created.json()["id"]
            assert c.get(f"{base}/v1/responses/{rid}", headers={"Authorization": f"Bearer {alice}"}).status_code == 200
            other = c.get(f"{base}/v1/responses/{rid}", headers={"Authorization": f"Bearer {bob}"})
            assert other.status_code == 404, other.text
            chained = c.post(base + "/v1/responses", headers={"Authorization": f"Bearer {bob}"},
                             json={"model": MODEL, "input": "go on", "previous_response_id": rid})
            assert chained.status_code == 400, chained.text  # another key's response cannot be continued either
            assert chained.json()["error"]["code"] == "previous_response_not_found"
            refused = c.post(base + "/v1/messages", headers={"x-api-key": "sk-wrong"},
                             json={"model": MODEL, "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]})
            assert refused.status_code == 401
            assert refused.json()["type"] == "error" and refused.json()["error"]["type"] == "authentication_error"
            assert alice not in refused.text and digest(alice) not in refused.text
    finally:
        _stack_factory.close(keyed.stack)
        keyed.remove()
        shutil.rmtree(state, ignore_errors=True)
