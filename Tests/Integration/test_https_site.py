"""The public HTTPS site (nginx/claude-code-api.site.conf.template), as an operator installs it.

Each site is rendered with ``render-nginx-conf --site`` into an /etc/nginx-like folder
(sites-available/claude-code-api and snippets/claude-code-api.conf), enabled with a symlink in
sites-enabled, and run by real nginx from Debian's own /etc/nginx/nginx.conf with only its pid, logs,
temp folders and includes moved into the test's folder (its http-level ``ssl_protocols TLSv1
TLSv1.1 ...`` stays: the site must hold its own against it). openssl makes a CA and a certificate
for localhost and 127.0.0.1 in the test's folder; curl (--cacert) and the official openai client
(httpx verifying against that CA) talk to it. Every site listens on free ports of 127.0.0.1; clients
bound to 127.0.0.2 and up stand for other addresses. The responder is the session's fake-CLI stack.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import httpx
import pytest

from stack import TEST_NGINX_OPTIONS, free_port, install_fake_cli, nginx_binary, responder_binary, stop_process
from support import unique, wait_until

REPO = Path(__file__).resolve().parents[2]
RENDER = REPO / "scripts" / "render-nginx-conf"
DEBIAN_NGINX_CONF = Path("/etc/nginx/nginx.conf")
MODEL = "claude-sonnet-4-5"
ALLOWED_ORIGIN = TEST_NGINX_OPTIONS["cors-origins"]
OTHER = "127.0.0.2"
START_TIMEOUT = 20.0
NGINX_ATTEMPTS = 5
SLOW_DELTAS = 10          # FAKE:slow: 10 deltas, 0.5 s apart
SLOW_INTERVAL = 0.5
HSTS = "max-age=63072000; includeSubDomains"
SECURITY_HEADERS = {"strict-transport-security": HSTS, "x-content-type-options": "nosniff",
                    "referrer-policy": "no-referrer", "x-frame-options": "DENY",
                    "content-security-policy": "default-src 'none'; frame-ancestors 'none'"}


def program(name: str) -> str:
    """A program the tests need; scripts/setup installs it (PACKAGES). Missing is a failure."""
    found = shutil.which(name)
    if not found:
        pytest.fail(f"{name} not found: scripts/setup installs it (apt-get install {name})", pytrace=False)
    return found


def fake_answer(prompt: str) -> str:
    return f"Fake answer to: {prompt}"


# -- certificates ------------------------------------------------------------------------------------


class Certificates:
    """A CA, and a server certificate it signed for localhost and 127.0.0.1 (EC P-256, two days)."""

    def __init__(self, folder: Path):
        openssl = program("openssl")
        folder.mkdir(parents=True, exist_ok=True)
        self.ca, self.cert, self.key = folder / "ca.pem", folder / "server.pem", folder / "server.key"
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        (folder / "server.ext").write_text(
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\n"
            "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
            "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n")
        for args in (
            ["req", "-x509", *ec, "-days", "2", "-subj", "/CN=claude-code-api test CA", "-keyout", "ca.key",
             "-out", "ca.pem", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
            ["req", "-new", *ec, "-subj", "/CN=localhost", "-keyout", "server.key", "-out", "server.csr"],
            ["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-days", "2", "-extfile", "server.ext", "-out", "server.pem"],
        ):
            subprocess.run([openssl, *args], cwd=folder, check=True, capture_output=True, timeout=30)

    def context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca))


# -- a site in Debian's nginx.conf ---------------------------------------------------------------------


def debian_main_conf(folder: Path) -> str:
    """Debian's /etc/nginx/nginx.conf with its machine paths moved into ``folder``; its includes of
    sites-enabled/* then resolve beside it (nginx reads relative includes from the main file's folder)."""
    if not DEBIAN_NGINX_CONF.is_file():
        pytest.fail(f"{DEBIAN_NGINX_CONF} not found: Debian's nginx package (scripts/setup) installs it", pytrace=False)
    text = DEBIAN_NGINX_CONF.read_text()
    text = re.sub(r"^\s*user\s+[^;]*;", "", text, flags=re.M)   # root: -g 'user root root;' below
    for pattern, replacement in [
        (r"^\s*pid\s+[^;]*;", f"pid {folder}/nginx.pid;"),
        (r"^\s*error_log\s+[^;]*;", f"error_log {folder}/error.log;"),
        (r"^\s*access_log\s+[^;]*;", f"access_log {folder}/access.log;"),
        (r"^\s*include\s+/etc/nginx/conf\.d/\*\.conf;", "# (conf.d: this machine's own, left out)"),
        (r"^\s*include\s+/etc/nginx/sites-enabled/\*;", "include sites-enabled/*;"),
        (r"^http\s*\{", "http {\n" + "".join(f"\t{name}_temp_path {folder}/{name};\n" for name in
                                             ("client_body", "fastcgi", "proxy", "uwsgi", "scgi"))),
    ]:
        text, count = re.subn(pattern, replacement, text, count=1, flags=re.M)
        if count != 1:
            pytest.fail(f"{DEBIAN_NGINX_CONF} has no line matching {pattern!r}: the test's adaptation of "
                        "Debian's nginx.conf needs updating", pytrace=False)
    return "daemon off;\n" + text


class Site:
    """The site rendered with render-nginx-conf --site (``options``: its options without dashes) for
    ``upstream``, run by nginx on free ports of 127.0.0.1 (HTTPS and plain HTTP)."""

    def __init__(self, folder: Path, certs: Certificates, upstream: str, options: dict | None = None,
                 max_body: str = "11m", edit=None):
        self.folder, self.certs, self.upstream = folder, certs, upstream
        self.options = {"cors-origins": ALLOWED_ORIGIN, "req-rate": "off", **(options or {})}
        self.max_body = max_body
        self.edit = edit            # edit(site_text) -> site_text, applied after rendering (the control site)
        self.etc = folder / "etc-nginx"
        self.acme_root = folder / "acme"
        self.https_port = self.http_port = 0
        self.nginx: subprocess.Popen | None = None
        self._out = None

    @property
    def site_file(self) -> Path:
        return self.etc / "sites-available" / "claude-code-api"

    @property
    def snippet_file(self) -> Path:
        return self.etc / "snippets" / "claude-code-api.conf"

    @property
    def access_log(self) -> Path:
        return self.folder / "claude-code-api.access.log"

    def https(self, path: str = "") -> str:
        return f"https://127.0.0.1:{self.https_port}{path}"

    def http(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.http_port}{path}"

    def client(self, source: str = "127.0.0.1", timeout: float = 15.0) -> httpx.Client:
        """httpx over HTTPS, verifying against the test CA, from ``source``."""
        return httpx.Client(transport=httpx.HTTPTransport(verify=self.certs.context(), local_address=source),
                            timeout=httpx.Timeout(timeout, connect=5.0))

    def render(self):
        options = [arg for key, value in self.options.items() for arg in (f"--{key}", value)]
        subprocess.run([str(RENDER), "--site", str(self.etc), "--server-name", "localhost",
                        "--cert", str(self.certs.cert), "--key", str(self.certs.key),
                        "--https-listen", f"127.0.0.1:{self.https_port}", "--http-listen", f"127.0.0.1:{self.http_port}",
                        "--acme-root", str(self.acme_root), "--log-dir", str(self.folder), *options,
                        self.upstream, self.max_body], check=True, capture_output=True, text=True, timeout=30)
        if self.edit is not None:
            self.site_file.write_text(self.edit(self.site_file.read_text()))
        enabled = self.etc / "sites-enabled"
        enabled.mkdir(exist_ok=True)
        link = enabled / "claude-code-api"
        if not link.is_symlink():
            link.symlink_to("../sites-available/claude-code-api")
        (self.etc / "nginx.conf").write_text(debian_main_conf(self.folder))

    def start(self) -> "Site":
        self.folder.mkdir(parents=True, exist_ok=True)
        self.acme_root.mkdir(exist_ok=True)
        for _ in range(NGINX_ATTEMPTS):   # a port taken between free_port() and nginx's bind() gets another try
            self.https_port, self.http_port = free_port(), free_port()
            self.render()
            args = [nginx_binary(), "-p", str(self.folder), "-c", str(self.etc / "nginx.conf")]
            if os.geteuid() == 0:
                args += ["-g", "user root root;"]   # the responder's socket is root's, mode 0660
            self._out = open(self.folder / "nginx.out", "ab")
            self.nginx = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self._out, stderr=subprocess.STDOUT,
                                          start_new_session=True)
            if self._wait():
                return self
            self.stop()
            if "Address already in use" not in self.error_log():
                raise RuntimeError(f"nginx did not serve the site:\n{self.error_log()[-3000:]}")
        raise RuntimeError("could not start nginx on free ports")

    def _wait(self) -> bool:
        deadline = time.monotonic() + START_TIMEOUT
        with self.client() as probe:
            while time.monotonic() < deadline:
                if self.nginx.poll() is not None:
                    return False
                try:
                    probe.get(self.https("/health"))
                    return True          # any answer over verified HTTPS
                except httpx.HTTPError:
                    time.sleep(0.05)
        return False

    def error_log(self) -> str:
        try:
            return (self.folder / "error.log").read_text(errors="replace")
        except OSError:
            return ""

    def access_log_lines(self) -> list[str]:
        try:
            return self.access_log.read_text(errors="replace").splitlines()
        except OSError:
            return []

    def stop(self):
        stop_process(self.nginx, signal.SIGQUIT, timeout=5)
        if self._out:
            self._out.close()
            self._out = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> Certificates:
    return Certificates(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def site(tmp_path_factory, certs, fake_stack):
    """The site as an operator would have it, with one allowed origin and only 127.0.0.1 allowed
    to the operator pages, in front of the session's fake-CLI responder."""
    with Site(tmp_path_factory.mktemp("site"), certs, str(fake_stack.socket_path),
              {"operator-allow": "127.0.0.1"}) as running:
        yield running


@pytest.fixture
def make_site(tmp_path, certs, fake_stack):
    """Starts more sites (``upstream`` default: the fake-CLI responder); all stop when the test ends."""
    started = []

    def make(options: dict | None = None, upstream: str | None = None, **kwargs) -> Site:
        site = Site(tmp_path / f"site{len(started)}", certs, upstream or str(fake_stack.socket_path), options, **kwargs)
        started.append(site)
        return site.start()

    yield make
    for site in started:
        site.stop()


# -- raw requests --------------------------------------------------------------------------------------


class RawResponse:
    def __init__(self, data: bytes):
        head, _, self.body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1]) if lines[0].startswith("HTTP/") else None
        self.headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"<{self.status} {self.headers} {self.body[:200]!r}>"


def raw_https(site: Site, data: bytes, timeout: float = 10.0) -> RawResponse:
    """``data`` sent byte for byte over a verified TLS connection; the answer read to the close."""
    context = site.certs.context()
    with socket.create_connection(("127.0.0.1", site.https_port), timeout=timeout) as plain:
        with context.wrap_socket(plain, server_hostname="localhost") as tls:
            tls.sendall(data)
            received = b""
            while chunk := tls.recv(65536):
                received += chunk
    return RawResponse(received)


def raw_plain(port: int, data: bytes, timeout: float = 10.0) -> RawResponse:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return RawResponse(received)


def curl(*args: str, timeout: float = 30.0) -> subprocess.CompletedProcess:
    return subprocess.run([program("curl"), "-sS", "--max-time", str(int(timeout)), *args],
                          capture_output=True, text=True, timeout=timeout + 5)


def s_client(port: int, certs: Certificates, *flags: str) -> subprocess.CompletedProcess:
    """One TLS handshake with openssl s_client (stdin empty: it leaves once connected)."""
    return subprocess.run([program("openssl"), "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "localhost",
                           "-CAfile", str(certs.ca), *flags], input="", capture_output=True, text=True, timeout=30)


def negotiated(result: subprocess.CompletedProcess) -> str | None:
    """The protocol of a completed s_client handshake, or None when there was none."""
    if result.returncode != 0 or "Cipher is (NONE)" in result.stdout:
        return None
    found = re.search(r"^\s*Protocol\s*:\s*(TLSv[\d.]+)", result.stdout, re.M) \
        or re.search(r"^New, (TLSv[\d.]+), Cipher is ", result.stdout, re.M)
    return found.group(1) if found else None


def nginx_error(resp, status: int, code: str) -> bool:
    """An OpenAI error object with ``code`` and ``status``, served as JSON."""
    try:
        body = resp.json()
    except ValueError:
        return False
    return (resp.status_code if hasattr(resp, "status_code") else resp.status) == status \
        and resp.headers.get("content-type", "").startswith("application/json") and body["error"]["code"] == code


def missing_security_headers(headers) -> dict:
    lower = {k.lower(): v for k, v in headers.items()}
    wrong = {name: lower.get(name) for name, value in SECURITY_HEADERS.items() if lower.get(name) != value}
    if not re.fullmatch(r"[0-9a-f]{32}", lower.get("x-request-id", "")):
        wrong["x-request-id"] = lower.get("x-request-id")
    return wrong


# -- the file as shipped ---------------------------------------------------------------------------------


def test_the_site_as_shipped_passes_nginx_t_inside_debians_nginx_conf(tmp_path, certs):
    """Only the server name, the certificates (certbot's paths do not exist here) and the log folder are
    given; every other value is the default an operator gets."""
    etc = tmp_path / "etc-nginx"
    result = subprocess.run([str(RENDER), "--site", str(etc), "--server-name", "api.example.com",
                             "--cert", str(certs.cert), "--key", str(certs.key), "--log-dir", str(tmp_path)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    site, snippet = (etc / "sites-available" / "claude-code-api").read_text(), (etc / "snippets" / "claude-code-api.conf").read_text()
    for text in (site, snippet):
        assert not re.search(r"@[A-Z_]+@|^\s*#@|^\s*##", text, re.M), "a placeholder or template line was left"
    directives = lambda name, text=site: re.findall(rf"^\s*{name}\s+([^;{{\n]*);", text, re.M)  # noqa: E731
    assert directives("listen") == ["80", "[::]:80", "443 ssl http2", "[::]:443 ssl http2"]
    assert directives("server_name") == ["api.example.com", "api.example.com"]
    assert directives("server") == ["unix:/run/claude-code-api/fcgi.sock"]
    assert directives("root") == ["/var/www/html"]
    assert "return 301 https://$server_name$request_uri;" in site
    assert directives("include") == ["snippets/claude-code-api.conf"]
    # TLS 1.2 and 1.3 only, forward-secret AEAD ciphers only.
    assert directives("ssl_protocols") == ["TLSv1.2 TLSv1.3"]
    ciphers = directives("ssl_ciphers")[0].split(":")
    assert ciphers and all(c.startswith("ECDHE-") and ("GCM" in c or "CHACHA20" in c) for c in ciphers), ciphers
    # The access log format names no header that can carry a secret, and no query string.
    log_format = re.search(r"log_format claude_code_api_json escape=json(.*?);", site, re.S).group(1)
    assert not re.search(r"\$(http_authorization|http_x_api_key|http_cookie|request_uri|request\b|args|query_string|arg_)",
                         log_format), log_format
    (etc / "sites-enabled").mkdir()
    (etc / "sites-enabled" / "claude-code-api").symlink_to("../sites-available/claude-code-api")
    (etc / "nginx.conf").write_text(debian_main_conf(tmp_path))
    check = subprocess.run([nginx_binary(), "-t", "-p", str(tmp_path), "-c", str(etc / "nginx.conf")],
                           capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stderr


# -- over HTTPS ------------------------------------------------------------------------------------------


def test_curl_and_the_openai_client_reach_the_api_verifying_the_ca(site):
    from openai import APIConnectionError, OpenAI

    models = curl("--cacert", str(site.certs.ca), "--resolve", f"localhost:{site.https_port}:127.0.0.1",
                  "-w", "\n%{http_code} %{ssl_verify_result}", f"https://localhost:{site.https_port}/v1/models")
    body, _, status = models.stdout.rpartition("\n")
    assert models.returncode == 0 and status == "200 0", (models.returncode, models.stderr, models.stdout[-300:])
    assert any(m["id"] == MODEL for m in json.loads(body)["data"])

    with httpx.Client(verify=site.certs.context(), timeout=30) as http_client:
        client = OpenAI(base_url=site.https("/v1"), api_key="unused", http_client=http_client, max_retries=0)
        assert MODEL in [m.id for m in client.models.list()]
        prompt = unique("https")
        answer = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": prompt}])
        assert answer.choices[0].message.content == fake_answer(prompt)
    # The verification is real: without the test CA the same client fails.
    with httpx.Client(timeout=30) as http_client:
        client = OpenAI(base_url=site.https("/v1"), api_key="unused", http_client=http_client, max_retries=0)
        with pytest.raises(APIConnectionError):
            client.models.list()


def test_streaming_arrives_event_by_event_over_https_and_http2(site):
    """The openai client (HTTP/1.1) and curl (HTTP/2) at once, each timing its content events."""
    from openai import OpenAI

    results = {}

    def with_openai():
        prompt = f"FAKE:slow {unique('o')}"
        with httpx.Client(verify=site.certs.context(), timeout=30) as http_client:
            client = OpenAI(base_url=site.https("/v1"), api_key="unused", http_client=http_client, max_retries=0)
            arrivals, text = [], ""
            for chunk in client.chat.completions.create(model=MODEL, stream=True,
                                                        messages=[{"role": "user", "content": prompt}]):
                if chunk.choices and chunk.choices[0].delta.content:
                    arrivals.append(time.monotonic())
                    text += chunk.choices[0].delta.content
        results["openai"] = (arrivals, text, fake_answer(prompt), "1.1")

    def with_curl():
        prompt = f"FAKE:slow {unique('c')}"
        proc = subprocess.Popen(
            [program("curl"), "-sS", "-N", "--http2", "--max-time", "30", "--cacert", str(site.certs.ca),
             "--resolve", f"localhost:{site.https_port}:127.0.0.1", "-H", "Content-Type: application/json",
             "-d", json.dumps({"model": MODEL, "stream": True, "messages": [{"role": "user", "content": prompt}]}),
             "-w", "\nhttp_version=%{http_version}\n", f"https://localhost:{site.https_port}/v1/chat/completions"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        arrivals, text, version = [], "", None
        for line in proc.stdout:   # curl's --max-time bounds this
            if line.startswith("data: {"):
                delta = json.loads(line[6:])["choices"]
                if delta and delta[0]["delta"].get("content"):
                    arrivals.append(time.monotonic())
                    text += delta[0]["delta"]["content"]
            elif line.startswith("http_version="):
                version = line.strip().split("=", 1)[1]
        proc.wait(timeout=10)
        results["curl"] = (arrivals, text, fake_answer(prompt), version)

    threads = [threading.Thread(target=with_openai), threading.Thread(target=with_curl)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=45)
    assert set(results) == {"openai", "curl"}, f"a client did not finish: {results}"
    for name, (arrivals, text, expected, version) in results.items():
        assert text == expected, (name, text)
        assert version == ("2" if name == "curl" else "1.1"), (name, version)
        gaps = [b - a for a, b in zip(arrivals, arrivals[1:])]
        # One burst at the end would give gaps of ~0; each event is written 0.5 s after the last.
        assert len(arrivals) == SLOW_DELTAS and min(gaps) > SLOW_INTERVAL / 2, (name, [round(g, 3) for g in gaps])


def test_plain_http_redirects_to_https_except_certbots_challenges(site):
    for method in ("GET", "POST"):
        redirect = curl("-X", method, "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}",
                        site.http("/v1/models?limit=2&x=%2F"))
        assert redirect.stdout == f"301 https://localhost:{site.https_port}/v1/models?limit=2&x=%2F", redirect.stdout
    followed = curl("-L", "--cacert", str(site.certs.ca), "--resolve", f"localhost:{site.https_port}:127.0.0.1",
                    "-w", "\n%{http_code} %{url_effective}", site.http("/v1/models"))
    assert followed.stdout.endswith(f"\n200 https://localhost:{site.https_port}/v1/models"), followed.stdout[-200:]
    # certbot's webroot: the token file is served over plain HTTP, not redirected.
    token = unique("acme")
    challenge = site.acme_root / ".well-known" / "acme-challenge"
    challenge.mkdir(parents=True, exist_ok=True)
    (challenge / token).write_text(f"{token}.thumbprint")
    served = httpx.get(site.http(f"/.well-known/acme-challenge/{token}"), timeout=10)
    assert served.status_code == 200 and served.text == f"{token}.thumbprint", (served.status_code, served.text)
    assert served.headers["content-type"].startswith("text/plain")
    missing = httpx.get(site.http("/.well-known/acme-challenge/nothing-here"), timeout=10)
    assert nginx_error(missing, 404, "unknown_url"), (missing.status_code, missing.headers, missing.text)
    garbage = raw_plain(site.http_port, b"GARBAGE\r\n\r\n")
    assert garbage.status == 400 and garbage.json()["error"]["code"] == "bad_request", garbage


def test_hsts_and_the_security_headers_come_with_every_answer(site):
    answers = {}
    with site.client() as local, site.client(OTHER) as other:
        answers["200 /v1/models"] = local.get(site.https("/v1/models"))
        answers["404 responder"] = local.get(site.https("/nope"))
        answers["400 responder"] = local.post(site.https("/v1/chat/completions"), json={"model": MODEL, "messages": []})
        answers["204 preflight"] = local.request("OPTIONS", site.https("/v1/chat/completions"),
                                                 headers={"Origin": ALLOWED_ORIGIN, "Access-Control-Request-Method": "POST"})
        answers["405 nginx (TRACE)"] = local.request("TRACE", site.https("/v1/models"))
        answers["403 nginx (operator page)"] = other.get(site.https("/metrics"))
        with local.stream("POST", site.https("/v1/chat/completions"),
                          json={"model": MODEL, "stream": True, "messages": [{"role": "user", "content": unique()}]}) as stream:
            stream.read()
            answers["200 stream"] = stream
    raw = {"400 nginx (request line)": raw_https(site, b"GARBAGE\r\n\r\n"),
           "414 nginx (long URI)": raw_https(site, b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n"),
           "400 nginx (header too large)": raw_https(site, b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Big: "
                                                     + b"a" * 20000 + b"\r\nConnection: close\r\n\r\n"),
           "400 nginx (plain HTTP to the HTTPS port)": raw_plain(site.https_port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")}
    assert answers["200 stream"].headers["content-type"].startswith("text/event-stream")
    wrong = {name: missing_security_headers(r.headers) for name, r in {**answers, **raw}.items()}
    assert not {k: v for k, v in wrong.items() if v}, wrong
    codes = {name: r.json()["error"]["code"] for name, r in raw.items()}
    assert codes == {"400 nginx (request line)": "bad_request", "414 nginx (long URI)": "uri_too_long",
                     "400 nginx (header too large)": "header_too_large",
                     "400 nginx (plain HTTP to the HTTPS port)": "https_required"}, codes
    assert [r.status for r in raw.values()] == [400, 414, 400, 400]
    assert nginx_error(answers["405 nginx (TRACE)"], 405, "method_not_allowed")
    assert nginx_error(answers["403 nginx (operator page)"], 403, "forbidden")


def test_tls_1_1_is_refused_by_the_server_while_1_2_and_1_3_are_served(site, make_site):
    # The client offers TLS 1.1 and allows its ciphers (SECLEVEL=0), so a failed handshake is the server's doing;
    # and it is refused for its version (alert 70), not for want of a shared cipher (alert 40, which is what the
    # site's cipher list and OpenSSL's default security level alone would give).
    old = s_client(site.https_port, site.certs, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0")
    assert negotiated(old) is None and "CONNECTED" in old.stdout, (old.returncode, old.stdout[-800:], old.stderr)
    assert "alert protocol version" in old.stderr, old.stderr
    for flag, protocol in (("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")):
        new = s_client(site.https_port, site.certs, flag)
        assert negotiated(new) == protocol, (flag, new.stdout[-800:])
        assert "Verify return code: 0 (ok)" in new.stdout
    # The same probe against the same site with TLS 1.1 let in succeeds: the probe can tell.
    loosened = make_site(edit=lambda text: text.replace("ssl_protocols TLSv1.2 TLSv1.3;", "ssl_protocols TLSv1.1 TLSv1.2 TLSv1.3;")
                         .replace(re.search(r"ssl_ciphers [^;]*;", text).group(0), "ssl_ciphers DEFAULT@SECLEVEL=0;"))
    accepted = s_client(loosened.https_port, loosened.certs, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0")
    assert negotiated(accepted) == "TLSv1.1", accepted.stdout[-800:]


def test_nginx_own_413_429_and_unreachable_responder_answers_are_json(make_site, tmp_path):
    limited = make_site({"req-rate": "1r/m", "req-burst": "0"}, max_body="1k")
    h = {"Origin": ALLOWED_ORIGIN}
    with limited.client("127.0.0.6") as client:
        too_large = client.post(limited.https("/v1/chat/completions"), content=b"x" * 4096,
                                headers={**h, "Content-Type": "application/json"})
    with limited.client("127.0.0.7") as client:
        first, second = (client.get(limited.https("/v1/models"), headers=h) for _ in range(2))
    # A site whose responder is not there (nginx's 502 answered as 503 responder_unavailable).
    dead = make_site(upstream=str(tmp_path / "nobody.sock"))
    with dead.client() as client:
        unreachable = client.get(dead.https("/v1/models"), headers=h)
    assert first.status_code == 200, first.text
    for resp, status, code, retry in ((too_large, 413, "request_too_large", None), (second, 429, "rate_limit_exceeded", "1"),
                                      (unreachable, 503, "responder_unavailable", "5")):
        assert nginx_error(resp, status, code), (resp.status_code, resp.headers, resp.text)
        assert resp.headers.get("retry-after") == retry, resp.headers
        assert resp.headers.get("access-control-allow-origin") == ALLOWED_ORIGIN, resp.headers
        assert not missing_security_headers(resp.headers), missing_security_headers(resp.headers)


def test_nginx_own_errors_on_the_messages_api_are_in_anthropics_shape(make_site, tmp_path):
    """The official anthropic client raises the right exception for each, with Anthropic's error object."""
    import anthropic
    import httpx2

    def claude(site: Site, source: str) -> anthropic.Anthropic:
        transport = httpx2.HTTPTransport(verify=site.certs.context(), local_address=source)
        return anthropic.Anthropic(base_url=site.https(), api_key="unused", max_retries=0,
                                   http_client=anthropic.DefaultHttpxClient(transport=transport))

    def failure(call) -> anthropic.APIStatusError:
        with pytest.raises(anthropic.APIStatusError) as raised:
            call()
        return raised.value

    message = {"model": MODEL, "max_tokens": 16, "messages": [{"role": "user", "content": unique("m")}]}
    limited = make_site({"req-rate": "1r/m", "req-burst": "0"}, max_body="1k")
    too_large = failure(lambda: claude(limited, "127.0.0.8").messages.create(
        **{**message, "messages": [{"role": "user", "content": "x" * 4096}]}))
    with limited.client("127.0.0.9") as client:
        assert client.get(limited.https("/v1/models")).status_code == 200   # the address's one request a minute
    too_many = failure(lambda: claude(limited, "127.0.0.9").messages.create(**message))
    dead = make_site(upstream=str(tmp_path / "nobody.sock"))
    unreachable = failure(lambda: claude(dead, "127.0.0.1").messages.create(**message))
    listed = make_site({"client-allow": "127.0.0.1"})
    forbidden = failure(lambda: claude(listed, OTHER).messages.create(**message))
    expected = [(too_large, anthropic.RequestTooLargeError, 413, "request_too_large"),
                (too_many, anthropic.RateLimitError, 429, "rate_limit_error"),
                (unreachable, anthropic.OverloadedError, 529, "overloaded_error"),
                (forbidden, anthropic.PermissionDeniedError, 403, "permission_error")]
    for error, kind, status, error_type in expected:
        assert isinstance(error, kind) and error.status_code == status, (type(error), error.status_code, error.body)
        body = error.body if isinstance(error.body, dict) else {}
        assert body.get("type") == "error" and set(body.get("error", {})) == {"type", "message"} \
            and body["error"]["type"] == error_type, (status, error.body)
        assert not missing_security_headers(error.response.headers), missing_security_headers(error.response.headers)
    assert too_many.response.headers.get("retry-after") == "1" and unreachable.response.headers.get("retry-after") == "5"
    # The OpenAI surface beside it keeps OpenAI's shape.
    with dead.client() as client:
        assert nginx_error(client.get(dead.https("/v1/models")), 503, "responder_unavailable")


def test_cors_over_https_for_the_listed_origin_only(site):
    with site.client() as client:
        preflight = client.request("OPTIONS", site.https("/v1/chat/completions"),
                                   headers={"Origin": ALLOWED_ORIGIN, "Access-Control-Request-Method": "POST",
                                            "Access-Control-Request-Headers": "authorization,content-type"})
        answers = [client.get(site.https("/v1/models"), headers={"Origin": ALLOWED_ORIGIN}),
                   client.get(site.https("/nope"), headers={"Origin": ALLOWED_ORIGIN})]
        with site.client(OTHER) as other:
            answers.append(other.get(site.https("/status"), headers={"Origin": ALLOWED_ORIGIN}))   # nginx's 403
        unlisted = [client.request("OPTIONS", site.https("/v1/chat/completions"),
                                   headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}),
                    client.get(site.https("/v1/models"), headers={"Origin": "https://evil.example"}),
                    client.get(site.https("/v1/models"))]
    assert preflight.status_code == 204 and preflight.headers.get("access-control-allow-origin") == ALLOWED_ORIGIN
    assert "POST" in preflight.headers.get("access-control-allow-methods", "")
    assert "authorization" in preflight.headers.get("access-control-allow-headers", "").lower()
    assert preflight.headers.get("access-control-max-age") == "86400"
    assert [r.status_code for r in answers] == [200, 404, 403]
    for resp in answers:
        assert resp.headers.get("access-control-allow-origin") == ALLOWED_ORIGIN, resp.headers
        assert "access-control-allow-methods" not in resp.headers, "preflight headers on an answer"
        assert "X-Request-Id" in resp.headers.get("access-control-expose-headers", "")
    for resp in unlisted:
        assert not [k for k in resp.headers if k.lower().startswith("access-control-")], resp.headers
        assert "origin" in resp.headers.get("vary", "").lower()


def test_operator_pages_are_refused_to_127_0_0_2_when_only_127_0_0_1_is_allowed(site):
    with site.client(OTHER) as other:
        refused = [other.get(site.https(path)) for path in ("/metrics", "/status", "/v1/status/", "//metrics")]
    for resp in refused:
        assert nginx_error(resp, 403, "forbidden"), (resp.request.url, resp.status_code, resp.text)
    with site.client() as local:
        status = local.get(site.https("/status"))
        metrics = local.get(site.https("/metrics"))
    assert status.status_code == 200 and "requests" in status.json(), status.text
    assert metrics.status_code != 403, metrics.text   # passed to the responder (which has no /metrics yet)


def test_the_access_log_is_json_with_no_key_or_header_in_it(site):
    secrets = [unique("sk-secret"), unique("xkey"), unique("cookie"), unique("qkey"), unique("qtoken")]
    with site.client() as client:
        resp = client.get(site.https(f"/v1/models?api_key={secrets[3]}&token={secrets[4]}"),
                          headers={"Authorization": f"Bearer {secrets[0]}", "x-api-key": secrets[1],
                                   "Cookie": f"session={secrets[2]}", "User-Agent": "https-site-test"})
    assert resp.status_code == 200
    request_id = resp.headers["x-request-id"]
    assert wait_until(lambda: any(request_id in line for line in site.access_log_lines()), 10), site.access_log_lines()[-5:]
    entries = [json.loads(line) for line in site.access_log_lines()]   # every line is JSON
    entry = next(e for e in entries if e["request_id"] == request_id)
    assert (entry["method"], entry["path"], entry["status"], entry["user_agent"]) == \
        ("GET", "/v1/models", 200, "https-site-test"), entry
    assert entry["tls"] in ("TLSv1.2", "TLSv1.3") and entry["upstream"].startswith("unix:"), entry
    text = site.access_log.read_text()
    leaked = [s for s in secrets if s in text]
    assert not leaked, f"secrets in the access log: {leaked}"


def test_the_client_allow_list_is_off_by_default_and_limits_the_api_when_set(site, make_site):
    with site.client(OTHER) as other:
        assert other.get(site.https("/v1/models")).status_code == 200
    listed = make_site({"client-allow": "127.0.0.1"})
    with listed.client(OTHER) as other:
        refused = other.get(listed.https("/v1/models"))
        preflight = other.request("OPTIONS", listed.https("/v1/chat/completions"),
                                  headers={"Origin": ALLOWED_ORIGIN, "Access-Control-Request-Method": "POST"})
    with listed.client() as local:
        allowed = local.get(listed.https("/v1/models"))
    assert nginx_error(refused, 403, "forbidden") and preflight.status_code == 403, (refused.text, preflight.status_code)
    assert allowed.status_code == 200


# -- make run TLS=1 ----------------------------------------------------------------------------------------


def test_make_run_tls_serves_https_from_the_same_site_with_a_self_signed_certificate(tmp_path):
    """scripts/run-local (`make run`) with TLS=1, from a copy of the scripts and templates (so no .env of
    the checkout is read): plain HTTP as before, and the site's HTTPS server with a certificate for localhost."""
    program("openssl")
    templates = [str(p.relative_to(REPO)) for p in sorted((REPO / "nginx").glob("*.template"))]
    for name in ("scripts/run-local", "scripts/render-nginx-conf", *templates):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        shutil.copy2(REPO / name, tmp_path / name)
    run_tmp = Path(tempfile.mkdtemp(prefix="cca-run-"))   # short: the socket goes in here
    run_tmp.chmod(0o755)
    port, tls_port = free_port(), free_port()
    env = {**os.environ, "PORT": str(port), "TLS": "1", "TLS_PORT": str(tls_port), "TMPDIR": str(run_tmp),
           "CCA_BIN": str(responder_binary()), "CLAUDE_BIN": install_fake_cli(tmp_path / "fakecli"),
           "CCA_LOG_LEVEL": "warning"}
    log = open(tmp_path / "run-local.log", "wb")
    proc = subprocess.Popen([str(tmp_path / "scripts" / "run-local")], cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        def serving() -> bool:
            try:
                return proc.poll() is not None or httpx.get(f"https://127.0.0.1:{tls_port}/v1/models", verify=False,
                                                            timeout=5).status_code == 200
            except httpx.HTTPError:
                return False

        assert wait_until(serving, timeout=20) and proc.poll() is None, \
            (tmp_path / "run-local.log").read_text(errors="replace")[-3000:]
        insecure = curl("-k", "-w", "\n%{http_code}", f"https://127.0.0.1:{tls_port}/v1/models")
        assert insecure.stdout.endswith("\n200"), insecure.stdout[-300:]
        # The certificate is for localhost and 127.0.0.1: verifying against it as its own CA succeeds.
        (cert,) = run_tmp.glob("claude-code-api.*/tls.crt")
        with httpx.Client(verify=ssl.create_default_context(cafile=str(cert)), timeout=10) as client:
            for url in (f"https://localhost:{tls_port}/v1/models", f"https://127.0.0.1:{tls_port}/v1/models"):
                resp = client.get(url)
                assert resp.status_code == 200 and resp.headers.get("strict-transport-security") == HSTS, resp.headers
        plain = httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=10)
        assert plain.status_code == 200 and "strict-transport-security" not in plain.headers
    finally:
        stop_process(proc, signal.SIGTERM, timeout=15)
        log.close()
        shutil.rmtree(run_tmp, ignore_errors=True)
    assert proc.returncode is not None
