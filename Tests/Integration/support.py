"""Helpers shared by the integration tests (no fixtures here: see conftest.py)."""

from __future__ import annotations

import json
import os
import threading
import time
import uuid

import httpx

# Every network call in the tests has a timeout; this is the default one.
HTTP_TIMEOUT = httpx.Timeout(60.0, connect=5.0)


def unique(label: str = "t") -> str:
    """A short unique token to put into a prompt, so upstream requests can be told apart."""
    return f"{label}-{uuid.uuid4().hex[:10]}"


def openai_client(stack, **kwargs):
    """The official OpenAI client pointed at the stack; no client-side retries."""
    from openai import OpenAI

    kwargs.setdefault("timeout", 60.0)
    kwargs.setdefault("max_retries", 0)
    return OpenAI(base_url=stack.base_url + "/v1", api_key="unused", **kwargs)


def chat_body(prompt: str, model: str, stream: bool = False, **extra) -> dict:
    body = {"model": model, "messages": [{"role": "user", "content": prompt}], "stream": stream}
    body.update(extra)
    return body


class ChatStream:
    """The tests' one streaming client: a chat completion POSTed (``stream: true``) with httpx and
    read raw, as far as the test asks.

    Once open, ``status`` and ``headers`` are known; an answer that is not SSE (an HTTP error) is
    read whole into ``body`` at once. ``next_payload``, ``read_until``, ``read_content`` and
    ``read_all`` take data payloads; ``close()`` hangs up, and ``closed_at`` (monotonic clock) is
    taken just before the connection is closed, so a delay measured from it is never too short.
    Every read is bounded by ``timeout``. With ``client`` (an httpx.Client, kept open) the stream uses it instead of
    a client of its own: making one costs tens of milliseconds (its TLS context), which a timing must not include."""

    def __init__(self, stack, body: dict, timeout: float = 60.0, headers: dict | None = None,
                 client: httpx.Client | None = None):
        self.request = body
        self.payloads: list[str] = []
        self.events: list[dict] = []     # the JSON payloads (all but [DONE]), in order
        self.comments: list[str] = []    # SSE comment lines (": ping" keep-alives)
        self.body = b""
        self.ended = False                 # the server ended the body
        self.closed_at: float | None = None
        self._own_client = client is None
        self._client = client or httpx.Client()
        try:
            self._context = self._client.stream("POST", stack.base_url + "/v1/chat/completions", json=body,
                                                headers=headers, timeout=httpx.Timeout(timeout, connect=5.0))
            self._response = self._context.__enter__()
        except BaseException:
            self._close_client()
            raise
        self.status = self._response.status_code
        self.headers = self._response.headers
        self.is_sse = self.headers.get("content-type", "").startswith("text/event-stream")
        if self.is_sse:
            self._data = self._payloads()
        else:
            self.body = self._response.read()
            self.ended = True

    # -- reading -----------------------------------------------------------------------------------
    def _payloads(self):
        for line in self._response.iter_lines():
            if line.startswith(":"):
                self.comments.append(line)
            elif line.startswith("data:"):
                yield line[5:].lstrip(" ")

    def next_payload(self) -> str | None:
        """The next data payload, or None once the body has ended."""
        if self.ended:
            return None
        try:
            payload = next(self._data)
        except StopIteration:
            self.ended = True
            return None
        self.payloads.append(payload)
        if payload != "[DONE]":
            self.events.append(json.loads(payload))
        return payload

    def read_until(self, condition) -> bool:
        """Reads until ``condition(self)`` holds (True) or the body ends without it (False)."""
        while not condition(self):
            if self.next_payload() is None:
                return bool(condition(self))
        return True

    def read_content(self, deltas: int = 1) -> "ChatStream":
        """Reads until ``deltas`` content deltas have arrived; AssertionError if the stream ends first."""
        assert self.read_until(lambda s: s.content_deltas >= deltas), \
            f"the stream ended after {self.content_deltas} of {deltas} content deltas: {self.describe()}"
        return self

    def read_all(self, on_payload=None) -> "ChatStream":
        """Reads to the end of the body, calling ``on_payload(payload)`` for each."""
        while (payload := self.next_payload()) is not None:
            if on_payload is not None:
                on_payload(payload)
        return self

    def close(self):
        """Hangs up (if still connected). Safe to call twice."""
        if self.closed_at is not None:
            return
        self.closed_at = time.monotonic()
        try:
            self._context.__exit__(None, None, None)
        finally:
            self._close_client()

    def _close_client(self):
        if self._own_client:
            self._client.close()

    def __enter__(self) -> "ChatStream":
        return self

    def __exit__(self, *exc):
        self.close()

    # -- what arrived ------------------------------------------------------------------------------
    @property
    def done(self) -> bool:
        return bool(self.payloads) and self.payloads[-1] == "[DONE]"

    @property
    def chunks(self) -> list[dict]:
        return [e for e in self.events if "error" not in e]

    @property
    def errors(self) -> list[dict]:
        """The error events (``data: {"error": ...}``)."""
        return [e for e in self.events if "error" in e]

    @property
    def content_deltas(self) -> int:
        return sum(1 for e in self.chunks for c in e.get("choices") or []
                   if (c.get("delta") or {}).get("content"))

    @property
    def text(self) -> str:
        return "".join((c.get("delta") or {}).get("content") or ""
                       for e in self.chunks for c in e.get("choices") or [])

    @property
    def finish_reasons(self) -> list[str]:
        return [c["finish_reason"] for e in self.chunks for c in e.get("choices") or []
                if c.get("finish_reason")]

    def json(self):
        """The body of a non-SSE answer, parsed."""
        return json.loads(self.body)

    def describe(self) -> str:
        return (f"status={self.status} done={self.done} text={self.text!r} "
                f"last={self.payloads[-3:]} body={self.body[:300]!r}")


