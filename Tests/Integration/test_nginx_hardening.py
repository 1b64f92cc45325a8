"""nginx in front of a public endpoint (issue 8): CORS for listed origins only, operator pages for
allowed addresses only, per-address limits, and slow clients cut by timeouts.

Every stack listens on 127.0.0.1. Clients bind to other loopback addresses (127.0.0.2 to 127.0.0.4)
to stand for "another client" and for an address that is not allowed to the operator pages.
Requests whose exact bytes matter (``//status``, ``/status/.``) are sent over a raw socket, since
HTTP clients normalise paths.
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from stack import (TEST_NGINX_OPTIONS, free_port, install_fake_cli, nginx_binary, responder_binary,
                   stop_process)
from support import chat_body, post_chat, unique, wait_until

REPO = Path(__file__).resolve().parents[2]
RENDER = REPO / "scripts" / "render-nginx-conf"
MODEL = "claude-sonnet-4-5"
ALLOWED_ORIGIN = TEST_NGINX_OPTIONS["cors-origins"]  # the one origin every test stack allows
OTHER = "127.0.0.2"        # another client; not allowed to the operator pages by default
THIRD = "127.0.0.3"
FOURTH = "127.0.0.4"
BODY_TIMEOUT = 5.0         # client_body_timeout and client_header_timeout of the template
TIMEOUT_SLACK = 2.0        # how late nginx may be in cutting a slow client
PROMPT = 3.0               # "promptly": nginx and the fake CLI answer in well under a second


# -- clients -------------------------------------------------------------------------------------


def client(source: str = "127.0.0.1", timeout: float = 10.0) -> httpx.Client:
    """An httpx client whose connections come from ``source`` (a loopback address)."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=source),
                        timeout=httpx.Timeout(timeout, connect=5.0))


def cors_headers(headers) -> dict:
    return {k.lower(): v for k, v in headers.items() if k.lower().startswith("access-control-")}


def varies_on_origin(headers) -> bool:
    return "origin" in [v.strip().lower() for v in headers.get("vary", "").split(",")]


def is_nginx_error(resp, status: int, code: str) -> bool:
    """``resp`` is nginx's own JSON error (the named locations of the template)."""
    try:
        return resp.status_code == status and resp.json()["error"]["code"] == code
    except (ValueError, KeyError, TypeError):
        return False


# -- CORS (finding 5) --------------------------------------------------------------------------------


UNLISTED_ORIGINS = ["http://evil.example", "http://localhost:3000.evil.example", "http://localhost:30000",
                    "https://localhost:3000", "http://localhost", "null", "http://localhost:3000/"]


def test_unlisted_origins_get_no_cors_headers_on_preflights_or_answers(fake_stack):
    leaks = {}
    for origin in UNLISTED_ORIGINS:
        preflight = httpx.request("OPTIONS", fake_stack.base_url + "/v1/chat/completions", timeout=10,
                                  headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                                           "Access-Control-Request-Headers": "authorization,content-type"})
        answers = [preflight, fake_stack.get("/v1/models", headers={"Origin": origin}),
                   fake_stack.get("/nope", headers={"Origin": origin}),
                   post_chat(fake_stack, {"model": MODEL, "messages": []}, headers={"Origin": origin})]
        for resp in answers:
            if cors_headers(resp.headers) or not varies_on_origin(resp.headers):
                leaks.setdefault(origin, []).append(
                    (resp.request.method, resp.request.url.path, resp.status_code,
                     cors_headers(resp.headers), resp.headers.get("vary")))
    assert not leaks, f"CORS headers for unlisted origins, or no Vary: Origin: {leaks}"


