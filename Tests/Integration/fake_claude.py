#!/usr/bin/env python3
"""A stand-in for the Claude Code CLI (``claude``) for gateway failure tests.

Dependency-free.  ``fake_claude.py --version`` prints ``2.1.332 (Claude Code)``.
Otherwise it takes the real CLI's flags (unknown ones are ignored), reads
stream-json user lines from stdin, and writes stream-json events shaped like the
real CLI's (see shared/claude-cli/samples): system/init, stream_event
message_start / content_block_start / text deltas / content_block_stop /
message_delta / message_stop, one ``assistant`` event, and a final ``result``.
Each line is flushed.  The answer is ``Fake answer to: <last user text>``.

stdin: user lines are collected until EOF, or until no further line arrives for
a short while after the first one (the real CLI starts at the first line and
does not need EOF).  After the result it keeps reading: more user lines are new
turns, EOF ends the process.  A ``control_request`` interrupt during a turn ends
it with ``terminal_reason: "aborted_streaming"``.

Markers in the last user text:

  FAKE:crash            init + 2 deltas, then exit 3 without a result
  FAKE:crash-start      exit 1 at once with ``Error: boom`` on stderr
  FAKE:hang             init, then sleep forever
  FAKE:hang-silent      print nothing, sleep forever
  FAKE:garbage          a non-JSON line and a truncated JSON line between events
  FAKE:slow             10 deltas, 0.5 s apart
  FAKE:stderr-flood     5 MB on stderr, then a normal answer
  FAKE:flood            200,000 deltas of 40 characters (about 30 MB of SSE), as fast as it can
  FAKE:error-401|429|529|500
                        an API failure as the real CLI reports it: synthetic
                        assistant text, result is_error true, exit 1
  FAKE:fallback         1 delta, message_stop with abandoned_blocks, then the
                        full text only in ``assistant`` and ``result``
  FAKE:retry-restream   2 deltas, abandoned_blocks, api_retry, full re-stream
  FAKE:max-tokens       stop_reason max_tokens
  FAKE:echo-argv-env    the answer is JSON: {"argv", "env", "cwd", "system_prompt"} (the
                        last: the text of the --system-prompt-file, null without one)

Invocation log: if a file ``fake_claude.logdir`` lies beside this script, it
holds a folder; one JSON line per invocation (argv, env names, cwd, stdin
lines, pid) is appended to ``<folder>/invocations.jsonl``.
"""

import json
import os
import select
import signal
import sys
import time
import uuid

VERSION = "2.1.332"
IDLE_AFTER_FIRST_LINE = 0.3

API_ERRORS = {
    "FAKE:error-401": (401, "authentication_error", "authentication_failed",
                       "Invalid API key \u00b7 Fix external API key"),
    "FAKE:error-429": (429, "rate_limit_error", "rate_limit",
                       "API Error: Request rejected (429) \u00b7 Number of request tokens has "
                       "exceeded your per-minute rate limit"),
    "FAKE:error-529": (529, "overloaded_error", "server_error",
                       "API Error: 529 Overloaded. This is a server-side issue, usually "
                       "temporary \u2014 try again in a moment."),
    "FAKE:error-500": (500, "api_error", "server_error",
                       "API Error: 500 Internal server error. This is a server-side issue, "
                       "usually temporary \u2014 try again in a moment."),
}


def new_id(prefix=""):
    return prefix + uuid.uuid4().hex[:20] if prefix else str(uuid.uuid4())


