"""More than one host: responders listening on TCP (CCA_LISTEN=IPV4:PORT) behind one nginx upstream.

Two responders on 127.0.0.2:9000 and 127.0.0.3:9000 stand for two hosts, each allowing only nginx's
address (CCA_FASTCGI_ALLOWED=127.0.0.1: nginx's connections to 127.0.0.x come from the loopback
route's source address). They get the cases test_scale_out.py runs on two unix sockets (its helpers
are reused): one killed, one stopped. A FastCGI connection from a third address is closed unanswered,
and a responder refuses to start on every interface without an allow list.

The addresses are fixed (the issue names them); when either is taken the tests fail and say so.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time

import pytest

import fastcgi_raw as fr
from stack import free_port, install_fake_cli, responder_binary, stop_process
from support import chat_body, seconds_until_group_gone, stream_then_disconnect, unique, wait_until
from test_scale_out import (END_WITHIN, cli_starts_for, fake_answer, follow_ups_all_succeed, start_streams,
                            stream_client, wait_for_instance)

RESPONDERS = ["127.0.0.2:9000", "127.0.0.3:9000"]
NGINX_ADDRESS = "127.0.0.1"
THIRD = "127.0.0.4"
MODEL = "claude-sonnet-4-5"
EXIT_CONFIG = 78


def address(text: str) -> tuple[str, int]:
    host, port = text.rsplit(":", 1)
    return host, int(port)


def require_free(addresses: list[str]):
    """Fails (never skips) when another process listens on one of the fixed addresses."""
    for text in addresses:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address(text))
            except OSError as err:
                pytest.fail(f"{text} is not free ({err.strerror}): these tests need exactly 127.0.0.2:9000 and "
                            "127.0.0.3:9000; stop what listens there", pytrace=False)


@pytest.fixture
def two_hosts(make_stack):
    require_free(RESPONDERS)
    return make_stack(fake=True, name="two-hosts", listen=RESPONDERS,
                      extra_env={"CCA_FASTCGI_ALLOWED": NGINX_ADDRESS})


def refuses_connections(text: str) -> bool:
    try:
        socket.create_connection(address(text), timeout=2).close()
        return False
    except ConnectionRefusedError:
        return True
    except ConnectionResetError:
        # The listener closed while this probe sat in its backlog (the kernel resets those): not an answer yet;
        # the next probe meets the closed port.
        return False


def test_sigkill_one_host_ends_its_streams_and_the_other_takes_over(two_hosts):
    stack = two_hosts
    assert [stack.started_info(i).get("listen") for i in range(2)] == RESPONDERS
    assert [stack.started_info(i).get("fastcgi_allowed") for i in range(2)] == [NGINX_ADDRESS] * 2
    clients, by_instance = start_streams(stack)   # asserts that nginx gave both hosts streams
    victim = stack.instances[0]
    killed_at = time.monotonic()
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=5)
    for client in clients:
        client.join(timeout=20)
        assert not client.is_alive(), f"a stream hung after the kill: {client.describe()}"
    for client in by_instance[0]:
        assert client.ended_at - killed_at < END_WITHIN, client.describe()
        # A cut stream: the start of this prompt's own answer, no [DONE], no error event.
        assert client.status == 200 and client.error is None and not client.errors, client.describe()
        assert fake_answer(client.prompt).startswith(client.text), client.describe()
        assert not client.done, client.describe()
    for client in by_instance[1]:
        assert client.done and client.text == fake_answer(client.prompt), client.describe()
    assert refuses_connections(RESPONDERS[0])
    follow_ups_all_succeed(stack)


def test_a_post_that_reached_a_killed_host_is_not_retried_on_the_other(make_stack):
    require_free(RESPONDERS)
    stack = make_stack(fake=True, name="two-hosts-noretry", listen=RESPONDERS,
                       extra_env={"CCA_FASTCGI_ALLOWED": NGINX_ADDRESS, "CCA_PING_INTERVAL_SECONDS": "60"})
    token = unique("h")
    client = stream_client(stack, f"FAKE:hang {token}", timeout=20)
    client.start()
    index = wait_for_instance(stack, token, 10)
    assert index is not None, "the CLI was never started"
    survivor = address(RESPONDERS[1 - index])

    def survivor_accepted() -> int:
        """Requests the other host has accepted, this direct FastCGI GET /status included."""
        return json.loads(fr.request(survivor, "/status").body)["requests"]["accepted"]

    accepted_before = survivor_accepted()
    killed_at = time.monotonic()
    os.kill(stack.instances[index].pid, signal.SIGKILL)
    client.join(timeout=15)
    assert not client.is_alive(), "the request hung after its responder was killed"
    assert client.ended_at - killed_at < END_WITHIN, client.describe()
    assert client.status == 503 and json.loads(client.body)["error"]["code"] == "responder_unavailable", \
        client.describe()
    assert wait_until(lambda: [line for line in stack.access_log_lines()
                               if '"POST /v1/chat/completions HTTP/1.1" 503 ' in line], 10), stack.access_log_lines()
    assert survivor_accepted() == accepted_before + 1, "the POST was passed to the other host"
    assert len(cli_starts_for(stack, token)) == 1


def test_sigterm_one_host_refuses_new_connections_drains_its_streams_then_the_other_takes_over(two_hosts):
    stack = two_hosts
    clients, by_instance = start_streams(stack)
    victim = stack.instances[0]
    os.kill(victim.pid, signal.SIGTERM)
    # While its streams still run, the stopping host refuses new connections: nginx goes to the other at once.
    assert wait_until(lambda: refuses_connections(RESPONDERS[0]), 2), \
        f"{RESPONDERS[0]} still accepts connections after SIGTERM"
    assert any(c.is_alive() for c in by_instance[0]), "the drain was over before the check"
    follow_ups_all_succeed(stack, count=10, per_request=2.0)
    for client in clients:
        client.join(timeout=20)
        assert not client.is_alive(), f"a stream hung: {client.describe()}"
        # Graceful drain: the stopped host's streams end complete, like the others.
        assert client.done and client.text == fake_answer(client.prompt), client.describe()
    assert victim.wait(timeout=10) == 0
    follow_ups_all_succeed(stack)


def test_a_client_that_leaves_ends_its_cli_at_once_over_tcp(two_hosts):
    stack = two_hosts
    seen = {}

    def find_cli(_):
        for index in range(2):
            children = stack.children(include_zombies=False, index=index)
            if children:
                seen["cli"] = children[0]

    stream = stream_then_disconnect(stack, chat_body(f"FAKE:slow {unique()}", MODEL, stream=True), while_open=find_cli)
    assert "cli" in seen, "no CLI was running mid-stream"
    took = seconds_until_group_gone(seen["cli"].pgid, since=stream.closed_at)
    assert took is not None and took < 1.0, f"the CLI group outlived the hang-up by {took} s: {seen['cli']}"


def test_a_connection_from_another_address_is_closed_unanswered(two_hosts):
    target = address(RESPONDERS[0])

    def accepted() -> int:
        return json.loads(fr.request(target, "/status").body)["requests"]["accepted"]

    before = accepted()
    with fr.connect(target, source=THIRD) as conn:
        conn.send(fr.request_bytes("/v1/models"))
        reply = conn.read_reply(timeout=5)
    assert reply.closed and not reply.timed_out and not reply.records, \
        f"{THIRD} got an answer, or the connection stayed open: {reply.records} timed_out={reply.timed_out}"
    with fr.connect(target, source=NGINX_ADDRESS) as conn:
        conn.send(fr.request_bytes("/v1/models"))
        allowed = conn.read_reply(timeout=5)
    assert allowed.http_status == 200, allowed.records
    # The responder never saw the refused request: only the two /status reads and the allowed one count.
    assert accepted() == before + 2


@pytest.mark.parametrize("listen", [":{port}", "*:{port}", "0.0.0.0:{port}", "[::1]:{port}", "localhost:{port}"])
def test_the_responder_refuses_to_start_on_every_interface_without_an_allow_list(tmp_path, listen):
    value = listen.format(port=free_port())
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "CCA_LISTEN": value,
           "CCA_CLAUDE_PATH": install_fake_cli(tmp_path / "fakecli"), "CCA_SCRATCH_DIR": str(tmp_path)}
    result = subprocess.run([str(responder_binary())], env=env, stdin=subprocess.DEVNULL, capture_output=True,
                            text=True, timeout=20)
    assert result.returncode == EXIT_CONFIG, (result.returncode, result.stderr)
    assert "CCA_LISTEN" in result.stderr and '"msg":"started"' not in result.stderr, result.stderr
    if "localhost" not in value and "::" not in value:
        assert "needs the addresses of the web servers" in result.stderr, result.stderr


def spawn_fcgi(folder, bind: str, port: int, extra_env: dict) -> tuple[subprocess.Popen, object]:
    """The responder started by spawn-fcgi -n: the TCP socket spawn-fcgi binds is its fd 0, as with systemd."""
    folder.mkdir()
    spawner = shutil.which("spawn-fcgi")
    if not spawner:
        pytest.fail("spawn-fcgi not found: scripts/setup installs it", pytrace=False)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(folder),
           "CCA_CLAUDE_PATH": install_fake_cli(folder / "fakecli"), "CCA_SCRATCH_DIR": str(folder),
           "CCA_WORKERS": "2", "CCA_POOL_SIZE": "0", **extra_env}
    log = open(folder / "responder.log", "wb")
    proc = subprocess.Popen([spawner, "-n", "-a", bind, "-p", str(port), "--", str(responder_binary())], env=env,
                            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    return proc, log


def test_a_socket_handed_over_as_fd_0_gets_the_same_checks(tmp_path):
    port, served = free_port(), tmp_path / "ipv4"
    proc, log = spawn_fcgi(served, "127.0.0.1", port, {"CCA_FASTCGI_ALLOWED": NGINX_ADDRESS})
    try:
        started = wait_until(lambda: proc.poll() is not None or '"msg":"started"' in (served / "responder.log").read_text(), 20)
        text = (served / "responder.log").read_text()
        assert started and proc.poll() is None, text
        assert f'"listen":"fd 0 (127.0.0.1:{port})"' in text and '"fastcgi_allowed":"127.0.0.1"' in text, text
        target = ("127.0.0.1", port)
        with fr.connect(target, source=THIRD) as conn:
            conn.send(fr.request_bytes("/v1/models"))
            refused = conn.read_reply(timeout=5)
        assert refused.closed and not refused.timed_out and not refused.records, refused.records
        assert fr.request(target, "/v1/models").http_status == 200
    finally:
        stop_process(proc, signal.SIGTERM, timeout=10)
        log.close()
    # An IPv6 socket is refused: libfcgi would not check its peers.
    proc, log = spawn_fcgi(tmp_path / "ipv6", "::1", free_port(), {"CCA_FASTCGI_ALLOWED": NGINX_ADDRESS})
    try:
        assert proc.wait(timeout=20) != 0
    finally:
        stop_process(proc, signal.SIGKILL, timeout=5)
        log.close()
    assert "IPv6 sockets" in (tmp_path / "ipv6" / "responder.log").read_text()
