"""/metrics through nginx, checked by the real Prometheus tools: `promtool check metrics` on the output, a real
Prometheus (Debian's, on loopback, with its own data folder and a 1 s scrape interval) scraping the stack and
answering queries, and `promtool check rules` / `promtool test rules` on monitoring/alerts.yml.

promtool and prometheus come from Debian's prometheus package (scripts/setup installs it); missing is a failure.
"""

from __future__ import annotations

import math
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from stack import free_port, stop_process
from support import chat_body, required_program, stream_raw, stream_then_disconnect, unique, wait_until

REPO = Path(__file__).resolve().parents[2]
MONITORING = REPO / "monitoring"
CHAT_ROUTE = "/v1/chat/completions"


def scrape(stack) -> httpx.Response:
    resp = stack.get("/metrics")
    assert resp.status_code == 200, resp.text[:500]
    return resp


def scrape_once_counted(stack, name: str, **labels) -> str:
    """The exposition text once ``name`` (with ``labels``) has a sample above zero. A request is counted when
    its CLI has exited, which may be just after the client has its whole answer."""
    text = ""

    def counted():
        nonlocal text
        text = scrape(stack).text
        return (sample(text, name, **labels) or 0) > 0
    assert wait_until(counted, 10), f"no {name}{labels} in:\n{text}"
    return text


def sample(text: str, name: str, **labels) -> float | None:
    """The value of the one series ``name`` whose labels include ``labels`` (exact text match), or None."""
    found = []
    for line in text.splitlines():
        if line.startswith("#") or not (line.startswith(name + "{") or line.startswith(name + " ")):
            continue
        series, value = line.rsplit(" ", 1)
        if all(f'{key}="{val}"' in series for key, val in labels.items()):
            found.append(float(value))
    return found[0] if len(found) == 1 else None


# -- the exposition text ------------------------------------------------------------------------------


