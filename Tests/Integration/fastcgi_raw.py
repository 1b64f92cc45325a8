"""A small raw FastCGI client (stdlib only) for sending well-formed and hostile records
straight to the responder's unix socket, bypassing nginx.

Everything here builds bytes; nothing checks that they make sense, so tests can send any
malformed record they like. Reading the reply parses records loosely and never raises on a
short or broken reply: a test can always see what came back and how the connection ended.

    with connect(stack.socket_path) as conn:
        conn.send(begin_request(1) + params(1, {"REQUEST_METHOD": "GET"}) + stdin(1, b""))
        reply = conn.read_reply(timeout=5)
        reply.http_status   # 200
"""

from __future__ import annotations

import socket
import struct
import time
from dataclasses import dataclass, field

VERSION_1 = 1

# Record types (FastCGI 1.0 specification, section 8).
BEGIN_REQUEST = 1
ABORT_REQUEST = 2
END_REQUEST = 3
PARAMS = 4
STDIN = 5
STDOUT = 6
STDERR = 7
DATA = 8
GET_VALUES = 9
GET_VALUES_RESULT = 10
UNKNOWN_TYPE = 11

# Roles.
RESPONDER = 1
AUTHORIZER = 2
FILTER = 3

# BEGIN_REQUEST flags.
KEEP_CONN = 1

# END_REQUEST protocol status.
REQUEST_COMPLETE = 0
CANT_MPX_CONN = 1
OVERLOADED = 2
UNKNOWN_ROLE = 3

MAX_CONTENT = 0xFFFF
HEADER_LEN = 8


# -- building records -------------------------------------------------------------


def header(rtype: int, request_id: int, content_length: int, padding_length: int = 0,
           version: int = VERSION_1, reserved: int = 0) -> bytes:
    """An 8-byte record header. The declared lengths need not match anything sent after it."""
    return struct.pack(">BBHHBB", version & 0xFF, rtype & 0xFF, request_id & 0xFFFF,
                       content_length & 0xFFFF, padding_length & 0xFF, reserved & 0xFF)


def record(rtype: int, request_id: int, content: bytes = b"", padding: int | None = None,
           version: int = VERSION_1) -> bytes:
    """One record: header, content, padding (by default to a multiple of 8, as libfcgi does)."""
    if len(content) > MAX_CONTENT:
        raise ValueError(f"record content of {len(content)} bytes; use records() to split it")
    if padding is None:
        padding = (-len(content)) % 8
    return header(rtype, request_id, len(content), padding, version) + content + b"\0" * padding


def records(rtype: int, request_id: int, content: bytes, chunk: int = MAX_CONTENT,
            terminate: bool = True) -> bytes:
    """A stream (PARAMS, STDIN, DATA) split into records of at most ``chunk`` bytes,
    followed by the empty record that ends the stream when ``terminate``."""
    out = bytearray()
    for start in range(0, len(content), chunk):
        out += record(rtype, request_id, content[start:start + chunk])
    if terminate:
        out += record(rtype, request_id, b"")
    return bytes(out)


def begin_request(request_id: int = 1, role: int = RESPONDER, flags: int = 0) -> bytes:
    body = struct.pack(">HB5x", role & 0xFFFF, flags & 0xFF)
    return record(BEGIN_REQUEST, request_id, body)


def encode_length(n: int, long: bool | None = None) -> bytes:
    """A name-value length: 1 byte when it fits in 7 bits (unless ``long``), else 4 bytes with
    the top bit set. ``n`` may be anything up to 0x7fffffff; nothing checks it against the data."""
    if long is None:
        long = n > 0x7F
    if long:
        return struct.pack(">I", (n & 0x7FFFFFFF) | 0x80000000)
    if n > 0x7F:
        raise ValueError(f"{n} does not fit a 1-byte length")
    return bytes([n])