def stream_raw(stack, body: dict, timeout: float = 60.0) -> ChatStream:
    """Streams a chat completion to its end (or reads its error body)."""
    with ChatStream(stack, body, timeout) as stream:
        return stream.read_all()


def stream_then_disconnect(stack, body: dict, deltas: int = 2, while_open=None) -> ChatStream:
    """Streams until ``deltas`` content deltas arrived, calls ``while_open(stream)`` (the client still
    connected), then hangs up; the stream's ``closed_at`` says when."""
    with ChatStream(stack, body, timeout=30.0) as stream:
        assert stream.status == 200 and stream.is_sse, stream.describe()
        stream.read_content(deltas)
        if while_open is not None:
            while_open(stream)
    return stream


class BackgroundStream(threading.Thread):
    """A ChatStream read to its end in a thread. ``started`` is set at the first payload (or when it
    ended without one); ``stream`` is the ChatStream (None if it never opened), ``error`` a transport
    error (repr), ``ended_at`` when it ended (monotonic clock)."""

    def __init__(self, stack, body: dict, timeout: float = 30.0):
        super().__init__(daemon=True)
        self.stack = stack
        self.request = body
        self.timeout = timeout
        self.stream: ChatStream | None = None
        self.error: str | None = None
        self.ended_at: float | None = None
        self.started = threading.Event()

    def run(self):
        try:
            with ChatStream(self.stack, self.request, self.timeout) as stream:
                self.stream = stream
                stream.read_all(on_payload=lambda _: self.started.set())
        except httpx.HTTPError as err:
            self.error = repr(err)
        finally:
            self.ended_at = time.monotonic()
            self.started.set()

    @property
    def prompt(self) -> str:
        """The text of the request's last message."""
        return self.request["messages"][-1]["content"]

    @property
    def status(self) -> int | None:
        return self.stream.status if self.stream else None

    @property
    def payloads(self) -> list[str]:
        return self.stream.payloads if self.stream else []

    @property
    def body(self) -> bytes:
        return self.stream.body if self.stream else b""

    @property
    def done(self) -> bool:
        return bool(self.stream and self.stream.done)

    @property
    def text(self) -> str:
        return self.stream.text if self.stream else ""

    @property
    def errors(self) -> list[dict]:
        return self.stream.errors if self.stream else []

    def describe(self) -> str:
        return f"error={self.error} " + (self.stream.describe() if self.stream else "never opened")


def post_chat(stack, body, timeout: float = 60.0, **kwargs) -> httpx.Response:
    """POSTs a chat completion (non-streaming read). ``body`` may be a dict or raw bytes."""
    with httpx.Client(timeout=httpx.Timeout(timeout, connect=5.0)) as client:
        if isinstance(body, (bytes, str)):
            headers = kwargs.pop("headers", {"Content-Type": "application/json"})
            return client.post(stack.base_url + "/v1/chat/completions", content=body,
                               headers=headers, **kwargs)
        return client.post(stack.base_url + "/v1/chat/completions", json=body, **kwargs)


