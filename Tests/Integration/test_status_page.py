"""/status?html in a real browser: Debian's chromium, headless, through nginx. The page renders, its numbers are
the JSON report's, it loads nothing but itself, it reloads itself, and a screenshot is made (in the test's
temporary folder; not kept).

chromium comes from Debian's chromium package (scripts/setup installs it); missing is a failure.
"""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path

from stack import stop_process
from support import chat_body, post_chat, required_program, stream_raw, unique, wait_until

CHROMIUM_TIMEOUT = 60
WINDOW = (1280, 900)


def chromium(profile: Path) -> list[str]:
    """Headless Chromium with a profile of its own and nothing running in the background."""
    args = [required_program("chromium", "chromium"), "--headless", "--disable-gpu", "--no-first-run",
            "--no-default-browser-check", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--disable-extensions", "--hide-scrollbars", f"--user-data-dir={profile}"]
    if os.geteuid() == 0:
        args.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox
    return args


def run_chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([*chromium(tmp_path / "profile"), *args], capture_output=True, text=True,
                            timeout=CHROMIUM_TIMEOUT, env={**os.environ, "HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr[-3000:]
    return result


class DataKeys(HTMLParser):
    """Every element with ``data-key``: its ``data-value``, else its text."""

    def __init__(self):
        super().__init__()
        self.values: dict[str, str] = {}
        self._open: list[tuple[str, str | None, list[str]]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "data-key" in attrs:
            self._open.append((attrs["data-key"], attrs.get("data-value"), []))

    def handle_data(self, data):
        for _, _, text in self._open:
            text.append(data)

    def handle_endtag(self, tag):
        if self._open:
            key, value, text = self._open.pop()
            self.values[key] = value if value is not None else "".join(text).strip()


def json_value(report: dict, path: str):
    node = report
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def nginx_requests(stack) -> list[str]:
    """The request lines of nginx's access log so far (``GET /status?html HTTP/1.1``)."""
    try:
        lines = (stack.prefix / "access.log").read_text(errors="replace").splitlines()
    except OSError:
        return []
    return [line.split('"')[1] for line in lines if line.count('"') >= 2]


def png_size_and_colours(path: Path) -> tuple[int, int, int]:
    """Width, height, and how many different byte values the image data holds (1 or 2 for a blank page)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    offset, idat, size = 8, b"", (0, 0)
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        body = data[offset + 8:offset + 8 + length]
        if kind == b"IHDR":
            size = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        offset += 12 + length
    return size[0], size[1], len(set(zlib.decompress(idat)))


def busy_stack(stack, model: str) -> int:
    """Two model turns (one streamed), counted by the time this returns; the turns in the latency window."""
    assert post_chat(stack, chat_body(unique("page"), model)).status_code == 200
    assert stream_raw(stack, chat_body(unique("page"), model, stream=True)).done
    turns = 0

    def counted():
        nonlocal turns
        turns = stack.get("/status").json()["recent_latency"]["turns"]
        return turns >= 2 and stack.get("/status").json()["requests"]["in_flight"] == 1
    assert wait_until(counted, 10), turns
    return turns


def test_status_page_renders_in_chromium_with_the_json_numbers(real_stack, claude_model, tmp_path):
    busy_stack(real_stack, claude_model)
    url = real_stack.base_url + "/status?html"
    requests_before = len(nginx_requests(real_stack))
    report = real_stack.get("/status").json()
    dom = run_chromium(tmp_path, "--dump-dom", url).stdout
    requests = nginx_requests(real_stack)[requests_before:]
    parser = DataKeys()
    parser.feed(dom)
    shown = parser.values
    assert "<title>claude-code-api status</title>" in dom and len(shown) >= 20, dom[:2000]
    mismatches = []
    for key, text in shown.items():
        expected = json_value(report, key)
        if key in ("requests.accepted", "requests.by_status.2xx"):
            expected += 1  # the JSON request came in between, and has finished since
        if key == "uptime_seconds":
            if abs(int(text) - expected) > 2:
                mismatches.append((key, text, expected))
            continue
        if expected is None and key.startswith("requests.by_status."):
            expected = 0
        if isinstance(expected, bool):
            expected = "true" if expected else "false"
        if text != str(expected):
            mismatches.append((key, text, expected))
    assert not mismatches, mismatches
    for key in ("cli.active", "cli.capacity", "cli.waiting", "recent_latency.duration_ms.p50",
                "recent_latency.time_to_first_token_ms.p90", "requests.by_status.5xx", "cli_probe.version"):
        assert key in shown, key
    assert shown["cli_probe.version"] == real_stack.get("/health").json()["cli"]["version"]
    # The browser asked for the page and nothing else: no favicon, no stylesheet, no script.
    assert requests == ["GET /status HTTP/1.1", "GET /status?html HTTP/1.1"]


def test_status_page_screenshot(real_stack, tmp_path):
    screenshot = tmp_path / "status-page.png"
    run_chromium(tmp_path, f"--window-size={WINDOW[0]},{WINDOW[1]}", f"--screenshot={screenshot}",
                 real_stack.base_url + "/status?html")
    width, height, colours = png_size_and_colours(screenshot)
    assert (width, height) == WINDOW
    assert colours > 50, f"the screenshot looks blank ({colours} byte values)"
    print(f"screenshot: {screenshot}")


def test_status_page_reloads_itself_in_chromium(real_stack, tmp_path):
    url = real_stack.base_url + "/status?html"
    before = len(nginx_requests(real_stack))
    browser = subprocess.Popen([*chromium(tmp_path / "profile"), "--remote-debugging-port=0", url],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=open(tmp_path / "chromium.log", "wb"), start_new_session=True,
                               env={**os.environ, "HOME": str(tmp_path)})
    try:
        # The page says refresh every 5 s: a second load within 20 s, and nothing but the page.
        def loads():
            return nginx_requests(real_stack)[before:]
        assert wait_until(lambda: len(loads()) >= 2, 20), (loads(), (tmp_path / "chromium.log").read_text()[-2000:])
        assert set(loads()) == {"GET /status?html HTTP/1.1"}, loads()
    finally:
        stop_process(browser, signal.SIGTERM, timeout=10)