def name_value(name: bytes | str, value: bytes | str, name_len: int | None = None,
               value_len: int | None = None, long_name: bool | None = None,
               long_value: bool | None = None) -> bytes:
    """One name-value pair. ``name_len``/``value_len`` override the declared lengths (to lie)."""
    name = name.encode() if isinstance(name, str) else name
    value = value.encode() if isinstance(value, str) else value
    nl = len(name) if name_len is None else name_len
    vl = len(value) if value_len is None else value_len
    return encode_length(nl, long_name) + encode_length(vl, long_value) + name + value


def encode_params(pairs: dict | list) -> bytes:
    items = pairs.items() if isinstance(pairs, dict) else pairs
    return b"".join(name_value(n, v) for n, v in items)


def params(request_id: int, pairs: dict | list, terminate: bool = True) -> bytes:
    """PARAMS records carrying ``pairs`` (split over records as needed), then the empty one."""
    return records(PARAMS, request_id, encode_params(pairs), terminate=terminate)


def stdin(request_id: int, body: bytes, terminate: bool = True) -> bytes:
    return records(STDIN, request_id, body, terminate=terminate)


def health_params(path: str = "/health", method: str = "GET", extra: dict | None = None) -> dict:
    """The parameters nginx would send for a simple request."""
    p = {
        "REQUEST_METHOD": method,
        "REQUEST_URI": path,
        "DOCUMENT_URI": path,
        "SCRIPT_NAME": path,
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "GATEWAY_INTERFACE": "CGI/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "CONTENT_LENGTH": "",
        "CONTENT_TYPE": "",
        "HTTP_HOST": "localhost",
    }
    p.update(extra or {})
    return p


def request_bytes(path: str = "/health", method: str = "GET", body: bytes = b"",
                  request_id: int = 1, role: int = RESPONDER, flags: int = 0,
                  extra_params: dict | None = None) -> bytes:
    """A complete, well-formed request as nginx would send it."""
    extra = dict(extra_params or {})
    if body and "CONTENT_LENGTH" not in extra:
        extra["CONTENT_LENGTH"] = str(len(body))
    return (begin_request(request_id, role, flags)
            + params(request_id, health_params(path, method, extra))
            + stdin(request_id, body))


# -- reading replies ----------------------------------------------------------------


@dataclass
class Record:
    version: int
    type: int
    request_id: int
    content: bytes
    padding: int


@dataclass
class Reply:
    """What came back on one connection."""
    records: list = field(default_factory=list)
    closed: bool = False        # the responder closed (EOF or reset)
    timed_out: bool = False     # the deadline passed first
    reset: bool = False         # ECONNRESET / EPIPE
    trailing: bytes = b""       # bytes after the last complete record
    elapsed: float = 0.0

    def of_type(self, rtype: int) -> list:
        return [r for r in self.records if r.type == rtype]

    @property
    def stdout(self) -> bytes:
        return b"".join(r.content for r in self.of_type(STDOUT))

    @property
    def stderr(self) -> bytes:
        return b"".join(r.content for r in self.of_type(STDERR))

    @property
    def end_request(self) -> tuple[int, int] | None:
        """(appStatus, protocolStatus) of the first END_REQUEST, or None."""
        for r in self.of_type(END_REQUEST):
            if len(r.content) >= 5:
                app, proto = struct.unpack(">IB", r.content[:5])
                return app, proto
        return None

    @property
    def headers(self) -> dict:
        head = self.stdout.split(b"\r\n\r\n", 1)[0]
        out = {}
        for line in head.split(b"\r\n"):
            if b":" in line:
                k, v = line.split(b":", 1)
                out[k.strip().lower().decode("latin-1")] = v.strip().decode("latin-1")
        return out

    @property
    def http_status(self) -> int | None:
        """The status from the ``Status:`` header (200 when STDOUT has headers but no Status)."""
        if not self.stdout:
            return None
        status = self.headers.get("status")
        if status is None:
            return 200 if b"\r\n\r\n" in self.stdout else None
        try:
            return int(status.split()[0])
        except (ValueError, IndexError):
            return None

    @property
    def body(self) -> bytes:
        parts = self.stdout.split(b"\r\n\r\n", 1)
        return parts[1] if len(parts) == 2 else b""


