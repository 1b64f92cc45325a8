#!/usr/bin/env python3
"""`make bench` (issue 13): the gateway against the bare CLI, on a mock Anthropic API on loopback.

The baseline is the bare CLI as a person runs it: the gateway's flags and environment, one HOME kept from run to
run. Every figure comes from rounds that alternate bare and gateway (bare, gateway, bare, ...), so drift of the
machine falls on both, and each ratio is taken within a round, then its median and range over the rounds.

  cold     TTFT and total, 1, 4 and 16 turns at once: the gateway with the pool off (CCA_POOL_SIZE=0) against as
           many bare CLIs started at once
  fresh    the same through a pool of never-used CLIs (CCA_POOL_MAX_USES=1, pool size >= concurrency, each round
           waits until the pool holds that many idle fresh CLIs)
  reused   the same through CLIs that have served before (a warm-up round first, one API key)
  throughput  requests per second and p50/p90 latency of 10 streaming clients, each sending requests one after
           another for BENCH_THROUGHPUT_SECONDS, against 10 bare CLIs run one after another side by side; pool off
           and on
  relay    events per second and responder CPU per event of one long stream (scripts/relay_bench.py's
           measure_relay), responder RSS idle and during it
  idle     cost of an idle pooled CLI: RSS and PSS (its process group), CPU per idle minute

A warm round counts only if the pool says so (`GET /status`: pool.served_warm grew by the round's turns) and the
CLIs that answered (those that wrote to their pipes, or retired) had (reused) or had not (fresh) served before;
other rounds are reported, never mislabelled. Prints the machine first and a markdown table last (also written,
with every round, as JSON to BENCH_JSON). Loopback only; every process it starts is stopped at the end, also on
Ctrl-C or failure.

env: CLAUDE_BIN (the CLI), CCA_BIN (the responder), BENCH_ROUNDS (10), BENCH_CONCURRENCY (1,4,16),
     BENCH_THROUGHPUT_SECONDS (20), BENCH_IDLE_SECONDS (30), BENCH_MAX_MINUTES (14: past a share of it, each part
     stops after its round in progress), BENCH_JSON (.run/bench.json)
"""
from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable, NamedTuple

import httpx

REPO = Path(__file__).resolve().parents[1]
INTEGRATION = REPO / "Tests" / "Integration"
sys.path.insert(0, str(INTEGRATION))
from stack import Stack, kill_pids, stop_process  # noqa: E402
from support import (ChatStream, chat_body, proc_bytes_written, proc_cpu_seconds,  # noqa: E402
                     proc_pss_kib, proc_status, process_group, wait_until)