def test_an_allowed_origin_gets_cors_headers_and_vary_on_answers_and_every_kind_of_error(make_stack):
    stack = make_stack(fake=True, name="cors-errors", nginx_max_body="1k",
                       nginx_options={"req-rate": "1r/m", "req-burst": "0"})
    h = {"Origin": ALLOWED_ORIGIN}
    answers = {}
    with client(OTHER) as other, client(THIRD) as third:
        # 127.0.0.1 spent its one request a minute on the stack's start-up probe; the others have theirs.
        answers["200 responder"] = other.get(stack.base_url + "/v1/models", headers=h)
        answers["404 responder"] = third.get(stack.base_url + "/nope", headers=h)
        answers["429 nginx limit_req"] = third.get(stack.base_url + "/v1/models", headers=h)
        answers["403 nginx (operator page)"] = other.get(stack.base_url + "/status", headers=h)
    answers["413 nginx body limit"] = httpx.post(stack.base_url + "/v1/chat/completions", timeout=10,
                                                 headers={**h, "Content-Type": "application/json"},
                                                 content=b"x" * 4096)
    os.kill(stack.responder_pid, signal.SIGKILL)
    stack.responder.wait(timeout=10)
    with client(FOURTH) as fourth:
        answers["503 nginx responder unreachable"] = fourth.get(stack.base_url + "/v1/models", headers=h)
    expected = {"200 responder": 200, "404 responder": 404, "429 nginx limit_req": 429,
                "403 nginx (operator page)": 403, "413 nginx body limit": 413,
                "503 nginx responder unreachable": 503}
    wrong = {name: (resp.status_code, cors_headers(resp.headers), resp.headers.get("vary"))
             for name, resp in answers.items()
             if resp.status_code != expected[name]
             or resp.headers.get("access-control-allow-origin") != ALLOWED_ORIGIN
             or "Retry-After" not in resp.headers.get("access-control-expose-headers", "")
             or not varies_on_origin(resp.headers)}
    assert not wrong, f"answers to an allowed origin without its CORS headers or Vary: Origin: {wrong}"


@pytest.mark.parametrize("configured,origin,expected", [
    (None, ALLOWED_ORIGIN, None),                  # the default: no origin at all
    ("*", "http://evil.example", "*"),
    ("https://App.Example.com, http://localhost:5173", "https://app.example.com", "https://app.example.com"),
    ("https://App.Example.com, http://localhost:5173", "http://localhost:5173", "http://localhost:5173"),
    ("https://App.Example.com, http://localhost:5173", ALLOWED_ORIGIN, None),
], ids=["default-none", "star", "list-first", "list-second", "list-other"])
def test_cors_origins_are_a_render_parameter_with_none_by_default(make_stack, configured, origin, expected):
    stack = make_stack(fake=True, name="cors-list", nginx_options={"cors-origins": configured})
    preflight = httpx.request("OPTIONS", stack.base_url + "/v1/chat/completions", timeout=10,
                              headers={"Origin": origin, "Access-Control-Request-Method": "POST"})
    answer = stack.get("/v1/models", headers={"Origin": origin})
    for resp in (preflight, answer):
        assert resp.headers.get("access-control-allow-origin") == expected, (resp.status_code, resp.headers)
        if expected is None:
            assert not cors_headers(resp.headers), resp.headers
    assert preflight.status_code == 204
    assert ("POST" in preflight.headers.get("access-control-allow-methods", "")) == (expected is not None)
    no_origin = stack.get("/v1/models")
    assert not cors_headers(no_origin.headers), no_origin.headers


@pytest.mark.parametrize("value", [
    "https://a.example;add_header X-Evil 1", "https://a.example/path", 'https://a.example"',
    "*,https://a.example", "javascript:alert(1)", "https://a.example\n}", "https://",
])
def test_render_refuses_what_is_not_an_origin(tmp_path, value):
    result = subprocess.run([str(RENDER), "--cors-origins", value, str(tmp_path / "p"), "127.0.0.1:1",
                             str(tmp_path / "s.sock")], capture_output=True, text=True, timeout=30,
                            cwd=tmp_path)
    assert result.returncode == 2 and "--cors-origins" in result.stderr, (result.returncode, result.stderr)
    assert result.stdout == ""


# -- make run ---------------------------------------------------------------------------------------


