#!/usr/bin/env python3
"""`make soak`: the gateway under a burst and under volume, with leak checks. Loopback only.

Phase 1, burst: nginx + the responder with the REAL CLI against the mock Anthropic API, 4 CLI slots,
16 workers, 250 ms queue timeout. Each round fires 3x the slots (12) streaming requests at once, each
with its own prompt. Every answer must be either the complete stream of its own prompt (the mock echoes
it; `data: [DONE]` last; no other prompt's text inside) or a 429 with Retry-After and an OpenAI error.
No 5xx, no mixed content. Reports the counts and the 429 latency.

Phase 2, volume: the same stack with the fake CLI (Tests/Integration/fake_claude.py), SOAK_REQUESTS
requests (default 10,000) at SOAK_CONCURRENCY (default 8) at once: streaming and non-streaming answers,
FAKE:error-429, FAKE:crash, FAKE:garbage, and clients that leave mid-stream. Samples the responder's RSS
and open descriptors before, every 1,000 requests and after (once idle again), and checks that they are
flat (RSS growth < SOAK_MAX_RSS_GROWTH_MIB, default 20; descriptors back to the idle count), that no
child process and no `cca-*` scratch folder is left, and that every answer was the expected one.

Phase 3, pool: the real CLI with the warm pool on (CCA_POOL_SIZE=4, 4 CLI slots, CCA_POOL_MAX_USES=25), SOAK_POOL_REQUESTS
(default 200) mixed requests at 4 at once: streaming and not, system prompts and histories that change, stop-sequence
cuts, upstream errors (MOCK:529) and clients that leave mid-stream. Every answer must be its own prompt's; every
upstream request must carry only its own request's text. Afterwards the only children are the idle pooled CLIs (one
scratch folder each), and after SIGTERM no process and no folder is left.

Exits 1 on any violation. Every process it starts is stopped at the end.

env: CLAUDE_BIN (the CLI), CCA_BIN (the responder), SOAK_REQUESTS, SOAK_CONCURRENCY, SOAK_BURST_ROUNDS (5),
     SOAK_MAX_RSS_GROWTH_MIB, SOAK_KEEP_TMP=1 (keep the run folder: logs, nginx config)
"""
from __future__ import annotations

import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "Tests" / "Integration"))
from mock_anthropic import MockAnthropic  # noqa: E402
from stack import Stack, install_fake_cli  # noqa: E402

RESPONDER = os.environ.get("CCA_BIN", str(REPO / ".build/release/claude-code-api"))
REQUESTS = int(os.environ.get("SOAK_REQUESTS", "10000"))
CONCURRENCY = int(os.environ.get("SOAK_CONCURRENCY", "8"))
BURST_ROUNDS = int(os.environ.get("SOAK_BURST_ROUNDS", "5"))
MAX_RSS_GROWTH_MIB = float(os.environ.get("SOAK_MAX_RSS_GROWTH_MIB", "20"))
SAMPLE_EVERY = 1000
BURST_SLOTS = 4
POOL_REQUESTS = int(os.environ.get("SOAK_POOL_REQUESTS", "200"))
POOL_SIZE = 4
MODEL = "claude-sonnet-4-5"
TIMEOUT = httpx.Timeout(60.0, connect=5.0)

violations: list[str] = []


def violation(message: str):
    violations.append(message)
    print(f"  VIOLATION: {message}", flush=True)


# -- the stack ----------------------------------------------------------------------------------------


def soak_stack(name: str, run_dir: Path, cli: str, mock: MockAnthropic, env: dict) -> Stack:
    """nginx + one responder (16 workers) in <run>/<name>; the run folder is removed by main()."""
    return Stack(cli, mock.url, name=name, binary=RESPONDER, workers=16, log_level="warning", extra_env=env,
                 prefix=run_dir / name, keep_tmp=True)


def sample(stack: Stack) -> dict:
    """The responder's RSS, threads, descriptors and children, and the cca-* folders in its scratch folder."""
    return {**stack.proc_status(), "children": len(stack.children()),
            "scratch": len([p for p in os.listdir(stack.scratch_dir) if p.startswith("cca-")])}


def wait_idle(stack: Stack, fds: int | None, timeout: float = 10.0) -> dict:
    """Waits until no child, no scratch folder and (if given) the idle descriptor count; returns a sample."""
    deadline = time.monotonic() + timeout
    while True:
        s = sample(stack)
        if (not s["children"] and not s["scratch"] and (fds is None or s["fds"] <= fds)) \
                or time.monotonic() > deadline:
            return s
        time.sleep(0.1)