sys.path.insert(0, str(REPO / "scripts"))
from relay_bench import measure_relay  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "10"))
CONCURRENCY = [int(n) for n in os.environ.get("BENCH_CONCURRENCY", "1,4,16").split(",")]
THROUGHPUT_SECONDS = float(os.environ.get("BENCH_THROUGHPUT_SECONDS", "20"))
IDLE_SECONDS = float(os.environ.get("BENCH_IDLE_SECONDS", "30"))
JSON_PATH = Path(os.environ.get("BENCH_JSON", REPO / ".run" / "bench.json"))
# The whole run's bound: past a part's share of it, that part stops after the round in progress (at least one).
BUDGET_SECONDS = float(os.environ.get("BENCH_MAX_MINUTES", "14")) * 60
BUDGET_SHARES = {"latency": 0.6, "throughput": 0.85, "relay": 0.95}
THROUGHPUT_ROUNDS = max(1, ROUNDS // 4)
RELAY_RUNS = max(1, min(5, ROUNDS // 2))
RELAY_EVENTS = 100_000
THROUGHPUT_CLIENTS = 10
# CCA_MAX_CONCURRENT_CLI: a slot for every turn the bench runs at once. A slot is free once its CLI has exited, a
# little after the answer ended, so a client's next turn may wait for it briefly (as a bare CLI's next run waits
# for the last to exit): CCA_QUEUE_TIMEOUT_MS makes that a wait, never a 429.
CLI_SLOTS = max(*CONCURRENCY, THROUGHPUT_CLIENTS)
QUEUE_TIMEOUT_MS = 10_000

CLAUDE = os.environ["CLAUDE_BIN"]
RESPONDER = str(Path(os.environ.get("CCA_BIN", REPO / ".build/release/claude-code-api")).resolve())
MODEL = "claude-sonnet-4-5"
SYSTEM = "You are terse."
PROMPT = "Say hello in a short sentence."
WORKERS = 32                  # the responder's default
POOL_MAX_USES = 100           # "normal" reuse for the reused case and the throughput run
POOL_MAX_AGE_SECONDS = 3600   # nothing retires by age during a run
SETTLE_TIMEOUT = 60.0         # a pool that has not refilled by then is reported, and later waits are short
TURN_TIMEOUT = 120.0
# What the bench reads of `GET /status`'s "pool".
POOL_FIELDS = ("size", "idle_fresh", "idle_used", "starting", "served_warm", "served_reused", "served_cold")
SERVED_BYTES = 2048           # a CLI that wrote this much during a round answered in it (an idle one writes nothing)
# The gateway's CLI flags (CLIInvocation.swift) and environment; the system prompt goes in a file, as there.
CLI_FLAGS = ["-p", "--output-format", "stream-json", "--verbose", "--include-partial-messages",
             "--input-format", "stream-json", "--bare", "--tools", "", "--no-session-persistence",
             "--disable-slash-commands", "--strict-mcp-config", "--model", MODEL]
CLI_ENV = {"DISABLE_TELEMETRY": "1", "DISABLE_AUTOUPDATER": "1", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
           "CLAUDE_CODE_DISABLE_ATTACHMENTS": "1", "DISABLE_ERROR_REPORTING": "1", "CLAUDE_CODE_MAX_RETRIES": "2",
           "MAX_THINKING_TOKENS": "0"}


STARTED = time.monotonic()


def say(message: str):
    print(f"[bench +{time.monotonic() - STARTED:.0f}s] {message}", file=sys.stderr, flush=True)


def rounds_within_budget(part: str, count: int):
    """0, 1, ... count-1, ending early once the run has spent ``part``'s share of BUDGET_SECONDS."""
    for index in range(count):
        if index and time.monotonic() - STARTED > BUDGET_SHARES[part] * BUDGET_SECONDS:
            say(f"{part}: stopping after {index} of {count} rounds (BENCH_MAX_MINUTES)")
            return
        yield index


# -- the machine -----------------------------------------------------------------------------------


def machine() -> dict:
    """What the figures were measured on."""
    def first(path: str, prefix: str) -> str:
        with open(path) as f:
            return next((line.split(":", 1)[1].strip() for line in f if line.startswith(prefix)), "?")

    version = subprocess.run([CLAUDE, "--version"], capture_output=True, text=True, timeout=60).stdout.strip()
    commit = subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty"], capture_output=True,
                            text=True, timeout=10).stdout.strip()
    return {"nproc": len(os.sched_getaffinity(0)), "cpu": first("/proc/cpuinfo", "model name"),
            "memory_gib": round(int(first("/proc/meminfo", "MemTotal").split()[0]) / 2**20, 1),
            "kernel": platform.release(), "cli_version": version, "responder_commit": commit,
            "load_average_at_start": os.getloadavg()[0]}


def machine_line(m: dict) -> str:
    busy = m["load_average_at_start"]
    return (f"{m['nproc']} cores ({m['cpu']}), {m['memory_gib']} GiB, Linux {m['kernel']}; "
            f"CLI {m['cli_version']}; responder {m['responder_commit']}; load average at start {busy:.1f}"
            + (" (busy: the figures are noisy)" if busy > 0.5 * m["nproc"] else ""))


# -- the upstream, the key, the bare CLI -----------------------------------------------------------


class MockUpstream:
    """mock_anthropic.py in a process of its own, so that the bench's client threads never slow it down."""

    def __init__(self, folder: Path):
        port_file = folder / "mock.port"
        self.proc = subprocess.Popen([sys.executable, str(INTEGRATION / "mock_anthropic.py"), "--port", "0",
                                      "--port-file", str(port_file)], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, start_new_session=True)
        port = wait_until(lambda: port_file.exists() and port_file.read_text().strip(), timeout=20)
        if not port:
            self.stop()
            raise RuntimeError("the mock upstream did not start")
        self.url = f"http://127.0.0.1:{port}"

    def stop(self):
        stop_process(self.proc, signal.SIGTERM, timeout=5)


def make_key(folder: Path) -> tuple[str, Path]:
    """One client key (the pool keeps CLIs per key name), made by the responder's `keys new`; (key, key file)."""
    made = subprocess.run([RESPONDER, "keys", "new", "bench"], capture_output=True, text=True, timeout=30, check=True)
    key, line = made.stdout.splitlines()
    path = folder / "keys"
    path.write_text(line + "\n")
    return key, path


class Sample(NamedTuple):
    ttft: float    # seconds to the first text
    total: float   # seconds to the end of the answer


class BareCLI:
    """The CLI as a person runs it: the gateway's flags and environment, one HOME kept from run to run (its
    settings, caches and state persist; a fresh one per run is the gateway's own condition), all in one session as
    from one shell. (One session each would give each CLI a scheduler autogroup of its own, and so a larger share of
    a busy machine than the gateway's CLIs get: they share the responder's.)"""

    def __init__(self, home: Path, upstream: str):
        home.mkdir(parents=True)
        prompt_file = home / "system-prompt.txt"
        prompt_file.write_text(SYSTEM)
        self.home = home
        self.argv = [CLAUDE, *CLI_FLAGS, "--system-prompt-file", str(prompt_file)]
        self.env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "TMPDIR": str(home),
                    "ANTHROPIC_BASE_URL": upstream, "ANTHROPIC_API_KEY": "test-key", **CLI_ENV}
        self.line = json.dumps({"type": "user", "message": {"role": "user",
                                                            "content": [{"type": "text", "text": PROMPT}]}})
        self.live: set[subprocess.Popen] = set()
        self.lock = threading.Lock()
        self.stopped = False   # kill_all() has run: a CLI started after it is killed at once

    def turn(self) -> Sample:
        start = time.perf_counter()
        proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                env=self.env, cwd=self.home, process_group=0)
        with self.lock:
            self.live.add(proc)
            if self.stopped:
                kill_pids([proc.pid])
        watchdog = threading.Timer(TURN_TIMEOUT, kill_pids, args=([proc.pid],))
        watchdog.start()
        try:
            proc.stdin.write((self.line + "\n").encode())
            proc.stdin.close()
            return self._read_answer(proc, start)
        finally:
            watchdog.cancel()
            kill_pids([proc.pid])   # its group, should it have left anything behind
            proc.wait(timeout=10)
            with self.lock:
                self.live.discard(proc)

    @staticmethod
    def _read_answer(proc: subprocess.Popen, start: float) -> Sample:
        first = None
        for raw in proc.stdout:
            if first is None and b'"text_delta"' in raw:
                first = time.perf_counter() - start
            if b'"type":"result"' in raw:
                total = time.perf_counter() - start
                result = json.loads(raw)
                if result.get("is_error") or first is None:
                    raise RuntimeError(f"the bare CLI's turn failed: {raw[:300]!r}")
                proc.wait(timeout=10)   # a person's next command starts once this one has exited
                return Sample(first, total)
        raise RuntimeError(f"the bare CLI ended without a result (exit {proc.wait(timeout=10)})")

    def kill_all(self):
        with self.lock:
            self.stopped = True
            kill_pids(p.pid for p in self.live)