def test_make_run_takes_cors_origins_from_the_environment(tmp_path):
    """scripts/run-local (what `make run` starts) renders CCA_CORS_ORIGINS into nginx's config. It runs
    from a copy of the scripts, so that no .env of the checkout is read."""
    templates = [str(p.relative_to(REPO)) for p in sorted((REPO / "nginx").glob("*.template"))]
    for name in ("scripts/run-local", "scripts/render-nginx-conf", *templates):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        shutil.copy2(REPO / name, tmp_path / name)
    run_tmp = Path(tempfile.mkdtemp(prefix="cca-run-"))   # short: the socket goes in here
    run_tmp.chmod(0o755)                                  # nginx's workers (nobody under root) reach it
    port = free_port()
    env = {**os.environ, "PORT": str(port), "TMPDIR": str(run_tmp), "CCA_BIN": str(responder_binary()),
           "CLAUDE_BIN": install_fake_cli(tmp_path / "fakecli"), "CCA_LOG_LEVEL": "warning",
           "CCA_CORS_ORIGINS": "https://app.example.com, http://localhost:5173"}
    log = open(tmp_path / "run-local.log", "wb")
    proc = subprocess.Popen([str(tmp_path / "scripts" / "run-local")], cwd=tmp_path, env=env,
                            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        def serving() -> bool:
            try:
                return proc.poll() is not None or httpx.get(base + "/v1/models", timeout=5).status_code == 200
            except httpx.HTTPError:
                return False   # nginx not listening yet

        assert wait_until(serving, timeout=20) and proc.poll() is None, \
            (tmp_path / "run-local.log").read_text(errors="replace")[-3000:]
        for origin, expected in [("https://app.example.com", "https://app.example.com"),
                                 ("http://localhost:5173", "http://localhost:5173"),
                                 ("http://localhost:3000", None), ("http://evil.example", None)]:
            preflight = httpx.request("OPTIONS", base + "/v1/chat/completions", timeout=10,
                                      headers={"Origin": origin, "Access-Control-Request-Method": "POST"})
            answer = httpx.get(base + "/v1/models", timeout=10, headers={"Origin": origin})
            for resp in (preflight, answer):
                assert resp.headers.get("access-control-allow-origin") == expected, (origin, resp.headers)
    finally:
        stop_process(proc, signal.SIGTERM, timeout=15)
        log.close()
        shutil.rmtree(run_tmp, ignore_errors=True)
    assert proc.returncode is not None


# -- operator pages (finding 6) --------------------------------------------------------------------


def connect(stack, source: str = "127.0.0.1", timeout: float = 10.0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", stack.port))
    return sock


def dechunk(data: bytes) -> bytes:
    out = b""
    while data:
        size, _, data = data.partition(b"\r\n")
        n = int(size.split(b";")[0], 16)
        if n == 0:
            break
        out, data = out + data[:n], data[n + 2:]
    return out


class RawResponse:
    def __init__(self, data: bytes):
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1]) if lines[0].startswith("HTTP/") else None
        self.headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            key = name.strip().lower()
            self.headers[key] = (self.headers[key] + ", " if key in self.headers else "") + value.strip()
        if "chunked" in self.headers.get("transfer-encoding", ""):
            body = dechunk(body)
        self.body = body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"<{self.status} {self.headers} {self.body[:200]!r}>"