# -- helpers ------------------------------------------------------------------------------------------


def sse_payloads(lines) -> list[str]:
    return [line[5:].lstrip(" ") for line in lines if line.startswith("data:")]


def stream_text(payloads: list[str]) -> tuple[str, list[dict]]:
    """(content text, error events) of SSE payloads ([DONE] excluded)."""
    text, errors = [], []
    for payload in payloads:
        if payload == "[DONE]":
            continue
        event = json.loads(payload)
        if "error" in event:
            errors.append(event)
        for choice in event.get("choices") or []:
            text.append((choice.get("delta") or {}).get("content") or "")
    return "".join(text), errors


def openai_error(resp: httpx.Response, body: bytes) -> dict | None:
    """The error object of an OpenAI error response, or None if the body is not one."""
    if not resp.headers.get("content-type", "").startswith("application/json"):
        return None
    try:
        err = json.loads(body).get("error")
    except (ValueError, AttributeError):
        return None
    if isinstance(err, dict) and all(k in err for k in ("message", "type", "param", "code")):
        return err
    return None


def mib(kib: int) -> str:
    return f"{kib / 1024:.1f}"


# -- phase 1: burst -----------------------------------------------------------------------------------


def burst(run_dir: Path, mock: MockAnthropic) -> dict:
    cli = os.environ["CLAUDE_BIN"]
    stack = soak_stack("burst", run_dir, cli, mock, {"CCA_MAX_CONCURRENT_CLI": str(BURST_SLOTS),
                                                     "CCA_QUEUE_TIMEOUT_MS": "250"})
    n = BURST_SLOTS * 3
    counts = {"ok": 0, "429": 0, "bad": 0}
    latency_429: list[float] = []
    latency_ok: list[float] = []
    started = time.monotonic()
    print(f"\n== burst: real CLI ({cli}) against the mock upstream; {BURST_SLOTS} CLI slots, 16 workers, "
          f"250 ms queue; {BURST_ROUNDS} rounds of {n} concurrent streams", flush=True)
    try:
        stack.start()
        # Warm up (page cache, the CLI's first-run files).
        with httpx.Client(timeout=TIMEOUT) as client:
            client.post(stack.base_url + "/v1/chat/completions",
                        json={"model": MODEL, "messages": [{"role": "user", "content": "warm up"}]})
        idle = wait_idle(stack, None)
        for rnd in range(BURST_ROUNDS):
            prompts = [f"burst round {rnd} client {i} token {uuid.uuid4().hex}" for i in range(n)]
            barrier = threading.Barrier(n)
            results: list[dict] = [{} for _ in range(n)]

            def one(i: int):
                out = results[i]
                with httpx.Client(timeout=TIMEOUT) as client:
                    body = {"model": MODEL, "stream": True, "messages": [{"role": "user", "content": prompts[i]}]}
                    client.get(stack.base_url + "/health")  # open the connection before the barrier
                    barrier.wait(timeout=30)
                    t0 = time.perf_counter()
                    try:
                        with client.stream("POST", stack.base_url + "/v1/chat/completions", json=body) as resp:
                            out["status"] = resp.status_code
                            out["headers"] = resp.headers
                            out["t_status"] = time.perf_counter() - t0
                            if resp.headers.get("content-type", "").startswith("text/event-stream"):
                                out["payloads"] = sse_payloads(resp.iter_lines())
                            else:
                                out["body"] = resp.read()
                    except httpx.HTTPError as err:
                        out["error"] = repr(err)
                    out["t_end"] = time.perf_counter() - t0

            threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(n)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=90)
            round_ok = round_429 = 0
            for i, out in enumerate(results):
                prompt, others = prompts[i], [p for j, p in enumerate(prompts) if j != i]
                what = f"round {rnd} client {i}"
                if "error" in out or "status" not in out:
                    violation(f"{what}: no answer ({out.get('error', 'timeout')})")
                elif out["status"] == 200 and "payloads" in out:
                    payloads = out["payloads"]
                    raw = "\n".join(payloads)
                    text, errors = stream_text(payloads)
                    expected = f"Hello from the mock! You said: {prompt}"
                    mixed = [p for p in others if p.split()[-1] in raw]
                    if mixed:
                        violation(f"{what}: another prompt's text in the stream: {mixed[:2]}")
                    elif not payloads or payloads[-1] != "[DONE]":
                        violation(f"{what}: stream without [DONE]: {payloads[-2:]}")
                    elif errors or text != expected:
                        violation(f"{what}: wrong stream: text={text!r} errors={errors}")
                    else:
                        round_ok += 1
                        latency_ok.append(out["t_end"])
                        continue
                elif out["status"] == 429:
                    err = openai_error(httpx.Response(429, headers=out["headers"]), out.get("body", b""))
                    if not out["headers"].get("retry-after"):
                        violation(f"{what}: 429 without Retry-After")
                    elif err is None or err["type"] != "rate_limit_error":
                        violation(f"{what}: 429 without an OpenAI rate_limit_error body: {out.get('body', b'')[:200]!r}")
                    else:
                        round_429 += 1
                        latency_429.append(out["t_end"])
                        continue
                else:
                    violation(f"{what}: HTTP {out['status']}: {out.get('body', b'')[:200]!r}")
                counts["bad"] += 1
            counts["ok"] += round_ok
            counts["429"] += round_429
            print(f"  round {rnd + 1}: {round_ok} complete streams, {round_429} x 429", flush=True)
            after = wait_idle(stack, idle["fds"])
            if after["children"] or after["scratch"]:
                violation(f"round {rnd}: left behind {after['children']} children, {after['scratch']} scratch folders")
        if counts["ok"] < BURST_ROUNDS * BURST_SLOTS:
            violation(f"only {counts['ok']} complete streams in {BURST_ROUNDS} rounds: every round should fill "
                      f"the {BURST_SLOTS} slots")
        if not latency_429:
            violation("no 429 at 3x capacity: the slot limit did not hold")
    finally:
        stack.close()
    total = BURST_ROUNDS * n
    report = {"requests": total, **counts, "seconds": time.monotonic() - started}
    print(f"  burst: {total} requests -> {counts['ok']} complete streams of their own prompt, {counts['429']} x 429 "
          f"(Retry-After + rate_limit_error), {counts['bad']} other (5xx, mixed, cut: must be 0)")
    if latency_429:
        print(f"  429 latency: median {statistics.median(latency_429) * 1000:.0f} ms, "
              f"max {max(latency_429) * 1000:.0f} ms (queue timeout 250 ms)")
    if latency_ok:
        print(f"  complete stream latency: median {statistics.median(latency_ok) * 1000:.0f} ms, "
              f"max {max(latency_ok) * 1000:.0f} ms")
    report["latency_429"] = latency_429
    return report


