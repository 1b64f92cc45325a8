"""The responder started as systemd starts it (issue 12), with Debian's systemd-socket-activate and a
NOTIFY_SOCKET this test listens on: the socket as fd 3 (LISTEN_FDS, what the unit uses) or as fd 0
(--inetd, StandardInput=socket, spawn-fcgi); the first connection, nginx's, starts it and is served;
then READY=1, STATUS= with the requests in flight, WATCHDOG=1 every half WATCHDOG_USEC, and
STOPPING=1 on SIGTERM."""

from __future__ import annotations

import re
import signal
import socket
import threading

import httpx
import pytest

from socket_activation import ActivatedStack, NotifySocket, fields
from stack import nginx_binary, responder_binary
from support import ChatStream, chat_body, post_chat, unique

MODEL = "claude-sonnet-4-5"


@pytest.fixture
def notify_socket():
    listener = NotifySocket()
    yield listener
    listener.close()


@pytest.fixture
def activated(mock_upstream):
    """A factory: ``activated(inetd=False, activation_env=None, listen_paths=None)`` starts an
    ActivatedStack with the fake CLI; every stack is stopped when the test ends."""
    stacks = []

    def start(name: str, **kwargs) -> ActivatedStack:
        stack = ActivatedStack(None, mock_upstream.url, fake=True, name=name, binary=responder_binary(),
                               nginx=nginx_binary(), **kwargs)
        stacks.append(stack)
        stack.start()
        return stack

    yield start
    for stack in stacks:
        stack.close()


def is_ready(message: str) -> bool:
    return fields(message).get("READY") == "1"


def is_stopping(message: str) -> bool:
    return fields(message).get("STOPPING") == "1"


def is_ping(message: str) -> bool:
    return fields(message).get("WATCHDOG") == "1"


def stream_in_background(stack, prompt: str) -> tuple[threading.Thread, dict]:
    """A streamed chat completion on a thread of its own; ``outcome`` gets status and payloads."""
    outcome: dict = {"payloads": []}

    def client():
        try:
            with ChatStream(stack, chat_body(prompt, MODEL, stream=True)) as stream:
                outcome["status"] = stream.status
                while (payload := stream.next_payload()) is not None:
                    outcome["payloads"].append(payload)
        except httpx.HTTPError as err:
            outcome["error"] = repr(err)

    thread = threading.Thread(target=client, daemon=True)
    thread.start()
    return thread, outcome


def test_socket_from_listen_fds_serves_nginx_and_tells_systemd_ready_status_watchdog_stopping(
        activated, notify_socket):
    stack = activated("activated-fd3", activation_env={"NOTIFY_SOCKET": notify_socket.address,
                                                       "WATCHDOG_USEC": "1000000"})
    # nginx's first connection (its /health probe at start) started the responder, and was answered
    # (it may still be in flight when READY=1 goes out).
    ready = fields(notify_socket.wait_for(is_ready, what="READY=1"))
    assert re.fullmatch(r"serving: [01] requests in flight, 0 of \d+ CLI slots busy, 0 waiting", ready["STATUS"]), ready
    assert stack.started_info()["listen"] == f"fd 3 ({stack.socket_path})", stack.started_info()
    prompt = f"through nginx {unique()}"
    resp = post_chat(stack, chat_body(prompt, MODEL))
    assert resp.status_code == 200, resp.text
    assert resp.json()["choices"][0]["message"]["content"] == f"Fake answer to: {prompt}"

    # A stream in flight shows in STATUS; the watchdog pings go on while the workers are busy.
    thread, outcome = stream_in_background(stack, f"FAKE:slow {unique()}")
    busy = notify_socket.wait_for(
        lambda m: re.fullmatch(r"serving: 1 requests in flight, 1 of \d+ CLI slots busy, 0 waiting",
                               fields(m).get("STATUS", "")) is not None,
        what="a STATUS with the stream in flight")
    pings = notify_socket.wait_for_count(is_ping, 4, timeout=10)
    gaps = [later - earlier for (earlier, _), (later, _) in zip(pings, pings[1:])]
    assert all(gap > 0.3 for gap in gaps), f"pings closer than half of WATCHDOG_USEC (0.5 s): {gaps}"
    assert sum(gaps) / len(gaps) < 0.8, f"pings further apart than half of WATCHDOG_USEC (0.5 s): {gaps}"

    # SIGTERM: STOPPING=1 with the stream still in flight; the stream drains; exit 0.
    stack.responder.send_signal(signal.SIGTERM)
    stopping = fields(notify_socket.wait_for(is_stopping, what="STOPPING=1"))
    assert re.fullmatch(r"stopping: 1 requests in flight, 1 of \d+ CLI slots busy, 0 waiting",
                        stopping["STATUS"]), stopping
    assert stack.responder.wait(timeout=30) == 0
    thread.join(timeout=30)
    assert outcome.get("status") == 200 and outcome["payloads"][-1:] == ["[DONE]"], outcome
    messages = notify_socket.messages
    assert messages.index(busy) > messages.index(next(m for m in messages if is_ready(m)))
    after_stop = messages[messages.index(next(m for m in messages if is_stopping(m))):]
    assert not any(is_ping(m) for m in after_stop), f"a ping after STOPPING=1: {after_stop}"
    # The socket is systemd's: it stays for the next instance.
    assert stack.socket_path.is_socket()