# -- the gateway -----------------------------------------------------------------------------------


class Gateway:
    """nginx and one responder (a Stack) with its pool set by ``pool_env``, served under one client key.

    ``pool()`` is the pool part of `GET /status` (None when the responder has none); ``round(count)`` runs
    ``count`` turns at once and says how they were served."""

    def __init__(self, name: str, upstream: str, key: str, key_file: Path, pool_env: dict):
        self.pool_env = pool_env
        self.stack = Stack(CLAUDE, upstream, name=name, binary=RESPONDER, workers=WORKERS, log_level="warning",
                           extra_env={"CCA_API_KEYS_FILE": str(key_file), "CCA_MAX_CONCURRENT_CLI": str(CLI_SLOTS),
                                      "CCA_QUEUE_TIMEOUT_MS": str(QUEUE_TIMEOUT_MS), **pool_env})
        self.headers = {"Authorization": f"Bearer {key}"}
        self.body = chat_body(PROMPT, MODEL, stream=True)
        self.body["messages"].insert(0, {"role": "system", "content": SYSTEM})
        self.served_pids: set[int] = set()   # CLIs seen answering in an earlier round
        self.settle_timeout = SETTLE_TIMEOUT
        self.settle_failures = 0
        self.client: httpx.Client | None = None
        self.said_missing = False

    def __enter__(self) -> "Gateway":
        self.stack.start()
        # One client for every turn and /status poll, as an application keeps one: making an httpx.Client costs
        # tens of milliseconds, which no timing may include.
        self.client = httpx.Client(base_url=self.stack.base_url, timeout=httpx.Timeout(TURN_TIMEOUT, connect=5.0),
                                   limits=httpx.Limits(max_connections=64, max_keepalive_connections=64))
        return self

    def __exit__(self, *exc):
        if self.client is not None:
            self.client.close()
        self.stack.close()

    def turn(self) -> Sample:
        start = time.perf_counter()
        with ChatStream(self.stack, self.body, TURN_TIMEOUT, headers=self.headers, client=self.client) as stream:
            if stream.status != 200 or not stream.is_sse:
                raise RuntimeError(f"the gateway's turn failed: {stream.describe()}")
            stream.read_content(1)
            first = time.perf_counter() - start
            stream.read_all()
            if not stream.done or stream.errors:
                raise RuntimeError(f"the gateway's stream did not finish: {stream.describe()}")
            return Sample(first, time.perf_counter() - start)

    # -- the pool -------------------------------------------------------------------------------------
    def pool(self) -> dict | None:
        """The pool part of `GET /status`, None without one; a field the bench reads that is missing counts as 0
        (and is said once): a warm round then shows as not warm, never the other way round."""
        pool = self.client.get("/status").json().get("pool")
        if pool is None:
            return None
        missing = [name for name in POOL_FIELDS if not isinstance(pool.get(name), int)]
        if missing and not self.said_missing:
            say(f"{self.stack.name}: /status pool lacks {', '.join(missing)}: {pool}")
            self.said_missing = True
        pool = {**pool, **{name: 0 for name in missing}}
        # The responder counts never-used (served_warm) and reused (served_reused) pooled turns apart; here "warm"
        # is every turn a pooled CLI served.
        pool["served_warm"] += pool["served_reused"]
        return pool

    def settle(self, fresh: int = 0, used: int = 0) -> bool:
        """Waits (bounded) until no CLI starts or ends, so that nothing but the measured turns runs: the pool (if
        any) starts none and holds its size in idle CLIs, at least ``fresh`` never-used and ``used`` used ones, and
        the responder has no other CLI (one that answered last and is ending). True once so."""
        def quiet(pool) -> bool:
            idle = 0
            if pool is not None and pool["size"] > 0:
                idle = pool["idle_fresh"] + pool["idle_used"]
                if pool["starting"] or idle < pool["size"] or pool["idle_fresh"] < fresh or pool["idle_used"] < used:
                    return False
            return len(self.cli_children()) == idle

        deadline = time.monotonic() + self.settle_timeout
        while not quiet(pool := self.pool()):
            if time.monotonic() > deadline:
                self.settle_failures += 1
                say(f"{self.stack.name}: not settled in {self.settle_timeout:.0f} s (wanted {fresh} fresh, {used} "
                    f"used idle CLIs): pool {pool}, {len(self.cli_children())} CLIs")
                self.settle_timeout = 5.0   # one long wait per gateway; the rounds say what they got
                return False
            time.sleep(0.05)
        return True

    def cli_children(self) -> list[int]:
        """The responder's live CLI processes (each leads its own process group)."""
        return [p.pid for p in self.stack.children(include_zombies=False)]

    def _written(self) -> dict[int, int]:
        out = {}
        for pid in self.cli_children():
            try:
                out[pid] = proc_bytes_written(pid)
            except OSError:
                pass
        return out

    def round(self, count: int) -> tuple[list[Sample], dict]:
        """``count`` turns at once; their samples and how they were served: the pool's served_warm and
        served_cold growth (None without a pool), and the CLIs that answered, new to this gateway or not."""
        pool_before, written_before = self.pool(), self._written()
        samples = run_together(self.turn, count)
        pool_after, written_after = self.pool(), self._written()
        answered = {pid for pid, n in written_before.items()
                    if pid not in written_after or written_after[pid] - n >= SERVED_BYTES}
        served = {"answering_clis": len(answered), "reused_clis": len(answered & self.served_pids),
                  "warm": None, "cold": None}
        if pool_before is not None and pool_after is not None:
            served["warm"] = pool_after["served_warm"] - pool_before["served_warm"]
            served["cold"] = pool_after["served_cold"] - pool_before["served_cold"]
        self.served_pids |= answered
        return samples, served


