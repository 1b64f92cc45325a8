#!/usr/bin/env python3
"""`make bench`: latency of the gateway against the bare CLI, side by side, on a local mock Anthropic API.

For each round (interleaved, so both see the same machine state):
  bare     the CLI started directly with the flags and environment the responder uses,
           prompt on stdin; time to the first text delta line and to the result line.
  gateway  the same turn as `POST /v1/chat/completions` through nginx and the responder
           (streaming: time to the first content chunk and to [DONE]; non-streaming: total).
Prints medians, p90 and the gateway/bare ratios, and the responder's RSS and descriptor count
before and after. Loopback only; every process it starts is stopped at the end.

env: CLAUDE_BIN (the CLI), CCA_BIN (the responder), BENCH_ROUNDS (default 15)
"""
from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "Tests" / "Integration"))
from mock_anthropic import MockAnthropic  # noqa: E402
from stack import Stack  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "15"))
CLAUDE = os.environ["CLAUDE_BIN"]
RESPONDER = os.environ.get("CCA_BIN", str(REPO / ".build/release/claude-code-api"))
MODEL = "claude-sonnet-4-5"
PROMPT = "Say hello in a short sentence."
ARGS = ["-p", "--output-format", "stream-json", "--verbose", "--include-partial-messages",
        "--input-format", "stream-json", "--bare", "--tools", "", "--no-session-persistence",
        "--disable-slash-commands", "--strict-mcp-config",
        "--model", MODEL, "--system-prompt", "You are terse."]
# The bare CLI as a person runs it: one HOME kept from run to run (its settings, caches and state persist), not a
# fresh one per run, which is the gateway's own condition and would handicap the baseline the same way.
BARE_HOME = tempfile.mkdtemp(prefix="cca-bench-home-")


def bare_cli(mock_url: str) -> tuple[float, float]:
    scratch = BARE_HOME
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": scratch, "TMPDIR": scratch, "ANTHROPIC_BASE_URL": mock_url,
           "ANTHROPIC_API_KEY": "test-key", "DISABLE_TELEMETRY": "1", "DISABLE_AUTOUPDATER": "1",
           "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "DISABLE_ERROR_REPORTING": "1",
           "CLAUDE_CODE_MAX_RETRIES": "2", "MAX_THINKING_TOKENS": "0"}
    line = json.dumps({"type": "user", "message": {"role": "user", "content": [{"type": "text", "text": PROMPT}]}})
    start = time.perf_counter()
    proc = subprocess.Popen([CLAUDE, *ARGS], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            env=env, cwd=scratch, start_new_session=True)
    proc.stdin.write((line + "\n").encode())
    proc.stdin.close()
    first = None
    for raw in proc.stdout:
        if first is None and b'"text_delta"' in raw:
            first = time.perf_counter() - start
        if raw.startswith(b'{"type":"result"') or b'"type":"result"' in raw:
            break
    total = time.perf_counter() - start
    proc.wait(timeout=10)
    return first or total, total


def gateway_stream(client: httpx.Client) -> tuple[float, float]:
    body = {"model": MODEL, "stream": True, "messages": [{"role": "system", "content": "You are terse."},
                                                         {"role": "user", "content": PROMPT}]}
    start = time.perf_counter()
    first = None
    with client.stream("POST", "/v1/chat/completions", json=body) as response:
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            if first is None and line.startswith("data: ") and '"content":"' in line and '"content":""' not in line:
                first = time.perf_counter() - start
            if line == "data: [DONE]":
                break
    return first, time.perf_counter() - start


def gateway_blocking(client: httpx.Client) -> float:
    body = {"model": MODEL, "messages": [{"role": "system", "content": "You are terse."}, {"role": "user", "content": PROMPT}]}
    start = time.perf_counter()
    response = client.post("/v1/chat/completions", json=body)
    assert response.status_code == 200, response.text
    return time.perf_counter() - start


def summary(name: str, values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    p90 = ms[min(len(ms) - 1, int(round(0.9 * (len(ms) - 1))))]
    return f"| {name} | {statistics.median(ms):.0f} | {p90:.0f} | {ms[0]:.0f} |"


def main() -> int:
    mock = MockAnthropic().start()
    try:
        # The responder's default worker count (32); warnings only, so logging costs nothing.
        with Stack(CLAUDE, mock.url, name="bench", binary=RESPONDER, workers=32, log_level="warning") as stack, \
                httpx.Client(base_url=stack.base_url, timeout=60) as client:
            # Warm up both paths (page cache, first-run files).
            bare_cli(mock.url); gateway_stream(client)
            before = stack.proc_status()

            bare_first, bare_total, gw_first, gw_total, gw_block = [], [], [], [], []
            for _ in range(ROUNDS):
                f, t = bare_cli(mock.url); bare_first.append(f); bare_total.append(t)
                f, t = gateway_stream(client); gw_first.append(f); gw_total.append(t)
                gw_block.append(gateway_blocking(client))
            time.sleep(0.3)
            after = stack.proc_status()
    finally:
        mock.stop()
        shutil.rmtree(BARE_HOME, ignore_errors=True)

    print(f"\nclaude-code-api bench: {ROUNDS} interleaved rounds, mock upstream on loopback, CLI {CLAUDE}")
    print("\n| path | median ms | p90 ms | min ms |\n|---|---|---|---|")
    print(summary("bare CLI: first text delta", bare_first))
    print(summary("gateway (nginx+FastCGI) stream: first content chunk", gw_first))
    print(summary("bare CLI: result line", bare_total))
    print(summary("gateway stream: [DONE]", gw_total))
    print(summary("gateway non-streaming: full response", gw_block))
    ratio = statistics.median(gw_first) / statistics.median(bare_first)
    overhead = (statistics.median(gw_first) - statistics.median(bare_first)) * 1000
    print(f"\ntime to first token, gateway / bare CLI: {ratio:.3f}x ({overhead:+.0f} ms median)")
    print(f"responder RSS: {before['rss_kib']/1024:.1f} MiB before, {after['rss_kib']/1024:.1f} MiB after "
          f"{ROUNDS * 2 + 1} requests; open descriptors: {before['fds']} before, {after['fds']} after")
    return 0


if __name__ == "__main__":
    sys.exit(main())