def assert_openai_error(resp: httpx.Response | ChatStream, status: int, param: str | None = "any",
                        error_type: str | None = None) -> dict:
    """Checks an OpenAI-style error answer: exactly ``status``, JSON, and the body
    {"error": {"message", "type", "param", "code"}}. ``resp`` may be a ChatStream (a request
    made with ``stream: true`` that got an HTTP error instead of a stream)."""
    if isinstance(resp, ChatStream):
        got, shown = resp.status, resp.describe()
    else:
        got, shown = resp.status_code, resp.text[:500]
    assert got == status, f"expected {status}, got {got}: {shown}"
    assert resp.headers.get("content-type", "").startswith("application/json"), resp.headers
    body = resp.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), body
    err = body["error"]
    for key in ("message", "type", "param", "code"):
        assert key in err, f"error object lacks {key!r}: {err}"
    assert isinstance(err["message"], str) and err["message"], err
    if error_type is not None:
        assert err["type"] == error_type, err
    if param != "any":
        assert err["param"] == param, err
    return err


def message_text(message: dict) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    return "\n".join(b.get("text", "") for b in content or []
                     if isinstance(b, dict) and b.get("type") == "text")


def upstream_requests_with(mock, token: str) -> list[dict]:
    """Bodies of the upstream /v1/messages requests whose messages mention ``token``."""
    out = []
    for record in mock.message_requests():
        body = record.get("body")
        if isinstance(body, dict) and token in json.dumps(body.get("messages"), ensure_ascii=False):
            out.append(body)
    return out


def wait_until(predicate, timeout: float, interval: float = 0.05):
    """Polls ``predicate`` until it returns a truthy value; returns the last value."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    return value


# -- /proc: the one process scanner ---------------------------------------------------------------


class Process:
    """One process as /proc showed it at the scan: pid, parent, process group, state; its command
    line and working folder are read when first asked for ("" / None once it has gone)."""

    __slots__ = ("pid", "ppid", "pgid", "state", "_cmdline", "_cwd")

    def __init__(self, pid: int, ppid: int, pgid: int, state: str):
        self.pid, self.ppid, self.pgid, self.state = pid, ppid, pgid, state
        self._cmdline: str | None = None
        self._cwd: str | None | bool = False

    @property
    def zombie(self) -> bool:
        return self.state == "Z"

    @property
    def cmdline(self) -> str:
        if self._cmdline is None:
            try:
                with open(f"/proc/{self.pid}/cmdline", "rb") as f:
                    self._cmdline = f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
            except OSError:
                self._cmdline = ""
        return self._cmdline

    @property
    def cwd(self) -> str | None:
        """The working folder; None for a zombie or a process that has gone."""
        if self._cwd is False:
            try:
                self._cwd = os.readlink(f"/proc/{self.pid}/cwd")
            except OSError:
                self._cwd = None
        return self._cwd

    def __repr__(self):
        return f"<pid {self.pid} ppid {self.ppid} pgid {self.pgid} {self.state} {self.cmdline[:120]!r}>"


def read_process(pid: int) -> Process | None:
    """``pid`` from /proc/PID/stat, or None when there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode("utf-8", "replace")
        # comm may contain spaces and parentheses: the fields start after the last ')'
        fields = stat[stat.rindex(")") + 2:].split()
        return Process(pid, int(fields[1]), int(fields[2]), fields[0])
    except (OSError, ValueError, IndexError):
        return None