# -- running turns side by side --------------------------------------------------------------------


def run_together(turn: Callable[[], Sample], count: int) -> list[Sample]:
    """``count`` turns started at once (a barrier), each in its own thread. Any failure fails the round."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def one(index: int):
        try:
            barrier.wait(TURN_TIMEOUT)
            results[index] = turn()
        except BaseException as err:  # noqa: BLE001 - reported below, in the main thread
            results[index] = err

    join_all([threading.Thread(target=one, args=(i,), daemon=True) for i in range(count)], TURN_TIMEOUT + 30)
    failures = [r for r in results if not isinstance(r, Sample)]
    if failures:
        raise RuntimeError(f"{len(failures)} of {count} turns failed; the first: {failures[0]!r}")
    return results


def run_for(turn: Callable[[], Sample], clients: int, seconds: float) -> dict:
    """``clients`` threads, each running turns one after another until ``seconds`` have passed: requests per
    second (every turn begun in time, over the time until the last one ended) and latency of the whole turn."""
    samples, errors, lock = [], [], threading.Lock()
    start = time.perf_counter()
    deadline = start + seconds

    def client():
        while time.perf_counter() < deadline:
            try:
                sample = turn()
            except Exception as err:  # noqa: BLE001 - counted; a failing path shows as errors
                with lock:
                    errors.append(repr(err))
                time.sleep(0.1)
                continue
            with lock:
                samples.append(sample)

    join_all([threading.Thread(target=client, daemon=True) for _ in range(clients)], seconds + TURN_TIMEOUT + 30)
    elapsed = time.perf_counter() - start
    totals = sorted(s.total for s in samples)
    return {"requests": len(samples), "errors": len(errors), "first_error": errors[0] if errors else None,
            "seconds": round(elapsed, 3), "rps": len(samples) / elapsed,
            "p50_ms": percentile(totals, 0.5) * 1000 if totals else None,
            "p90_ms": percentile(totals, 0.9) * 1000 if totals else None}


def join_all(threads: list[threading.Thread], timeout: float):
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            raise RuntimeError(f"a turn outlived the bench's {timeout:.0f} s bound")


# -- statistics ------------------------------------------------------------------------------------


def percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def spread(values: list[float]) -> dict:
    """Median, min and max."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def round_medians(samples: list[Sample]) -> dict:
    return {"ttft": statistics.median(s.ttft for s in samples), "total": statistics.median(s.total for s in samples)}