# -- phase 2: volume ----------------------------------------------------------------------------------

KINDS = [  # (kind, weight)
    ("stream", 35), ("json", 27), ("error-429", 8), ("crash", 8), ("garbage", 10), ("disconnect", 12),
]


def plan(count: int) -> list[tuple[str, bool]]:
    rng = random.Random(20261126)
    names = [k for k, _ in KINDS]
    weights = [w for _, w in KINDS]
    out = []
    for _ in range(count):
        kind = rng.choices(names, weights)[0]
        stream = True if kind in ("stream", "disconnect") else False if kind == "json" else rng.random() < 0.5
        out.append((kind, stream))
    return out


_local = threading.local()


def client() -> httpx.Client:
    c = getattr(_local, "client", None)
    if c is None:
        c = _local.client = httpx.Client(timeout=TIMEOUT)
    return c


def volume_request(url: str, kind: str, stream: bool) -> str | None:
    """Sends one request; returns None when the answer is the expected one, else what was wrong."""
    marker = {"error-429": "FAKE:error-429 ", "crash": "FAKE:crash ", "garbage": "FAKE:garbage ",
              "disconnect": "FAKE:slow "}.get(kind, "")
    prompt = f"{marker}soak {uuid.uuid4().hex}"
    expected = f"Fake answer to: {prompt}"
    body = {"model": MODEL, "stream": stream, "messages": [{"role": "user", "content": prompt}]}
    label = f"{kind}/{'stream' if stream else 'json'}"
    try:
        if not stream:
            resp = client().post(url + "/v1/chat/completions", json=body)
            if kind in ("json", "garbage"):
                if resp.status_code != 200 or resp.json()["choices"][0]["message"]["content"] != expected:
                    return f"{label}: HTTP {resp.status_code} {resp.text[:200]}"
            elif kind == "error-429":
                err = openai_error(resp, resp.content)
                if resp.status_code != 429 or not resp.headers.get("retry-after") or not err:
                    return f"{label}: HTTP {resp.status_code} {resp.text[:200]}"
            elif kind == "crash":
                err = openai_error(resp, resp.content)
                if resp.status_code != 502 or not err:
                    return f"{label}: HTTP {resp.status_code} {resp.text[:200]}"
            return None

        with client().stream("POST", url + "/v1/chat/completions", json=body) as resp:
            is_sse = resp.headers.get("content-type", "").startswith("text/event-stream")
            if kind == "disconnect":
                if resp.status_code != 200 or not is_sse:
                    return f"{label}: HTTP {resp.status_code}"
                for line in resp.iter_lines():
                    if line.startswith("data:") and '"content":"' in line and '"content":""' not in line:
                        break  # leave mid-stream: the response is closed unread
                else:
                    return f"{label}: the stream ended before any content"
                return None
            if kind == "error-429":
                data = resp.read()
                err = openai_error(resp, data)
                if resp.status_code != 429 or not resp.headers.get("retry-after") or not err:
                    return f"{label}: HTTP {resp.status_code} {data[:200]!r}"
                return None
            if resp.status_code != 200 or not is_sse:
                return f"{label}: HTTP {resp.status_code} {resp.read()[:200]!r}"
            payloads = sse_payloads(resp.iter_lines())
        text, errors = stream_text(payloads)
        done = bool(payloads) and payloads[-1] == "[DONE]"
        if kind in ("stream", "garbage"):
            if not done or errors or text != expected:
                return f"{label}: done={done} errors={errors} text={text!r}"
        elif kind == "crash":
            if not done or not errors or not expected.startswith(text):
                return f"{label}: done={done} errors={errors} text={text!r}"
        return None
    except (httpx.HTTPError, ValueError, KeyError) as err:
        _local.client = None
        return f"{label}: {err!r}"