class Out:
    def __init__(self, session_id, model):
        self.session_id = session_id
        self.model = model

    def raw(self, text):
        sys.stdout.write(text + "\n")
        sys.stdout.flush()

    def emit(self, obj):
        self.raw(json.dumps(obj, ensure_ascii=False, separators=(",", ":")))

    def system(self, subtype, **fields):
        obj = {"type": "system", "subtype": subtype}
        obj.update(fields)
        obj.update({"session_id": self.session_id, "uuid": new_id()})
        self.emit(obj)

    def init(self, cwd):
        self.emit({
            "type": "system", "subtype": "init", "cwd": cwd, "session_id": self.session_id,
            "tools": [], "mcp_servers": [], "model": self.model, "permissionMode": "default",
            "slash_commands": [], "apiKeySource": "ANTHROPIC_API_KEY",
            "claude_code_version": VERSION, "output_style": "default", "agents": [],
            "skills": [], "plugins": [], "uuid": new_id(),
            "fast_mode_state": "off",
        })

    def stream(self, event, msg_id, **extra):
        obj = {"type": "stream_event", "event": event, "session_id": self.session_id,
               "parent_tool_use_id": None, "uuid": new_id()}
        obj.update(extra)
        obj["api_message_id"] = msg_id
        self.emit(obj)

    def assistant(self, msg_id, text, stop_reason=None, output_tokens=1, **extra):
        obj = {"type": "assistant", "message": {
            "id": msg_id, "type": "message", "role": "assistant", "model": self.model,
            "content": [{"type": "text", "text": text}], "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": {"input_tokens": 25, "cache_creation_input_tokens": 0,
                      "cache_read_input_tokens": 0, "output_tokens": output_tokens},
            "context_management": None},
            "parent_tool_use_id": None, "session_id": self.session_id, "uuid": new_id(),
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            "request_id": "req_fake_" + uuid.uuid4().hex[:16]}
        obj.update(extra)
        self.emit(obj)

    def result(self, text, is_error=False, stop_reason="end_turn", input_tokens=25,
               output_tokens=0, started=None, terminal_reason="completed",
               api_error_status=None, api_error_type=None, msg_ids=()):
        duration = int((time.time() - (started or time.time())) * 1000)
        usage = {"input_tokens": input_tokens, "cache_creation_input_tokens": 0,
                 "cache_read_input_tokens": 0, "output_tokens": output_tokens,
                 "output_tokens_details": {"thinking_tokens": 0},
                 "server_tool_use": {"web_search_requests": 0, "web_fetch_requests": 0},
                 "service_tier": "standard",
                 "cache_creation": {"ephemeral_1h_input_tokens": 0,
                                    "ephemeral_5m_input_tokens": 0},
                 "inference_geo": "", "iterations": [], "speed": "standard",
                 "fallback_credit": None}
        obj = {"duration_api_ms": duration, "stop_reason": stop_reason,
               "session_id": self.session_id,
               "total_cost_usd": 0 if is_error else 0.0002, "usage": usage,
               "modelUsage": {} if is_error else {self.model: {
                   "inputTokens": input_tokens, "outputTokens": output_tokens,
                   "cacheReadInputTokens": 0, "cacheCreationInputTokens": 0,
                   "webSearchRequests": 0, "costUSD": 0.0002, "contextWindow": 200000,
                   "maxOutputTokens": 32000}},
               "permission_denials": [], "terminal_reason": terminal_reason,
               "is_error": is_error, "num_turns": 1, "subtype": "success",
               "api_error_status": api_error_status}
        if api_error_type:
            obj["api_error_type"] = api_error_type
        obj.update({"result": text, "type": "result", "duration_ms": duration,
                    "uuid": new_id(), "begun_message_ids": list(msg_ids),
                    "queued_turn_count": 0, "result_index": 0})
        self.emit(obj)


def chunks(text, size=5):
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


def split_even(text, n):
    """Split text into n pieces of near-equal length (fewer if text is shorter)."""
    n = max(1, min(n, len(text)))
    size, extra = divmod(len(text), n)
    pieces, start = [], 0
    for i in range(n):
        end = start + size + (1 if i < extra else 0)
        pieces.append(text[start:end])
        start = end
    return pieces


def message_text(message):
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, str):
        return content
    parts = []
    for block in content or []:
        if isinstance(block, dict) and block.get("type") == "text":
            parts.append(block.get("text", ""))
    return "\n".join(parts)


class Stdin:
    """Line reader on fd 0 with timeouts (no Python buffering surprises)."""

    def __init__(self):
        self.buf = b""
        self.eof = False

    def readline(self, timeout=None):
        """A line (str, without newline), or None on timeout/EOF."""
        deadline = None if timeout is None else time.time() + timeout
        while True:
            if b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                return line.decode("utf-8", "replace")
            if self.eof:
                if self.buf:
                    line, self.buf = self.buf, b""
                    return line.decode("utf-8", "replace")
                return None
            wait = None if deadline is None else max(0.0, deadline - time.time())
            ready, _, _ = select.select([0], [], [], wait)
            if not ready:
                return None
            data = os.read(0, 65536)
            if not data:
                self.eof = True
            self.buf += data


def parse_line(line):
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None


def log_invocation(argv, stdin_lines):
    here = os.path.dirname(os.path.realpath(__file__))
    pointer = os.path.join(here, "fake_claude.logdir")
    try:
        with open(pointer) as f:
            folder = f.read().strip()
    except OSError:
        return
    if not folder:
        return
    entry = {"pid": os.getpid(), "ppid": os.getppid(), "argv": argv,
             "env": sorted(os.environ), "cwd": os.getcwd(), "stdin": stdin_lines,
             "t": time.time()}
    try:
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "invocations.jsonl"), "a") as f:
            f.write(json.dumps(entry) + "\n")
    except OSError:
        pass