# -- the cases -------------------------------------------------------------------------------------


class Case(NamedTuple):
    name: str            # cold, fresh, reused
    label: str           # as the table says it
    pool_env: dict       # the responder's pool settings
    wanted: Callable[[int], dict]                    # what settle() waits for before a round of n turns
    as_expected: Callable[[dict, int], str | None]   # None when a round of n was served as the case says, else why


def cold_check(served: dict, count: int) -> str | None:
    if served["warm"]:
        return f"{served['warm']} of {count} served warm with the pool off"
    return None


def warm_check(reused: bool) -> Callable[[dict, int], str | None]:
    def check(served: dict, count: int) -> str | None:
        if served["warm"] is None:
            return "no pool in /status"
        if served["warm"] != count:
            return f"served warm {served['warm']} of {count}"
        wanted = count if reused else 0
        if served["answering_clis"] != count or served["reused_clis"] != wanted:
            return (f"{served['answering_clis']} CLIs answered, {served['reused_clis']} of them had served before "
                    f"(wanted {count} and {wanted})")
        return None
    return check


def pool_env(size: int, max_uses: int, max_processes: int) -> dict:
    """The responder's pool settings."""
    return {"CCA_POOL_SIZE": str(size), "CCA_POOL_MAX_USES": str(max_uses),
            "CCA_POOL_MAX_AGE_SECONDS": str(POOL_MAX_AGE_SECONDS), "CCA_MAX_CLI_PROCESSES": str(max_processes)}


POOL_OFF = {"CCA_POOL_SIZE": "0"}
LARGEST = max(CONCURRENCY)
REUSED_POOL = max(LARGEST, THROUGHPUT_CLIENTS)   # the reused case's gateway is also the throughput run's "pool on"

CASES = [
    Case("cold", "cold, pool off", POOL_OFF, lambda n: {}, cold_check),
    # Each CLI serves one request; the pool may hold its idle CLIs while it refills behind as many busy ones.
    Case("fresh", "warm, never-used CLI", pool_env(LARGEST, 1, 2 * LARGEST), lambda n: {"fresh": n},
         warm_check(reused=False)),
    # No more processes than the pool's size: after the warm-up round every CLI of the pool has served.
    Case("reused", "warm, reused CLI", pool_env(REUSED_POOL, POOL_MAX_USES, REUSED_POOL), lambda n: {"used": n},
         warm_check(reused=True)),
]


def settle_all(gateways: dict[str, Gateway], count: int) -> dict[str, bool]:
    """Every case's pool ready for a round of ``count``: nothing spawns during a measurement, whichever it is."""
    return {case.name: gateways[case.name].settle(**case.wanted(count)) for case in CASES}


def warm_up(bare: BareCLI, gateways: dict[str, Gateway]):
    """First-run files of the bare HOME, the page cache; every CLI of the reused case's pool serves once."""
    bare.turn()
    for case in CASES:
        gateway = gateways[case.name]
        gateway.settle()
        gateway.round(REUSED_POOL if case.name == "reused" else 1)


