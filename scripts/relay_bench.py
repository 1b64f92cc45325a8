#!/usr/bin/env python3
"""The relay's cost per streamed event: a flood of text deltas through nginx and the responder, to one client.

A stand-in CLI (written into the stack's folder) prints EVENTS `text_delta` stream events of 4 characters, shaped
like the real CLI's lines (shared/claude-cli/samples), one write() per line as fast as it can, between a real
turn's opening and closing lines. One httpx client streams the answer through nginx and checks that it got every
delta, in order. Figures of one run:

  events_per_second          deltas / time from the first body byte to the end of the stream
  cpu_us_per_event           responder utime+stime over the request (/proc/PID/stat) / deltas
  rss_start_kb               responder VmRSS once it has started
  rss_idle_kb                VmRSS after start and one small streamed request
  rss_peak_during_stream_kb  the highest VmRSS sampled (every 2 ms) during the flood

Importable: ``measure_relay(responder_bin, events=100_000) -> dict``. As a script it runs RELAY_RUNS (default 5)
runs, each on a fresh stack, and prints every run and the medians.

    .venv/bin/python scripts/relay_bench.py [--events N] [--runs N] [--surface chat|messages|responses] [BIN]

env: CCA_BIN (the responder; default the release build), RELAY_RUNS
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "Tests" / "Integration"))
from stack import Stack  # noqa: E402
from support import PeakRSS, proc_cpu_seconds, proc_status  # noqa: E402

MODEL = "claude-sonnet-4-5"
WARM_UP_EVENTS = 100
SURFACES = {
    "chat": "/v1/chat/completions",
    "messages": "/v1/messages",
    "responses": "/v1/responses",
}

# The stand-in CLI. The number of deltas is the prompt ("events=N"); `--version` answers the start-up probe.
FLOOD_CLI = r'''
import json, os, sys
if "--version" in sys.argv[1:]:
    print("2.1.332 (Claude Code)")
    sys.exit(0)
line = sys.stdin.readline()
try:
    text = json.loads(line)["message"]["content"][0]["text"]
except (ValueError, KeyError, IndexError, TypeError):
    text = ""
count = int(text.split("events=", 1)[1].split()[0]) if "events=" in text else 1
session = "9d6ea14e-7081-4c8c-9496-0379d28bcba2"
message = "msg_relay_bench_0000000000000"
tail = ',"session_id":"%s","parent_tool_use_id":null,"uuid":"%%s","api_message_id":"%s"}' % (session, message)
def stream(event, n):
    return '{"type":"stream_event","event":' + json.dumps(event, separators=(",", ":")) + tail % uid(n)
def uid(n):
    return "35a40361-593c-4ad2-9add-%012x" % n
pieces = ["%04d" % (n % 10000) for n in range(count)]
answer = "".join(pieces)
lines = [json.dumps({"type": "system", "subtype": "init", "session_id": session, "tools": [], "mcp_servers": [],
                     "model": "claude-sonnet-4-5", "claude_code_version": "2.1.332", "uuid": uid(0)}),
         stream({"type": "message_start", "message": {"id": message, "type": "message", "role": "assistant",
                 "model": "claude-sonnet-4-5", "content": [], "stop_reason": None,
                 "usage": {"input_tokens": 10, "output_tokens": 1}}}, 1),
         stream({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}, 2)]
prefix = '{"type":"stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"'
lines += [prefix + piece + '"}}' + tail % uid(n) for n, piece in enumerate(pieces)]
lines += [json.dumps({"type": "assistant", "message": {"id": message, "model": "claude-sonnet-4-5", "role": "assistant",
                      "content": [{"type": "text", "text": answer}]}, "session_id": session, "uuid": uid(3)}),
          stream({"type": "content_block_stop", "index": 0}, 4),
          stream({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                  "usage": {"output_tokens": count}}, 5),
          stream({"type": "message_stop"}, 6),
          json.dumps({"type": "result", "subtype": "success", "is_error": False, "result": answer,
                      "stop_reason": "end_turn", "session_id": session,
                      "usage": {"input_tokens": 10, "output_tokens": count}})]
out = sys.stdout.fileno()
for line in lines:
    data = (line + "\n").encode()
    while data:
        data = data[os.write(out, data):]
'''


def install_flood_cli(folder: Path) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "claude"
    path.write_text(f"#!{sys.executable}\n{FLOOD_CLI}")
    path.chmod(0o755)
    return str(path)


def request_body(surface: str, events: int) -> dict:
    prompt = f"events={events}"
    if surface == "responses":
        return {"model": MODEL, "stream": True, "input": prompt}
    body = {"model": MODEL, "stream": True, "messages": [{"role": "user", "content": prompt}]}
    if surface == "messages":
        body["max_tokens"] = 1024
    return body


def streamed_text(surface: str, body: bytes) -> tuple[list[str], bool]:
    """The text deltas of an SSE body, and whether it ended as a finished stream should."""
    deltas, finished = [], False
    for event in body.split(b"\n\n"):
        for line in event.split(b"\n"):
            if not line.startswith(b"data: "):
                continue
            data = line[6:]
            if data == b"[DONE]":
                finished = True
                continue
            value = json.loads(data)
            if surface == "chat":
                for choice in value.get("choices", []):
                    content = choice.get("delta", {}).get("content")
                    if content:
                        deltas.append(content)
            elif surface == "messages":
                if value.get("type") == "content_block_delta" and value["delta"].get("type") == "text_delta":
                    deltas.append(value["delta"]["text"])
                finished = finished or value.get("type") == "message_stop"
            else:
                if value.get("type") == "response.output_text.delta":
                    deltas.append(value["delta"])
                finished = finished or value.get("type") == "response.completed"
    return deltas, finished


def stream_once(client: httpx.Client, surface: str, events: int) -> tuple[bytes, float]:
    """Streams one answer; returns its body and the time from its first byte to its end."""
    parts, first = [], None
    with client.stream("POST", SURFACES[surface], json=request_body(surface, events)) as response:
        if response.status_code != 200:
            raise RuntimeError(f"{SURFACES[surface]} answered {response.status_code}: {response.read()[:500]!r}")
        for part in response.iter_raw(1 << 16):
            if first is None:
                first = time.perf_counter()
            parts.append(part)
    return b"".join(parts), time.perf_counter() - (first or time.perf_counter())


def measure_relay(responder_bin: str | Path, events: int = 100_000, *, surface: str = "chat",
                  workers: int | None = None, extra_env: dict | None = None) -> dict:
    """One run on a fresh stack (nginx + the responder + the flood CLI). See the module's docstring."""
    if surface not in SURFACES:
        raise ValueError(f"surface must be one of {sorted(SURFACES)}")
    with tempfile.TemporaryDirectory(prefix="cca-relay-") as folder:
        cli = install_flood_cli(Path(folder))
        # The responder's own defaults (32 workers unless given); warnings only, so logging costs nothing.
        env = dict(extra_env or {})
        with Stack(cli, name="relay", binary=responder_bin, workers=workers or 32, log_level="warning",
                   extra_env=env) as stack, \
                httpx.Client(base_url=stack.base_url, timeout=120) as client:
            pid = stack.responder_pid
            time.sleep(0.3)
            rss_start = proc_status(pid)["rss_kib"]
            warm_body, _ = stream_once(client, surface, WARM_UP_EVENTS)
            if len(streamed_text(surface, warm_body)[0]) != WARM_UP_EVENTS:
                raise RuntimeError("the warm-up stream lost deltas")
            time.sleep(0.3)
            rss_idle = proc_status(pid)["rss_kib"]

            with PeakRSS(pid) as sampler:
                cpu_before = proc_cpu_seconds(pid)
                body, seconds = stream_once(client, surface, events)
                time.sleep(0.05)  # the responder's end of request (teardown) belongs to the request
                cpu = proc_cpu_seconds(pid) - cpu_before
            peak = sampler.peak

    deltas, finished = streamed_text(surface, body)
    expected = ["%04d" % (n % 10000) for n in range(events)]
    if "".join(deltas) != "".join(expected) or not finished:
        raise RuntimeError(f"the stream is not the flood: {len(deltas)} deltas of {events}, finished={finished}")
    return {
        "surface": surface,
        "events": events,
        "delivered_events": len(deltas),
        "stream_seconds": round(seconds, 4),
        "events_per_second": round(events / seconds) if seconds > 0 else 0,
        "cpu_us_per_event": round(cpu * 1e6 / events, 2),
        "rss_start_kb": rss_start,
        "rss_idle_kb": rss_idle,
        "rss_peak_during_stream_kb": peak,
        "sse_bytes": len(body),
    }


FIGURES = ["events_per_second", "cpu_us_per_event", "rss_start_kb", "rss_idle_kb", "rss_peak_during_stream_kb"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("binary", nargs="?", default=os.environ.get("CCA_BIN", str(REPO / ".build/release/claude-code-api")))
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=int(os.environ.get("RELAY_RUNS", "5")))
    parser.add_argument("--surface", choices=sorted(SURFACES), default="chat")
    parser.add_argument("--workers", type=int)
    args = parser.parse_args()

    runs = []
    for _ in range(args.runs):
        result = measure_relay(args.binary, args.events, surface=args.surface, workers=args.workers)
        runs.append(result)
        print(json.dumps(result), flush=True)
    print(f"\nrelay bench: {args.events} deltas of 4 characters, {args.surface}, {args.runs} runs (median, min, max)")
    for name in FIGURES:
        values = [run[name] for run in runs]
        print(f"  {name:28} {statistics.median(values):>12} {min(values):>12} {max(values):>12}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