def test_metrics_pass_promtool_check_metrics(real_stack, claude_model):
    assert stream_raw(real_stack, chat_body(unique("metrics"), claude_model, stream=True)).done
    scrape_once_counted(real_stack, "claude_code_api_time_to_first_token_seconds_count", model=claude_model)
    resp = scrape(real_stack)
    assert resp.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    promtool = required_program("promtool", "prometheus")
    result = subprocess.run([promtool, "check", "metrics"], input=resp.text, capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0, f"promtool check metrics:\n{result.stdout}{result.stderr}"
    assert result.stdout.strip() == "" and result.stderr.strip() == "", result.stdout + result.stderr
    for family in ("requests_total", "request_duration_seconds", "time_to_first_token_seconds", "requests_in_flight",
                   "requests_queued", "cli_slots_busy", "cli_slots_max", "cli_processes", "cli_resident_memory_bytes",
                   "cli_exits_total", "tokens_total", "rejected_requests_total", "cli_available", "build_info",
                   "cli_turns_total", "pool_idle_clis"):
        assert f"# TYPE claude_code_api_{family} " in resp.text, family
    assert sample(resp.text, "claude_code_api_cli_available") == 1
    version = real_stack.get("/health").json()["cli"]["version"]
    assert sample(resp.text, "claude_code_api_build_info", cli_version=version) == 1


def test_no_label_carries_a_key_a_prompt_or_a_request_id(real_stack, claude_model):
    """Requests without a key of the service's own count their tokens under key="none"."""
    prompt = unique("secret-prompt")
    client_key = unique("sk-client")
    with httpx.Client(timeout=60) as client:
        resp = client.post(real_stack.base_url + "/v1/chat/completions", json=chat_body(prompt, claude_model),
                           headers={"Authorization": f"Bearer {client_key}"})
    assert resp.status_code == 200, resp.text
    request_id = resp.headers["x-request-id"]
    text = scrape_once_counted(real_stack, "claude_code_api_tokens_total", model=claude_model, key="none", type="output")
    for secret in (prompt, client_key, request_id, real_stack.env["ANTHROPIC_API_KEY"]):
        assert secret not in text, secret


def test_a_running_cli_shows_as_a_process_with_memory_and_a_busy_slot(real_stack, claude_model):
    seen = {}

    def while_open():
        def running():
            text = scrape(real_stack).text
            seen.update(processes=sample(text, "claude_code_api_cli_processes"),
                        rss=sample(text, "claude_code_api_cli_resident_memory_bytes"),
                        busy=sample(text, "claude_code_api_cli_slots_busy"))
            return seen["processes"] >= 1 and seen["busy"] >= 1
        assert wait_until(running, 10), seen

    before = sample(scrape(real_stack).text, "claude_code_api_cli_exits_total", cause="disconnect")
    stream_then_disconnect(real_stack, chat_body(f"MOCK:slow MOCK:long {unique('rss')}", claude_model, stream=True),
                           while_open=lambda stream: while_open())
    assert seen["rss"] > 20 * 1024 * 1024, seen  # the real CLI is a runtime of some size

    def ended():
        text = scrape(real_stack).text
        return (sample(text, "claude_code_api_cli_processes") == 0
                and sample(text, "claude_code_api_cli_exits_total", cause="disconnect") == before + 1)
    assert wait_until(ended, 10), scrape(real_stack).text


# -- a real Prometheus --------------------------------------------------------------------------------


class Prometheus:
    """Debian's prometheus on 127.0.0.1, its data in ``folder``, scraping ``target`` (host:port) every second
    under job claude-code-api, with monitoring/alerts.yml loaded."""

    def __init__(self, folder: Path, target: str):
        self.binary = required_program("prometheus", "prometheus")
        self.folder = folder
        self.target = target
        self.proc: subprocess.Popen | None = None
        self.port: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Prometheus":
        config = self.folder / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            f"rule_files:\n  - {MONITORING / 'alerts.yml'}\n"
            "scrape_configs:\n  - job_name: claude-code-api\n    metrics_path: /metrics\n"
            f"    static_configs:\n      - targets: ['{self.target}']\n")
        for _ in range(3):  # a port taken between free_port() and prometheus's bind gets another try
            self.port = free_port()
            log = open(self.folder / "prometheus.log", "wb")
            self.proc = subprocess.Popen(
                [self.binary, f"--config.file={config}", f"--storage.tsdb.path={self.folder / 'data'}",
                 f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            log.close()
            if wait_until(self._ready, 30):
                return self
            self.stop()
        raise AssertionError(f"prometheus did not start:\n{self.log()[-3000:]}")

    def _ready(self) -> bool:
        if self.proc.poll() is not None:
            return True  # ended: wait no longer (start() sees it is not ready)
        try:
            return httpx.get(self.url + "/-/ready", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def log(self) -> str:
        return (self.folder / "prometheus.log").read_text(errors="replace")

    def query(self, expr: str) -> list[dict]:
        resp = httpx.get(self.url + "/api/v1/query", params={"query": expr}, timeout=10)
        assert resp.status_code == 200 and resp.json()["status"] == "success", resp.text
        return resp.json()["data"]["result"]

    def value(self, expr: str) -> float | None:
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else None

    def rules(self) -> dict[str, dict]:
        """The loaded rules by name, with their health ("unknown" until first evaluated, then "ok" or "err")."""
        groups = httpx.get(self.url + "/api/v1/rules", timeout=10).json()["data"]["groups"]
        return {rule["name"]: rule for group in groups for rule in group["rules"]}

    def stop(self):
        stop_process(self.proc, signal.SIGTERM, timeout=10)


@pytest.fixture
def prometheus(real_stack, tmp_path):
    server = Prometheus(tmp_path, f"127.0.0.1:{real_stack.port}").start()
    yield server
    server.stop()


def test_prometheus_scrapes_through_nginx_and_sees_requests_and_ttft_move(prometheus, real_stack, claude_model):
    assert prometheus.proc.poll() is None and wait_until(lambda: prometheus.value('up{job="claude-code-api"}') == 1, 30), \
        prometheus.query("up") or prometheus.log()[-2000:]
    requests = f'sum(claude_code_api_requests_total{{route="{CHAT_ROUTE}",status_class="2xx"}})'
    ttft = "sum(claude_code_api_time_to_first_token_seconds_count)"
    # Scraped at least once with the current values: the baseline.
    wait_until(lambda: prometheus.value("count(claude_code_api_requests_total)") is not None, 10)
    before = (prometheus.value(requests) or 0, prometheus.value(ttft) or 0)
    for i in range(3):
        assert stream_raw(real_stack, chat_body(unique(f"prom{i}"), claude_model, stream=True)).done
    assert wait_until(lambda: (prometheus.value(requests) or 0) >= before[0] + 3
                      and (prometheus.value(ttft) or 0) >= before[1] + 3, 30), \
        (before, prometheus.value(requests), prometheus.value(ttft))
    median = prometheus.value("histogram_quantile(0.5, sum by (le) (claude_code_api_time_to_first_token_seconds_bucket))")
    assert median is not None and math.isfinite(median) and 0 < median < 60, median
    # The alert rules load and evaluate in a real Prometheus too, and none fires (or is pending) on a healthy stack.
    rules = prometheus.rules()
    assert set(rules) == {"ClaudeCodeAPIDown", "ClaudeCodeAPICLIUnavailable", "ClaudeCodeAPIHighErrorRate",
                          "ClaudeCodeAPISlowFirstToken", "ClaudeCodeAPICapacityExhausted"}, rules
    assert wait_until(lambda: all(rule["health"] == "ok" for rule in prometheus.rules().values()), 10), prometheus.rules()
    assert prometheus.query("ALERTS") == []


# -- the alert rules ----------------------------------------------------------------------------------


def test_alert_rules_pass_promtool_check_rules():
    promtool = required_program("promtool", "prometheus")
    result = subprocess.run([promtool, "check", "rules", str(MONITORING / "alerts.yml")], capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 5 rules found" in result.stdout, result.stdout


def test_alert_rules_pass_their_unit_tests():
    promtool = required_program("promtool", "prometheus")
    result = subprocess.run([promtool, "test", "rules", str(MONITORING / "alerts.test.yml")], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout, result.stdout