def latency(bare: BareCLI, gateways: dict[str, Gateway]) -> dict:
    """ROUNDS rounds; in each, for every concurrency: the bare CLIs, then each case's gateway, every pool settled
    before each of them."""
    warm_up(bare, gateways)
    rounds = {case.name: {n: [] for n in CONCURRENCY} for case in CASES}
    for index in rounds_within_budget("latency", ROUNDS):
        say(f"latency: round {index + 1} of {ROUNDS}")
        for n in CONCURRENCY:
            settle_all(gateways, n)
            bare_medians = round_medians(run_together(bare.turn, n))
            for case in CASES:
                settled = settle_all(gateways, n)[case.name]
                samples, served = gateways[case.name].round(n)
                problem = case.as_expected(served, n) or (None if settled else "the pool had not settled")
                rounds[case.name][n].append({"bare": bare_medians, "gateway": round_medians(samples),
                                             "served": served, "problem": problem})
                if problem:
                    say(f"{case.name}, {n} at once: {problem}")
    return {case.name: {"pool_env": case.pool_env, "settle_failures": gateways[case.name].settle_failures,
                        "rounds": rounds[case.name]} for case in CASES}


# -- throughput ------------------------------------------------------------------------------------


def throughput(bare: BareCLI, off: Gateway, on: Gateway) -> dict:
    """THROUGHPUT_ROUNDS rounds of bare, pool off, pool on, each THROUGHPUT_CLIENTS clients for
    THROUGHPUT_SECONDS; the pool settled before each."""
    paths = {"bare": bare.turn, "pool_off": off.turn, "pool_on": on.turn}
    for turn in paths.values():   # first-run files, page cache, the pool's first use
        turn()
    runs = {name: [] for name in paths}
    for index in rounds_within_budget("throughput", THROUGHPUT_ROUNDS):
        for name, turn in paths.items():
            say(f"throughput: round {index + 1} of {THROUGHPUT_ROUNDS}, {name}")
            on.settle()
            before = on.pool()
            result = run_for(turn, THROUGHPUT_CLIENTS, THROUGHPUT_SECONDS)
            if name == "pool_on" and before is not None:
                after = on.pool()
                result["served_warm"] = after["served_warm"] - before["served_warm"]
                result["served_cold"] = after["served_cold"] - before["served_cold"]
            if result["errors"]:
                say(f"throughput {name}: {result['errors']} failed turns, the first: {result['first_error']}")
            runs[name].append(result)
    return {"clients": THROUGHPUT_CLIENTS, "seconds": THROUGHPUT_SECONDS, "pool_on_env": on.pool_env, "runs": runs}


# -- relay and responder memory --------------------------------------------------------------------


def relay() -> dict:
    source = "scripts/relay_bench.py"
    runs = []
    for index in rounds_within_budget("relay", RELAY_RUNS):
        say(f"relay: run {index + 1} of {RELAY_RUNS} ({source})")
        runs.append(measure_relay(RESPONDER, events=RELAY_EVENTS))
    return {"source": source, "runs": runs}


# -- idle pooled CLIs ------------------------------------------------------------------------------


def cli_groups(gateway: Gateway) -> dict[int, list[int]]:
    """The process group of each of the responder's CLIs: {group id: its live members}."""
    return {pid: [p.pid for p in process_group(pid) if not p.zombie] for pid in gateway.cli_children()}


def group_cpu(groups: dict[int, list[int]]) -> dict[int, float]:
    cpu = {}
    for members in groups.values():
        for pid in members:
            try:
                cpu[pid] = proc_cpu_seconds(pid)
            except OSError:
                pass
    return cpu


def idle_groups(gateway: Gateway) -> dict[int, list[int]]:
    """The process groups of the gateway's idle pooled CLIs, once it has settled (no other CLI is left)."""
    gateway.settle()
    return cli_groups(gateway)


def idle_memory(gateway: Gateway) -> dict:
    """RSS and PSS (KiB) per idle pooled CLI, its whole process group counted; none without idle CLIs."""
    groups = idle_groups(gateway)
    if not groups:
        return {"clis": 0}
    rss = pss = 0
    for members in groups.values():
        for pid in members:
            try:
                rss += proc_status(pid)["rss_kib"]
                pss += proc_pss_kib(pid)
            except (OSError, KeyError):   # gone, or going (no memory left to show)
                pass
    return {"clis": len(groups), "rss_kib_per_cli": rss / len(groups), "pss_kib_per_cli": pss / len(groups)}


def idle_cpu(gateway: Gateway, seconds: float) -> dict:
    """CPU seconds an idle pooled CLI (its process group) uses in a minute, over ``seconds`` of idleness."""
    groups = idle_groups(gateway)
    if not groups:
        return {"clis": 0}
    pool_before, before = gateway.pool(), group_cpu(groups)
    time.sleep(seconds)
    pool_after, after = gateway.pool(), group_cpu(groups)
    used = sum(after[pid] - before[pid] for pid in before if pid in after)
    return {"clis": len(groups), "seconds": seconds, "stayed_idle": pool_before == pool_after,
            "cpu_seconds_per_minute_per_cli": used * 60 / seconds / len(groups)}