def parse_records(data: bytes) -> tuple[list, bytes]:
    """Complete records in ``data`` and the leftover bytes."""
    out, pos = [], 0
    while len(data) - pos >= HEADER_LEN:
        version, rtype, rid, clen, plen, _ = struct.unpack(">BBHHBB", data[pos:pos + HEADER_LEN])
        end = pos + HEADER_LEN + clen + plen
        if end > len(data):
            break
        out.append(Record(version, rtype, rid, data[pos + HEADER_LEN:pos + HEADER_LEN + clen], plen))
        pos = end
    return out, data[pos:]


class Connection:
    """One stream connection to a FastCGI unix socket, or to a TCP one when ``path`` is a
    ``(host, port)`` pair (from the address ``source``, when given)."""

    def __init__(self, path, timeout: float = 5.0, source: str | None = None):
        if isinstance(path, tuple):
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            if source is not None:
                self.sock.bind((source, 0))
            self.sock.settimeout(timeout)
            self.sock.connect(path)
        else:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            self.sock.connect(str(path))
        self._buffer = b""

    def send(self, data: bytes) -> bool:
        """Sends everything; False when the responder closed the connection meanwhile."""
        try:
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError):
            return False

    def send_slowly(self, data: bytes, piece: int = 1, pause: float = 0.0) -> bool:
        for start in range(0, len(data), piece):
            if not self.send(data[start:start + piece]):
                return False
            if pause:
                time.sleep(pause)
        return True

    def shutdown_write(self):
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def read_reply(self, timeout: float = 10.0, until_end_request: bool = True,
                   request_id: int | None = None) -> Reply:
        """Reads records until END_REQUEST (when ``until_end_request``; of ``request_id`` when
        given, else of any request), EOF, or ``timeout``."""
        reply = Reply()
        started = time.monotonic()
        deadline = started + timeout
        data = self._buffer
        while True:
            recs, rest = parse_records(data)
            if until_end_request and any(r.type == END_REQUEST and request_id in (None, r.request_id)
                                         for r in recs):
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                reply.timed_out = True
                break
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                reply.timed_out = True
                break
            except (ConnectionResetError, BrokenPipeError):
                reply.closed = reply.reset = True
                break
            if not chunk:
                reply.closed = True
                break
            data += chunk
        reply.records, reply.trailing = parse_records(data)
        self._buffer = b""
        reply.elapsed = time.monotonic() - started
        return reply

    def wait_closed(self, timeout: float) -> float | None:
        """Discards input until the responder closes; seconds it took, None on timeout."""
        started = time.monotonic()
        deadline = started + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self.sock.settimeout(remaining)
            try:
                if not self.sock.recv(65536):
                    return time.monotonic() - started
            except socket.timeout:
                return None
            except (ConnectionResetError, BrokenPipeError):
                return time.monotonic() - started

    def abort(self):
        """Closes with a reset (SO_LINGER 0) instead of an orderly FIN."""
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def connect(path, timeout: float = 5.0, source: str | None = None) -> Connection:
    return Connection(path, timeout, source)


def send_raw(path, data: bytes, read_timeout: float = 5.0, close_write: bool = False,
             request_id: int | None = None) -> Reply:
    """Sends ``data`` on a fresh connection, reads what comes back until END_REQUEST (of
    ``request_id`` when given), EOF or the timeout, then closes."""
    with connect(path) as conn:
        sent = conn.send(data)
        if close_write:
            conn.shutdown_write()
        reply = conn.read_reply(timeout=read_timeout, request_id=request_id)
        if not sent:
            reply.closed = True
        return reply


def request(path, http_path: str = "/health", method: str = "GET", body: bytes = b"",
            timeout: float = 10.0, **kwargs) -> Reply:
    """One well-formed request over FastCGI; the whole reply."""
    return send_raw(path, request_bytes(http_path, method, body, **kwargs), read_timeout=timeout)


def get_health_status(path, timeout: float = 10.0) -> int | None:
    """GET /health straight over FastCGI; the HTTP status from STDOUT's ``Status:`` header,
    or None when no answer came."""
    return request(path, "/health", timeout=timeout).http_status