def raw_request(stack, target: str, method: str = "GET", source: str = "127.0.0.1",
                headers: dict | None = None) -> RawResponse:
    """One request with ``target`` sent byte for byte; the response read to the connection's end."""
    lines = [f"{method} {target} HTTP/1.1", "Host: localhost", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    with connect(stack, source) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return RawResponse(data)


OPERATOR_VARIANTS = [
    ("GET", "/status"), ("GET", "/status/"), ("GET", "/status?x=1"), ("GET", "/status/?x=1"),
    ("GET", "//status"), ("GET", "//status/"), ("GET", "/status//"), ("GET", "/status/."),
    ("GET", "/./status"), ("GET", "/v1/../status"), ("GET", "/%73tatus"), ("GET", "/status%2F"),
    ("GET", "/%2Fstatus"), ("GET", "/STATUS"), ("GET", "/Status/"), ("GET", "/status/anything"),
    ("GET", "/status.json"), ("GET", "/status;x"), ("GET", "/v1/status"), ("GET", "/v1/status/"),
    ("GET", "/metrics"), ("GET", "/metrics/"), ("GET", "//metrics?x"), ("HEAD", "/status/"),
    ("POST", "/status/"), ("OPTIONS", "/status/"),
]


def test_operator_pages_are_refused_to_other_addresses_in_every_spelling(fake_stack):
    served = raw_request(fake_stack, "/status")
    assert served.status == 200 and "requests" in served.json(), served   # 127.0.0.1 is allowed
    assert raw_request(fake_stack, "/status/").status == 200
    before = fake_stack.get("/status").json()["requests"]["accepted"]
    through = []
    for method, target in OPERATOR_VARIANTS:
        resp = raw_request(fake_stack, target, method=method, source=OTHER)
        refused = resp.status == 403 and (method == "HEAD" or resp.json()["error"]["code"] == "forbidden")
        if not refused:
            through.append((method, target, resp.status, resp.body[:120]))
    after = fake_stack.get("/status").json()["requests"]["accepted"]
    assert not through, f"operator pages reached from {OTHER}: {through}"
    assert after - before == 1, f"the responder saw {after - before - 1} of the refused requests"


def test_operator_allow_list_is_a_render_parameter(make_stack):
    stack = make_stack(fake=True, name="operator-allow", nginx_options={"operator-allow": OTHER})
    for target in ("/status", "/status/", "//status?x"):
        allowed = raw_request(stack, target, source=OTHER)
        assert allowed.status == 200 and "requests" in allowed.json(), (target, allowed)
        refused = raw_request(stack, target, source="127.0.0.1")
        assert refused.status == 403 and refused.json()["error"]["code"] == "forbidden", (target, refused)


@pytest.mark.parametrize("value", ["all", "127.0.0.1; allow all", "127.0.0.1\nallow all", "localhost"])
def test_render_refuses_what_is_not_an_address(tmp_path, value):
    result = subprocess.run([str(RENDER), "--operator-allow", value, str(tmp_path / "p"), "127.0.0.1:1",
                             str(tmp_path / "s.sock")], capture_output=True, text=True, timeout=30,
                            cwd=tmp_path)
    assert result.returncode == 2 and ("is not an address" in result.stderr or "one line" in result.stderr), \
        (result.returncode, result.stderr)
    assert result.stdout == ""


# -- limits and slow clients (finding 7) ----------------------------------------------------------------


class Trickler:
    """A chat completion whose body arrives a byte at a time."""

    HEADER = ("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
              "Content-Length: {length}\r\n\r\n")

    def __init__(self, stack, source: str = "127.0.0.1", body_length: int = 1000):
        self.sock = connect(stack, source)
        self.head = self.HEADER.format(length=body_length).encode()
        self.last_sent = time.monotonic()

    def send(self, data: bytes):
        self.sock.sendall(data)
        self.last_sent = time.monotonic()

    def start_body(self):
        """The whole header and the body's first byte."""
        self.send(self.head + b"{")

    def answer(self, timeout: float) -> bytes | None:
        """What nginx sent, once it sent something or closed (b"" for a close, b"RST" for a reset);
        None while the connection stays open and silent for ``timeout``."""
        ready, _, _ = select.select([self.sock], [], [], timeout)
        if not ready:
            return None
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            return b"RST"
        return data

    def wait_closed(self, deadline: float) -> float | None:
        """Seconds from the last byte sent to nginx closing the connection (None: still open at
        ``deadline``); data nginx sends on the way is skipped."""
        while (left := deadline - time.monotonic()) > 0:
            data = self.answer(left)
            if data is None:
                break
            if data in (b"", b"RST"):
                return time.monotonic() - self.last_sent
        return None

    def close(self):
        self.sock.close()


def trickle(tricklers, data: bytes, interval: float, count: int):
    """Sends ``data`` to each trickler ``count`` times, ``interval`` apart; fails when nginx
    answers or closes one of them on the way (the interval is spent waiting for exactly that)."""
    for _ in range(count):
        for t in tricklers:
            t.send(data)
        for t in tricklers:
            got = t.answer(interval / len(tricklers))
            assert got is None, f"nginx answered a trickling client: {got[:300]!r}"


def render_default(tmp_path) -> str:
    out = subprocess.run([str(RENDER), str(tmp_path / "p"), "127.0.0.1:1", str(tmp_path / "s.sock")],
                         capture_output=True, text=True, timeout=30, check=True)
    return out.stdout


def directive(conf: str, name: str) -> list[str]:
    return re.findall(rf"^\s*{name}\s+([^;]*);", conf, re.M)


def test_default_config_limits_per_address_and_times_out_slow_clients(tmp_path):
    conf = render_default(tmp_path)
    assert directive(conf, "worker_processes") == ["auto"]
    limits = dict(v.split() for v in directive(conf, "limit_conn"))
    assert limits["api_total"] == "32"                      # CONN_LIMIT's default: the responder's CCA_WORKERS
    assert 1 <= int(limits["api_per_addr"]) < int(limits["api_total"]), limits
    assert any("$binary_remote_addr zone=api_per_addr" in z for z in directive(conf, "limit_conn_zone"))
    assert any(z.startswith("$binary_remote_addr zone=api_rate") and "rate=10r/s" in z
               for z in directive(conf, "limit_req_zone")), directive(conf, "limit_req_zone")
    limit_req = directive(conf, "limit_req")
    assert len(limit_req) == 1 and "zone=api_rate" in limit_req[0] and "nodelay" in limit_req[0], limit_req
    assert 10 <= int(re.search(r"burst=(\d+)", limit_req[0]).group(1)) <= 100
    assert directive(conf, "limit_conn_status") == ["429"] and directive(conf, "limit_req_status") == ["429"]
    for name in ("client_header_timeout", "client_body_timeout"):
        assert directive(conf, name) == [f"{BODY_TIMEOUT:.0f}s"], (name, directive(conf, name))
    assert directive(conf, "send_timeout") == ["60s"]
    conf_path = tmp_path / "nginx.conf"
    conf_path.write_text(conf)
    check = subprocess.run([nginx_binary(), "-t", "-q", "-p", str(tmp_path / "p"), "-c", str(conf_path),
                            "-e", str(tmp_path / "p" / "error.log")], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stderr


def test_slow_uploads_from_one_address_do_not_lock_out_another(make_stack):
    # As many slow uploads as the whole stack's limit, from one address, with 2 allowed per address.
    workers, per_addr = 4, 2
    stack = make_stack(fake=True, name="slow-uploads", workers=workers,
                       nginx_options={"conn-per-addr": str(per_addr)})
    tricklers = [Trickler(stack) for _ in range(workers)]
    try:
        for t in tricklers:
            t.start_body()
        refused, deadline = [], time.monotonic() + 5
        while len(refused) < workers - per_addr and time.monotonic() < deadline:
            ready, _, _ = select.select([t.sock for t in tricklers if t not in refused], [], [],
                                        max(0.0, deadline - time.monotonic()))
            for t in tricklers:
                if t.sock in ready:
                    refused.append(t)
                    answer = t.sock.recv(65536)
                    assert answer.startswith(b"HTTP/1.1 429") and b'"rate_limit_exceeded"' in answer, answer
        assert len(refused) == workers - per_addr, \
            f"{len(refused)} of {workers} uploads from one address refused, not {workers - per_addr}"
        held = [t for t in tricklers if t not in refused]
        trickle(held, b" ", interval=0.5, count=2)
        # Another address is served at once (a plain GET and a whole chat completion) while they trickle;
        # the trickling address itself is over its share.
        started = time.monotonic()
        with client(OTHER) as other:
            models = other.get(stack.base_url + "/v1/models")
            prompt = unique("other")
            chat = other.post(stack.base_url + "/v1/chat/completions", json=chat_body(prompt, MODEL))
        took = time.monotonic() - started
        assert models.status_code == 200 and chat.status_code == 200, (models.text, chat.text)
        assert prompt in chat.json()["choices"][0]["message"]["content"]
        assert took < PROMPT, f"{OTHER} waited {took:.1f}s"
        with client() as same:
            over = same.get(stack.base_url + "/v1/models")
        assert is_nginx_error(over, 429, "rate_limit_exceeded"), over.text
        assert over.headers.get("retry-after") == "1"
        trickle(held, b" ", interval=0.5, count=1)
        # Then they stop sending and client_body_timeout cuts them.
        for t in held:
            after = t.wait_closed(time.monotonic() + BODY_TIMEOUT + TIMEOUT_SLACK)
            assert after is not None and after >= BODY_TIMEOUT - 0.5, f"stalled upload closed after {after}"
    finally:
        for t in tricklers:
            t.close()


def test_a_body_sent_a_byte_at_a_time_is_cut_once_it_stalls(fake_stack):
    trickler = Trickler(fake_stack, body_length=10_000)
    try:
        trickler.start_body()
        # One byte every 0.5 s for longer than client_body_timeout: each byte restarts it, and
        # another client is answered promptly meanwhile.
        trickle([trickler], b" ", interval=0.5, count=4)
        started = time.monotonic()
        assert fake_stack.get("/v1/models").status_code == 200
        assert time.monotonic() - started < PROMPT
        trickle([trickler], b" ", interval=0.5, count=8)
        after = trickler.wait_closed(time.monotonic() + BODY_TIMEOUT + TIMEOUT_SLACK)
        assert after is not None, f"a stalled body still open {BODY_TIMEOUT + TIMEOUT_SLACK:.0f}s after its last byte"
        assert after >= BODY_TIMEOUT - 0.5, f"closed {after:.1f}s after the last byte, before client_body_timeout"
    finally:
        trickler.close()


def test_a_header_sent_a_byte_at_a_time_is_cut_by_client_header_timeout(fake_stack):
    # Slowloris: the header keeps arriving, a byte every 0.25 s, and is never finished.
    sock = connect(fake_stack)
    connected = time.monotonic()
    header = b"GET /v1/models HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + b"a" * 1000
    try:
        closed = None
        for byte in header:
            try:
                sock.sendall(bytes([byte]))
                ready, _, _ = select.select([sock], [], [], 0.25)
                if ready and not sock.recv(65536):
                    closed = time.monotonic() - connected
            except (ConnectionResetError, BrokenPipeError):
                closed = time.monotonic() - connected
            if closed is not None or time.monotonic() - connected > BODY_TIMEOUT + TIMEOUT_SLACK:
                break
        assert closed is not None, f"a trickled header still open after {time.monotonic() - connected:.1f}s"
        assert BODY_TIMEOUT - 0.5 <= closed <= BODY_TIMEOUT + TIMEOUT_SLACK, closed
    finally:
        sock.close()


def test_request_rate_is_limited_per_address_with_a_burst(make_stack):
    burst = 3
    stack = make_stack(fake=True, name="rate", nginx_options={"req-rate": "1r/m", "req-burst": str(burst)})
    with client(OTHER) as greedy, client(THIRD) as other:
        # The rate, then the burst, served at once (nodelay); then 429s for this address only.
        answers = [greedy.get(stack.base_url + "/v1/models") for _ in range(1 + burst + 2)]
        codes = [r.status_code for r in answers]
        assert codes == [200] * (1 + burst) + [429, 429], codes
        assert all(r.elapsed.total_seconds() < PROMPT for r in answers)
        assert is_nginx_error(answers[-1], 429, "rate_limit_exceeded"), answers[-1].text
        assert answers[-1].headers.get("retry-after") == "1"
        assert other.get(stack.base_url + "/v1/models").status_code == 200
        prompt = unique("rate")
        chat = other.post(stack.base_url + "/v1/chat/completions", json=chat_body(prompt, MODEL))
        assert chat.status_code == 200 and prompt in chat.json()["choices"][0]["message"]["content"], chat.text