# -- the report ------------------------------------------------------------------------------------


TTFT_TARGETS = {"cold": 1.02, "fresh": 0.35, "reused": 0.10}   # gateway / bare, at most
THROUGHPUT_TARGET = 4.0                                        # pool on / bare, at least
RELAY_TARGETS = {"events_per_second": 50_000, "cpu_us_per_event": 10.0}
RSS_IDLE_TARGET_KIB = 15 * 1024
RSS_STREAM_TARGET_KIB = 1024


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def ms(s: dict) -> str:
    return f"{s['median'] * 1000:.0f} ms [{s['min'] * 1000:.0f}-{s['max'] * 1000:.0f}]"


def times(s: dict) -> str:
    return f"{s['median']:.2f}x [{s['min']:.2f}-{s['max']:.2f}]"


def row(figure: str, gateway: str, bare: str = "", ratio: str = "", target: str = "", judged: str = "") -> dict:
    return {"figure": figure, "bare": bare, "gateway": gateway, "ratio": ratio, "target": target, "verdict": judged}


def latency_rows(case: Case, result: dict) -> list[dict]:
    rows = []
    for n, rounds in result["rounds"].items():
        good = [r for r in rounds if not r["problem"]]
        used = good or rounds   # with no round as the case says, its figures are shown but judged NOT WARM
        problems = [r["problem"] for r in rounds if r["problem"]]
        note = f" (served as labelled in {len(good)} of {len(rounds)} rounds: {problems[0]})" if problems else ""
        for metric, name in (("ttft", "TTFT"), ("total", "total")):
            ratio = spread([r["gateway"][metric] / r["bare"][metric] for r in used])
            target = judged = ""
            if metric == "ttft":
                limit = TTFT_TARGETS[case.name]
                target = f"<= {limit:.2f}x"
                judged = (verdict(ratio["median"] <= limit) if good
                          else "NOT COLD" if case.name == "cold" else "NOT WARM")
            rows.append(row(f"{case.label}: {name}, {n} at once{note}",
                            ms(spread([r["gateway"][metric] for r in used])),
                            ms(spread([r["bare"][metric] for r in used])), times(ratio), target, judged))
    return rows


def rps(runs: list[dict]) -> str:
    s = spread([r["rps"] for r in runs])
    p50 = statistics.median(r["p50_ms"] or 0 for r in runs)
    p90 = statistics.median(r["p90_ms"] or 0 for r in runs)
    errors = sum(r["errors"] for r in runs)
    return (f"{s['median']:.1f} req/s [{s['min']:.1f}-{s['max']:.1f}], p50 {p50:.0f} ms, p90 {p90:.0f} ms"
            + (f", {errors} failed" if errors else ""))


def throughput_rows(result: dict) -> list[dict]:
    runs, rows = result["runs"], []
    for name, label in (("pool_off", "pool off"), ("pool_on", "pool on")):
        ratio = spread([g["rps"] / b["rps"] for g, b in zip(runs[name], runs["bare"])])
        figure = f"throughput, {result['clients']} clients, {label}"
        if name == "pool_off":
            rows.append(row(figure, rps(runs[name]), rps(runs["bare"]), times(ratio)))
            continue
        warm = [r.get("served_warm") for r in runs[name]]
        figure += (" (no pool in /status)" if None in warm
                   else f" ({sum(warm)} of {sum(r['requests'] for r in runs[name])} served warm)")
        rows.append(row(figure, rps(runs[name]), rps(runs["bare"]), times(ratio), f">= {THROUGHPUT_TARGET:.0f}x",
                        verdict(ratio["median"] >= THROUGHPUT_TARGET)))
    return rows


def relay_rows(result: dict) -> list[dict]:
    def median(key):
        return statistics.median(run[key] for run in result["runs"])

    events, cpu = median("events_per_second"), median("cpu_us_per_event")
    idle, peak = median("rss_idle_kb"), median("rss_peak_during_stream_kb")
    count = len(result["runs"])
    source = f" ({count} run{'s' if count > 1 else ''}, {result['source']})"
    return [
        row("relay: events per second" + source, f"{events:,.0f}", target=">= 50,000",
            judged=verdict(events >= RELAY_TARGETS["events_per_second"])),
        row("relay: responder CPU per event", f"{cpu:.2f} µs", target="<= 10 µs",
            judged=verdict(cpu <= RELAY_TARGETS["cpu_us_per_event"])),
        row("responder RSS, idle", f"{idle / 1024:.1f} MiB", target="< 15 MiB",
            judged=verdict(idle < RSS_IDLE_TARGET_KIB)),
        row("responder RSS during the stream, above idle", f"{(peak - idle) / 1024:+.2f} MiB", target="< 1 MiB",
            judged=verdict(peak - idle < RSS_STREAM_TARGET_KIB)),
    ]