def volume(run_dir: Path, mock: MockAnthropic) -> dict:
    cli = install_fake_cli(run_dir / "fakecli")
    stack = soak_stack("volume", run_dir, cli, mock, {"CCA_MAX_CONCURRENT_CLI": "16"})
    jobs = plan(REQUESTS)
    tally: dict[str, int] = {}
    for kind, stream in jobs:
        key = f"{kind}/{'stream' if stream else 'json'}"
        tally[key] = tally.get(key, 0) + 1
    print(f"\n== volume: fake CLI, {REQUESTS} requests, {CONCURRENCY} at once; mix: "
          + ", ".join(f"{k} {v}" for k, v in sorted(tally.items())), flush=True)
    samples: list[tuple[str, dict]] = []
    failures: list[str] = []
    started = time.monotonic()
    try:
        stack.start()
        # Warm up every path once, then take the idle baseline.
        for kind, stream in [(k, s) for k, _ in KINDS for s in (True, False)]:
            volume_request(stack.base_url, kind, stream)
        before = wait_idle(stack, None, timeout=5)
        time.sleep(1.0)
        before = sample(stack)
        samples.append(("before", before))
        print(f"  {'at':>7} | RSS MiB | fds | threads | children | scratch | req/s", flush=True)
        print(f"  {'before':>7} | {mib(before['rss_kib']):>7} | {before['fds']:>3} | {before['threads']:>7} | "
              f"{before['children']:>8} | {before['scratch']:>7} |", flush=True)
        done_count = 0
        with ThreadPoolExecutor(CONCURRENCY) as pool:
            for start in range(0, REQUESTS, SAMPLE_EVERY):
                chunk = jobs[start:start + SAMPLE_EVERY]
                t0 = time.monotonic()
                for problem in pool.map(lambda job: volume_request(stack.base_url, *job), chunk):
                    if problem:
                        failures.append(problem)
                done_count += len(chunk)
                rate = len(chunk) / (time.monotonic() - t0)
                if stack.responder.poll() is not None:
                    violation(f"the responder exited with {stack.responder.returncode} after {done_count} requests")
                    break
                s = sample(stack)
                samples.append((str(done_count), s))
                print(f"  {done_count:>7} | {mib(s['rss_kib']):>7} | {s['fds']:>3} | {s['threads']:>7} | "
                      f"{s['children']:>8} | {s['scratch']:>7} | {rate:5.1f}", flush=True)
        # Settle: the last CLIs ended and reaped, their folders removed.
        after = wait_idle(stack, before["fds"], timeout=10)
        time.sleep(1.0)
        after = sample(stack)
        samples.append(("after", after))
        print(f"  {'after':>7} | {mib(after['rss_kib']):>7} | {after['fds']:>3} | {after['threads']:>7} | "
              f"{after['children']:>8} | {after['scratch']:>7} |", flush=True)
        leftover_dirs = [p for p in os.listdir(stack.scratch_dir) if p.startswith("cca-")]

        growth = (after["rss_kib"] - before["rss_kib"]) / 1024
        peak = max(s["rss_kib"] for _, s in samples) / 1024
        print(f"  RSS {mib(before['rss_kib'])} -> {mib(after['rss_kib'])} MiB ({growth:+.1f} MiB, peak {peak:.1f}); "
              f"descriptors {before['fds']} -> {after['fds']}; children left {after['children']}; "
              f"cca-* scratch folders left {len(leftover_dirs)}")
        print(f"  unexpected answers: {len(failures)} of {done_count}")
        for problem in failures[:10]:
            print(f"    {problem}")
        if failures:
            violation(f"{len(failures)} of {done_count} volume requests got an unexpected answer")
        if growth >= MAX_RSS_GROWTH_MIB:
            violation(f"responder RSS grew {growth:.1f} MiB over {done_count} requests (limit {MAX_RSS_GROWTH_MIB})")
        if after["fds"] != before["fds"]:
            violation(f"open descriptors {before['fds']} idle before, {after['fds']} after")
        if after["children"]:
            violation(f"{after['children']} child processes of the responder left: {stack.children()}")
        if leftover_dirs:
            violation(f"{len(leftover_dirs)} cca-* scratch folders left in {stack.scratch_dir}: {leftover_dirs[:5]}")
        if stack.responder.poll() is not None:
            violation(f"the responder is gone (exit {stack.responder.returncode})")
    finally:
        stack.close()
    return {"requests": REQUESTS, "failures": len(failures), "samples": samples,
            "seconds": time.monotonic() - started}