def flag_value(argv, name, default=None):
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return default


def system_prompt(argv):
    """The text of the --system-prompt-file, or None without the flag."""
    path = flag_value(argv, "--system-prompt-file")
    if path is None:
        return None
    with open(path, encoding="utf-8") as f:
        return f.read()


def sleep_forever():
    while True:
        time.sleep(3600)


class Turn:
    def __init__(self, out, stdin, text, argv):
        self.out = out
        self.stdin = stdin
        self.text = text
        self.argv = argv
        self.started = time.time()
        self.interrupted = False

    def check_interrupt(self):
        """Non-blocking look for a control_request interrupt on stdin."""
        line = self.stdin.readline(timeout=0)
        if line is None:
            return False
        obj = parse_line(line)
        if obj and obj.get("type") == "control_request":
            req = obj.get("request") or {}
            self.out.emit({"type": "control_response", "response": {
                "subtype": "success", "request_id": obj.get("request_id"),
                "response": {"still_queued": []}}})
            if req.get("subtype") == "interrupt":
                self.interrupted = True
                return True
        return False

    def begin(self, msg_id):
        self.out.stream({"type": "message_start", "message": {
            "id": msg_id, "type": "message", "role": "assistant", "model": self.out.model,
            "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": 25, "cache_creation_input_tokens": 0,
                      "cache_read_input_tokens": 0, "output_tokens": 1}}},
            msg_id, ttft_ms=5)
        self.out.stream({"type": "content_block_start", "index": 0,
                         "content_block": {"type": "text", "text": ""}}, msg_id)

    def delta(self, msg_id, piece):
        self.out.stream({"type": "content_block_delta", "index": 0,
                         "delta": {"type": "text_delta", "text": piece}}, msg_id)

    def abandon(self, msg_id):
        self.out.stream({"type": "content_block_stop", "index": 0}, msg_id)
        self.out.stream({"type": "message_stop"}, msg_id,
                        abandoned_blocks={"api_message_id": msg_id, "from_block_index": 0})

    def full_stream(self, answer, pieces=None, delay=0.0, stop_reason="end_turn",
                    garbage=False):
        """Stream one whole message. Returns (msg_id, streamed_text, n_deltas)."""
        msg_id = new_id("msg_fake_")
        pieces = pieces if pieces is not None else chunks(answer)
        self.begin(msg_id)
        sent = ""
        for n, piece in enumerate(pieces):
            if garbage and n == 1:
                self.out.raw("this line is not JSON at all")
            if garbage and n == 3:
                self.out.raw('{"type":"stream_event","event":{"type":"content_block_del')
            self.delta(msg_id, piece)
            sent += piece
            if delay:
                time.sleep(delay)
            if self.check_interrupt():
                self.out.assistant(msg_id, sent, aborted=True)
                return msg_id, sent, n + 1
        self.out.assistant(msg_id, answer)
        self.out.stream({"type": "content_block_stop", "index": 0}, msg_id)
        self.out.stream({"type": "message_delta",
                         "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                         "usage": {"output_tokens": len(pieces)}}, msg_id)
        self.out.stream({"type": "message_stop"}, msg_id)
        return msg_id, sent, len(pieces)

    def run(self):
        """Play one turn. Returns the exit code the process should end with."""
        text, out = self.text, self.out
        for marker, (status, etype, error, message) in API_ERRORS.items():
            if marker in text:
                out.system("status", status="requesting")
                out.system("api_retry", attempt=1, max_retries=1, retry_delay_ms=500,
                           error_status=status, error=error)
                out.emit({"type": "assistant", "message": {
                    "id": new_id(), "model": "<synthetic>", "role": "assistant",
                    "stop_reason": "stop_sequence", "stop_sequence": "", "type": "message",
                    "usage": {"input_tokens": 0, "output_tokens": 0,
                              "cache_creation_input_tokens": 0,
                              "cache_read_input_tokens": 0},
                    "content": [{"type": "text", "text": message}],
                    "context_management": None},
                    "parent_tool_use_id": None, "session_id": out.session_id,
                    "uuid": new_id(), "error": error, "is_api_error_message": True,
                    "api_error_status": status, "api_error_type": etype})
                out.result(message, is_error=True, stop_reason="stop_sequence",
                           input_tokens=0, output_tokens=0, started=self.started,
                           terminal_reason="api_error", api_error_status=status,
                           api_error_type=etype)
                return 1

        if "FAKE:echo-argv-env" in text:
            answer = json.dumps({"argv": self.argv, "env": sorted(os.environ),
                                 "cwd": os.getcwd(), "system_prompt": system_prompt(self.argv)})
        else:
            answer = f"Fake answer to: {text}"

        out.system("status", status="requesting")
        if "FAKE:crash" in text:
            msg_id = new_id("msg_fake_")
            self.begin(msg_id)
            for piece in chunks(answer)[:2]:
                self.delta(msg_id, piece)
            sys.stdout.flush()
            # Exit at once: the deltas are in the pipe, and the responder must still deliver them.
            os._exit(3)

        if "FAKE:fallback" in text:
            msg_id = new_id("msg_fake_")
            self.begin(msg_id)
            self.delta(msg_id, chunks(answer)[0])
            self.abandon(msg_id)
            msg2 = new_id("msg_fake_")
            n = len(chunks(answer))
            out.assistant(msg2, answer, stop_reason="end_turn", output_tokens=n)
            out.result(answer, output_tokens=n, input_tokens=50, started=self.started,
                       msg_ids=[msg_id, msg2])
            return 0

        msg_ids = []
        if "FAKE:retry-restream" in text:
            msg_id = new_id("msg_fake_")
            msg_ids.append(msg_id)
            self.begin(msg_id)
            for piece in chunks(answer)[:2]:
                self.delta(msg_id, piece)
            self.abandon(msg_id)
            out.system("api_retry", attempt=1, max_retries=10, retry_delay_ms=527,
                       error_status=None, error="unknown")

        pieces, delay = None, 0.0
        if "FAKE:slow" in text:
            pieces = split_even(answer, 10)
            delay = 0.5
        elif "FAKE:flood" in text:
            pieces = ["0123456789abcdefghijklmnopqrstuvwxyzABCD"] * 200_000
            answer = "".join(pieces)
        elif "FAKE:echo-argv-env" in text:
            pieces = chunks(answer, 50)
        stop_reason = "max_tokens" if "FAKE:max-tokens" in text else "end_turn"
        msg_id, sent, n = self.full_stream(answer, pieces, delay, stop_reason,
                                           garbage="FAKE:garbage" in text)
        msg_ids.append(msg_id)
        if self.interrupted:
            out.emit({"type": "user", "message": {"role": "user", "content": [
                {"type": "text", "text": "[Request interrupted by user]"}]},
                "parent_tool_use_id": None, "session_id": out.session_id, "uuid": new_id()})
            out.result("", stop_reason=None, output_tokens=n, started=self.started,
                       terminal_reason="aborted_streaming", msg_ids=msg_ids)
            return 0
        out.result(answer, stop_reason=stop_reason, output_tokens=n, started=self.started,
                   msg_ids=msg_ids)
        return 0


def main():
    argv = sys.argv[:]
    if "--version" in argv[1:] or "-v" in argv[1:]:
        print(f"{VERSION} (Claude Code)")
        return 0
    signal.signal(signal.SIGINT, lambda *_: os._exit(0))

    out = Out(str(uuid.uuid4()), flag_value(argv, "--model", "claude-sonnet-4-5"))
    stdin = Stdin()
    all_lines = []
    code = 0
    first_turn = True
    while True:
        # Collect user lines: block for the first, then take what follows quickly.
        users = []
        line = stdin.readline()
        while line is not None:
            all_lines.append(line)
            obj = parse_line(line)
            if obj and obj.get("type") == "user":
                users.append(obj)
            line = stdin.readline(timeout=IDLE_AFTER_FIRST_LINE if users else None)
        if not users:
            if first_turn:
                log_invocation(argv, all_lines)
            return code
        text = message_text(users[-1].get("message") or {})
        if first_turn:
            log_invocation(argv, all_lines)

        if "FAKE:crash-start" in text:
            sys.stderr.write("Error: boom\n")
            sys.stderr.flush()
            return 1
        if "FAKE:hang-silent" in text:
            sleep_forever()
        if first_turn:
            if "--bare" in argv:
                out.system("ui_invalidate", event="ui.render")
            out.init(os.getcwd())
        first_turn = False
        if "FAKE:hang" in text:
            sleep_forever()
        if "FAKE:stderr-flood" in text:
            block = ("x" * 1023 + "\n").encode()
            for _ in range(5 * 1024):
                os.write(2, block)
        code = Turn(out, stdin, text, argv).run()
        if stdin.eof and not stdin.buf:
            return code


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:
        os._exit(141)