def idle_rows(result: dict) -> list[dict]:
    rows = []
    for name, label in (("fresh_memory", "never used"), ("used_memory", "used")):
        m = result[name]
        value = (f"RSS {m['rss_kib_per_cli'] / 1024:.0f} MiB, PSS {m['pss_kib_per_cli'] / 1024:.0f} MiB "
                 f"({m['clis']} CLIs)") if m["clis"] else "no idle pooled CLI"
        rows.append(row(f"idle pooled CLI ({label}): memory", value))
    c = result["fresh_cpu"]
    value = "no idle pooled CLI"
    if c["clis"]:
        value = (f"{c['cpu_seconds_per_minute_per_cli']:.3f} CPU-s per minute ({c['clis']} CLIs, {c['seconds']:.0f} s"
                 + ("" if c["stayed_idle"] else ", the pool was not idle throughout") + ")")
    rows.append(row("idle pooled CLI (never used): CPU", value))
    return rows


COLUMNS = [("figure", "figure"), ("bare", "bare CLI"), ("gateway", "gateway"), ("ratio", "gateway / bare"),
           ("target", "target"), ("verdict", "")]


def markdown(rows: list[dict]) -> str:
    lines = ["| " + " | ".join(title for _, title in COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(row[key] for key, _ in COLUMNS) + " |" for row in rows]
    return "\n".join(lines)


def write_json(results: dict):
    JSON_PATH.parent.mkdir(parents=True, exist_ok=True)
    JSON_PATH.write_text(json.dumps(results, indent=1, default=str) + "\n")


# -- the run ---------------------------------------------------------------------------------------


def run(folder: Path, bare_home: Path) -> dict:
    results = {"machine": machine(), "rounds": ROUNDS, "concurrency": CONCURRENCY}
    print(f"machine: {machine_line(results['machine'])}", flush=True)
    mock = MockUpstream(folder)
    bare = None
    try:
        key, key_file = make_key(folder)
        bare = BareCLI(bare_home, mock.url)

        def gateway(case: Case) -> Gateway:
            return Gateway(f"bench-{case.name}", mock.url, key, key_file, case.pool_env)

        cold, fresh, reused = CASES
        with gateway(cold) as off, gateway(reused) as on:
            with gateway(fresh) as never_used:
                results["latency"] = latency(bare, {"cold": off, "fresh": never_used, "reused": on})
                say(f"idle cost: {IDLE_SECONDS:.0f} s of an idle pool")
                results["idle"] = {"fresh_memory": idle_memory(never_used), "used_memory": idle_memory(on),
                                   "fresh_cpu": idle_cpu(never_used, IDLE_SECONDS)}
            results["throughput"] = throughput(bare, off, on)
    finally:
        if bare is not None:
            bare.kill_all()
        mock.stop()
    results["relay"] = relay()
    return results


def report(results: dict) -> list[dict]:
    rows = []
    for case in CASES:
        rows += latency_rows(case, results["latency"][case.name])
    return rows + throughput_rows(results["throughput"]) + relay_rows(results["relay"]) + idle_rows(results["idle"])


def interrupted(signum, frame):
    raise KeyboardInterrupt


def main() -> int:
    signal.signal(signal.SIGTERM, interrupted)   # stopped like Ctrl-C: every process it started is stopped
    folder = Path(tempfile.mkdtemp(prefix="cca-bench-"))
    try:
        results = run(folder, folder / "home")
    except KeyboardInterrupt:
        say("interrupted; everything it started is stopped")
        return 130
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    results["seconds"] = round(time.monotonic() - STARTED)
    rows = report(results)
    results["table"] = rows
    write_json(results)
    done = len(results["latency"]["cold"]["rounds"][CONCURRENCY[0]])
    counted = f"{done} of {ROUNDS} (time bound)" if done < ROUNDS else f"{ROUNDS}"
    print(f"\nclaude-code-api bench: {counted} interleaved round{'s' if done > 1 else ''} (bare, gateway, ...), "
          f"medians [min-max] over rounds, mock upstream on loopback, {results['seconds']} s")
    print(f"machine: {machine_line(results['machine'])}\n")
    print(markdown(rows))
    shown = JSON_PATH.relative_to(REPO) if JSON_PATH.is_relative_to(REPO) else JSON_PATH
    print(f"\nevery round: {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