# -- phase 3: the warm pool -----------------------------------------------------------------------------

POOL_KINDS = [("stream", 30), ("json", 25), ("system", 15), ("history", 10), ("stop", 8), ("error", 6), ("disconnect", 6)]


def pool_request(url: str, kind: str, token: str) -> str | None:
    """One request of the pool phase; returns None when the answer is the expected one, else what was wrong."""
    prompt = f"{'MOCK:529 ' if kind == 'error' else 'MOCK:slow MOCK:long ' if kind == 'disconnect' else ''}pool {token}"
    messages = [{"role": "user", "content": prompt}]
    if kind == "system":
        messages.insert(0, {"role": "system", "content": f"Persona {token[:2]}."})
    if kind == "history":
        messages = [{"role": "user", "content": f"before {token}"}, {"role": "assistant", "content": "noted"}] + messages
    body = {"model": MODEL, "stream": kind in ("stream", "disconnect"), "messages": messages}
    if kind == "stop":
        body["stop"] = ["said"]
    expected = {"stop": "Hello from the mock! You "}.get(kind, f"Hello from the mock! You said: {prompt}")
    try:
        if not body["stream"]:
            resp = client().post(url + "/v1/chat/completions", json=body)
            if kind == "error":
                return None if resp.status_code == 503 and openai_error(resp, resp.content) else f"error: HTTP {resp.status_code}"
            if resp.status_code != 200 or resp.json()["choices"][0]["message"]["content"] != expected:
                return f"{kind}: HTTP {resp.status_code} {resp.text[:200]}"
            return None
        with client().stream("POST", url + "/v1/chat/completions", json=body) as resp:
            if resp.status_code != 200:
                return f"{kind}: HTTP {resp.status_code}"
            if kind == "disconnect":
                for line in resp.iter_lines():
                    if line.startswith("data:") and '"content":"' in line and '"content":""' not in line:
                        return None  # leave mid-stream
                return "disconnect: the stream ended before any content"
            payloads = sse_payloads(resp.iter_lines())
        text, errors = stream_text(payloads)
        if not payloads or payloads[-1] != "[DONE]" or errors or text != expected:
            return f"{kind}: errors={errors} text={text!r}"
        return None
    except (httpx.HTTPError, ValueError, KeyError) as err:
        _local.client = None
        return f"{kind}: {err!r}"


