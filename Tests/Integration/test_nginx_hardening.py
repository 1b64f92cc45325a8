"""nginx in front of a public endpoint (issue 8): CORS for listed origins only, operator pages for
allowed addresses only.

Every stack listens on 127.0.0.1. Clients bind to another loopback address (127.0.0.2)
to stand for "another client" and for an address that is not allowed to the operator pages.
Requests whose exact bytes matter (``//status``, ``/status/.``) are sent over a raw socket, since
HTTP clients normalise paths.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path

import httpx
import pytest

from stack import TEST_NGINX_OPTIONS, free_port, install_fake_cli, responder_binary, stop_process
from support import post_chat, wait_until

REPO = Path(__file__).resolve().parents[2]
RENDER = REPO / "scripts" / "render-nginx-conf"
MODEL = "claude-sonnet-4-5"
ALLOWED_ORIGIN = TEST_NGINX_OPTIONS["cors-origins"]  # the one origin every test stack allows
OTHER = "127.0.0.2"        # another client; not allowed to the operator pages by default


# -- clients -------------------------------------------------------------------------------------


def client(source: str = "127.0.0.1", timeout: float = 10.0) -> httpx.Client:
    """An httpx client whose connections come from ``source`` (a loopback address)."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=source),
                        timeout=httpx.Timeout(timeout, connect=5.0))


def cors_headers(headers) -> dict:
    return {k.lower(): v for k, v in headers.items() if k.lower().startswith("access-control-")}


def varies_on_origin(headers) -> bool:
    return "origin" in [v.strip().lower() for v in headers.get("vary", "").split(",")]


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
    stack = make_stack(fake=True, name="cors-errors", nginx_max_body="1k")
    h = {"Origin": ALLOWED_ORIGIN}
    answers = {}
    with client(OTHER) as other:
        answers["200 responder"] = other.get(stack.base_url + "/v1/models", headers=h)
        answers["404 responder"] = other.get(stack.base_url + "/nope", headers=h)
        answers["403 nginx (operator page)"] = other.get(stack.base_url + "/status", headers=h)
    answers["413 nginx body limit"] = httpx.post(stack.base_url + "/v1/chat/completions", timeout=10,
                                                 headers={**h, "Content-Type": "application/json"},
                                                 content=b"x" * 4096)
    os.kill(stack.responder_pid, signal.SIGKILL)
    stack.responder.wait(timeout=10)
    with client(OTHER) as other:
        answers["503 nginx responder unreachable"] = other.get(stack.base_url + "/v1/models", headers=h)
    expected = {"200 responder": 200, "404 responder": 404,
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
    for name in ("scripts/run-local", "scripts/render-nginx-conf", "nginx/nginx.conf.template"):
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