def test_socket_as_fd_0_with_inetd_serves_nginx_and_tells_systemd_ready_and_stopping(activated, notify_socket):
    stack = activated("activated-fd0", inetd=True, activation_env={"NOTIFY_SOCKET": notify_socket.address})
    notify_socket.wait_for(is_ready, what="READY=1")
    assert stack.started_info()["listen"] == f"fd 0 ({stack.socket_path})", stack.started_info()
    prompt = f"through nginx, fd 0 {unique()}"
    resp = post_chat(stack, chat_body(prompt, MODEL))
    assert resp.status_code == 200, resp.text
    assert resp.json()["choices"][0]["message"]["content"] == f"Fake answer to: {prompt}"
    stack.responder.send_signal(signal.SIGTERM)
    notify_socket.wait_for(is_stopping, what="STOPPING=1")
    assert stack.responder.wait(timeout=30) == 0
    # No WATCHDOG_USEC, no pings.
    assert not any(is_ping(m) for m in notify_socket.messages), notify_socket.messages


def test_two_sockets_from_systemd_are_refused_before_ready(activated, notify_socket, tmp_path_factory):
    folder = tmp_path_factory.mktemp("two")
    stack = ActivatedStack(None, "http://127.0.0.1:9", fake=True, name="activated-two",
                           activation_env={"NOTIFY_SOCKET": notify_socket.address},
                           listen_paths=[folder / "a.sock", folder / "b.sock"])
    try:
        stack._start_responders()  # no nginx: the connection below starts the responder
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.connect(str(folder / "a.sock"))
            assert stack.responder.wait(timeout=20) == 1
        log = stack.log_path.read_text()
        assert "LISTEN_FDS=2" in log and "ListenStream=" in log, log
        assert not any(is_ready(m) for m in notify_socket.messages), notify_socket.messages
    finally:
        stack.close()


def test_the_unit_is_notify_with_a_watchdog_and_the_socket_as_fd_3_and_reloads_with_sighup():
    from pathlib import Path
    settings: dict[str, list[str]] = {}
    unit = Path(__file__).resolve().parents[2] / "systemd" / "claude-code-api.service"
    for line in unit.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            settings.setdefault(key.strip(), []).append(value.strip())
    assert settings["Type"] == ["notify"] and settings["NotifyAccess"] == ["main"]
    assert "StandardInput" not in settings, "the socket goes as fd 3 with LISTEN_FDS, stdin stays /dev/null"
    watchdog = int(settings["WatchdogSec"][0])
    assert 10 <= watchdog <= 120, f"WatchdogSec={watchdog}"
    # Written exactly as on the api-keys branch, which makes SIGHUP reload the key file.
    assert settings["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