def pool_status(stack: Stack) -> dict:
    return httpx.get(stack.base_url + "/status", timeout=10).json()["pool"]


def pool_phase(run_dir: Path, mock: MockAnthropic) -> dict:
    cli = os.environ["CLAUDE_BIN"]
    stack = soak_stack("pool", run_dir, cli, mock, {"CCA_POOL_SIZE": str(POOL_SIZE), "CCA_MAX_CONCURRENT_CLI": "4",
                                                    "CCA_POOL_MAX_USES": "25", "CCA_QUEUE_TIMEOUT_MS": "10000"})
    rng = random.Random(20261201)
    jobs = [(rng.choices([k for k, _ in POOL_KINDS], [w for _, w in POOL_KINDS])[0], uuid.uuid4().hex) for _ in range(POOL_REQUESTS)]
    started = time.monotonic()
    print(f"\n== pool: real CLI, pool of {POOL_SIZE}, 4 slots; {POOL_REQUESTS} mixed requests, 4 at once", flush=True)
    try:
        stack.start()
        mock.reset()
        with ThreadPoolExecutor(max_workers=4) as executor:
            failures = [f for f in executor.map(lambda job: pool_request(stack.base_url, *job), jobs) if f]
        for failure in failures[:20]:
            violation(f"pool: {failure}")
        # Each upstream request carries one request's token and no other's.
        tokens = [token for _, token in jobs]
        for record in mock.message_requests():
            text = json.dumps(record.get("body", {}).get("messages"))
            found = [t for t in tokens if t in text]
            if len(found) != 1:
                violation(f"pool: an upstream request carried {len(found)} requests' text: {found[:3]}")
                break
        status = pool_status(stack)
        print(f"  pool: served {status['served_warm']} never-used, {status['served_reused']} reused, "
              f"{status['served_cold']} cold; {status['retired']} retired; {len(failures)} wrong answers")
        if status["served_warm"] + status["served_reused"] < POOL_REQUESTS // 2:
            violation(f"pool: fewer than half the requests were served warm: {status}")
        settled = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            status = pool_status(stack)
            s = sample(stack)
            idle = status["idle_fresh"] + status["idle_used"]
            if status["busy"] == 0 and status["starting"] == 0 and idle == POOL_SIZE and s["children"] == idle and s["scratch"] == idle:
                settled = s
                break
            time.sleep(0.2)
        if settled is None:
            violation(f"pool: did not settle at {POOL_SIZE} idle CLIs with one folder each: {pool_status(stack)} {sample(stack)}")
        pids = [p.pid for p in stack.children()]
        stack.responder.send_signal(15)
        stack.responder.wait(timeout=20)
        left = [pid for pid in pids if os.path.exists(f"/proc/{pid}")]
        folders = [p for p in os.listdir(stack.scratch_dir) if p.startswith("cca-")]
        if left or folders:
            violation(f"pool: after SIGTERM {len(left)} CLIs and {len(folders)} folders were left")
    finally:
        stack.close()
    return {"requests": POOL_REQUESTS, "seconds": time.monotonic() - started}


def main() -> int:
    if "CLAUDE_BIN" not in os.environ:
        print("set CLAUDE_BIN to the real Claude Code CLI (make soak does)", file=sys.stderr)
        return 2
    t0 = time.monotonic()
    mock = MockAnthropic().start()
    run_dir = Path(tempfile.mkdtemp(prefix="cca-soak-"))
    run_dir.chmod(0o755)
    try:
        b = burst(run_dir, mock)
        v = volume(run_dir, mock)
        p = pool_phase(run_dir, mock)
    finally:
        mock.stop()
        if os.environ.get("SOAK_KEEP_TMP"):
            print(f"run folder kept: {run_dir}")
        else:
            shutil.rmtree(run_dir, ignore_errors=True)
    print(f"\nsoak: burst {b['seconds']:.0f} s, volume {v['seconds']:.0f} s, pool {p['seconds']:.0f} s, "
          f"total {time.monotonic() - t0:.0f} s")
    if violations:
        print(f"FAILED: {len(violations)} violation(s)")
        for v_ in violations[:20]:
            print(f"  - {v_}")
        return 1
    print("OK: no violation")
    return 0


if __name__ == "__main__":
    sys.exit(main())