def processes() -> list[Process]:
    """Every process of the machine, in one pass over /proc."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            found = read_process(int(entry))
            if found is not None:
                out.append(found)
    return out


def proc_children(pid: int, include_zombies: bool = True) -> list[Process]:
    """Processes whose parent is ``pid``."""
    return [p for p in processes() if p.ppid == pid and (include_zombies or not p.zombie)]


def proc_descendants(pid: int) -> list[Process]:
    """Every descendant of ``pid`` (children, their children, ...), zombies included."""
    by_parent: dict[int, list[Process]] = {}
    for p in processes():
        by_parent.setdefault(p.ppid, []).append(p)
    out, todo = [], [pid]
    while todo:
        for child in by_parent.get(todo.pop(), []):
            out.append(child)
            todo.append(child.pid)
    return out


def process_group(pgid: int) -> list[Process]:
    """Members of process group ``pgid``, zombies included (a group is gone once all are reaped)."""
    return [p for p in processes() if p.pgid == pgid]


def processes_using(folder) -> list[Process]:
    """Live processes (not this one) whose command line mentions ``folder`` or whose working
    folder lies in it (zombies have neither)."""
    folder = str(folder)
    out = []
    for p in processes():
        if p.pid == os.getpid() or p.zombie:
            continue
        cwd = p.cwd
        if folder in p.cmdline or (cwd is not None and (cwd == folder or cwd.startswith(folder + "/"))):
            out.append(p)
    return out


def seconds_until_group_gone(pgid: int, since: float, limit: float = 10.0) -> float | None:
    """Seconds from ``since`` (a time.monotonic() reading, e.g. ChatStream.closed_at) until no
    process of group ``pgid`` is left, zombies included (scanned every 5 ms); None if some are still
    there ``limit`` seconds after ``since``. The time is taken after the scan that found none, so
    it is never shorter than the truth."""
    deadline = since + limit
    while process_group(pgid):
        if time.monotonic() > deadline:
            return None
        time.sleep(0.005)
    return time.monotonic() - since


def alive(pid: int) -> bool:
    """``pid`` exists and is not a zombie."""
    found = read_process(pid)
    return found is not None and not found.zombie


def accepted_connections(socket_path) -> int:
    """Connections a server has accept()ed on the unix socket ``socket_path`` and not yet closed
    (from /proc/net/unix: connected sockets bound to that path; ones still in the listen backlog
    are "connecting", the listener itself has the listening flag)."""
    path = str(socket_path)
    count = 0
    with open("/proc/net/unix") as f:
        next(f)  # header
        for line in f:
            fields = line.split()
            if len(fields) >= 8 and fields[7] == path and fields[5] == "03" \
                    and not int(fields[3], 16) & 0x10000:
                count += 1
    return count


def fd_count(pid: int) -> int:
    """Open descriptors of ``pid``."""
    return len(os.listdir(f"/proc/{pid}/fd"))


def proc_status(pid: int) -> dict:
    """RSS (KiB), thread count and open descriptor count of ``pid``."""
    with open(f"/proc/{pid}/status") as f:
        fields = dict(line.split(":", 1) for line in f.read().splitlines() if ":" in line)
    return {"rss_kib": int(fields["VmRSS"].split()[0]), "threads": int(fields["Threads"]),
            "fds": fd_count(pid)}


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` (all its threads), in seconds, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        stat = f.read().decode("utf-8", "replace")
    fields = stat[stat.rindex(")") + 2:].split()   # fields[0] is the state, the 3rd field of stat(5)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class PeakRSS(threading.Thread):
    """The highest VmRSS (KiB) of ``pid`` while the ``with`` block runs, sampled every 2 ms (``peak``)."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self.stopping = pid, 0, threading.Event()

    def run(self):
        while not self.stopping.is_set():
            self.peak = max(self.peak, proc_status(self.pid)["rss_kib"])
            time.sleep(0.002)

    def __enter__(self) -> "PeakRSS":
        self.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.join()


def proc_pss_kib(pid: int) -> int:
    """Proportional set size of ``pid`` (KiB, /proc/PID/smaps_rollup): shared pages count a share each."""
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


def proc_bytes_written(pid: int) -> int:
    """Bytes ``pid`` has passed to write() and the like (``wchar`` of /proc/PID/io), pipes included."""
    with open(f"/proc/{pid}/io") as f:
        for line in f:
            if line.startswith("wchar:"):
                return int(line.split()[1])
    return 0


def required_program(name: str, package: str) -> str:
    """The path of program ``name`` (on PATH, else /usr/bin or /usr/sbin). Missing is a failure, never a
    skip: ``scripts/setup system`` installs Debian's ``package``."""
    import shutil

    import pytest

    for candidate in (shutil.which(name), f"/usr/bin/{name}", f"/usr/sbin/{name}"):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail(f"{name} not found: install Debian's {package} package (scripts/setup system does)",
                pytrace=False)


def run_weather_agent(stack, model_class: str, model: str, prompt: str):
    """Runs the OpenAI Agents SDK's tool loop against ``stack`` with one tool, ``get_weather``, and the SDK's
    ``model_class`` (``OpenAIChatCompletionsModel`` or ``OpenAIResponsesModel``). Returns (the cities the tool was
    called with, the run's result)."""
    import asyncio

    import agents
    import openai

    agents.set_tracing_disabled(True)
    calls = []

    @agents.function_tool
    def get_weather(city: str) -> str:
        """The weather in a city."""
        calls.append(city)
        return f"sunny in {city}"

    client = openai.AsyncOpenAI(base_url=stack.base_url + "/v1", api_key="unused", max_retries=0)
    agent = agents.Agent(name="weather", instructions="Use the tool.", tools=[get_weather],
                         model=getattr(agents, model_class)(model=model, openai_client=client))
    return calls, asyncio.run(agents.Runner.run(agent, prompt))
