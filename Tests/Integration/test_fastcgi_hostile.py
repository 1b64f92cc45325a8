"""Hostile FastCGI input sent straight to the responder's unix socket, bypassing nginx.

Every survivable case is followed by the same check: the responder process is alive, answers
a well-formed GET /health both over FastCGI and through nginx, and holds no more descriptors
than before (no leaked connection). Inputs that kill this libfcgi build (2.4.2-2+deb12u1) are
shown in throwaway stacks; see HOSTILE_FASTCGI.md for the why of every outcome.
"""

from __future__ import annotations

import mmap
import resource
import signal
import struct
import time

import pytest

import fastcgi_raw as fr
from support import accepted_connections, fd_count, wait_until


READ_TIMEOUT_MS = 1000
# After a reply, or after dropping a connection, libfcgi's OS_IpcClose half-closes it and then
# drains input until 2 s pass with nothing new: a peer that stays connected holds its worker that
# long (see HOSTILE_FASTCGI.md, "Left").
LIBFCGI_CLOSE_DRAIN = 2.0
MARGIN = 3.0  # for a loaded 2-core machine


@pytest.fixture(scope="module")
def stack(_stack_factory):
    """One stack for every survivable case (a fake CLI: /health never starts a model turn)."""
    # A short read timeout, so that the stalled-peer cases are freed within the test's patience.
    s = _stack_factory.start(fake=True, name="hostile-fcgi",
                             extra_env={"CCA_REQUEST_READ_TIMEOUT_MS": str(READ_TIMEOUT_MS)})
    # Warm up (the /health CLI probe is cached 30 s), then note the descriptor baseline.
    assert fr.get_health_status(s.socket_path) == 200
    assert s.get("/health").status_code == 200
    s.fd_baseline = fd_count(s.responder_pid)
    yield s
    _stack_factory.close(s)


def _workers(stack) -> int:
    return int(stack.started_info().get("workers", 8))


def _wait_accepted(stack, count: int, timeout: float = 5.0):
    """Waits until the responder's workers have accepted ``count`` connections on its socket."""
    held = wait_until(lambda: accepted_connections(stack.socket_path) >= count, timeout, interval=0.01)
    assert held, (f"the responder accepted only {accepted_connections(stack.socket_path)} "
                  f"of {count} connections within {timeout}s")


def assert_still_serving(stack):
    """Alive, answering over FastCGI and through nginx, and no descriptor left behind."""
    assert stack.responder.poll() is None, \
        f"responder died: exit {stack.responder.returncode}\n{stack.log_tail(30)}"
    status = fr.get_health_status(stack.socket_path, timeout=10)
    assert status == 200, f"direct FastCGI GET /health: {status}"
    resp = stack.get("/health")
    assert resp.status_code == 200, f"nginx GET /health: {resp.status_code} {resp.text[:200]}"
    count = wait_until(lambda: fd_count(stack.responder_pid) <= stack.fd_baseline, timeout=6)
    assert count, (f"responder holds {fd_count(stack.responder_pid)} descriptors, "
                   f"{stack.fd_baseline} before the case")


def _send_and_close(path, data: bytes, reset: bool = False) -> fr.Reply:
    """Sends ``data``, closes at once (FIN, or RST when ``reset``), returns nothing read."""
    conn = fr.connect(path)
    conn.send(data)
    if reset:
        conn.abort()
    else:
        conn.close()
    return fr.Reply(closed=True)


def _send_shut_read(path, data: bytes, timeout: float = 5.0) -> fr.Reply:
    """Sends ``data``, half-closes (so the responder sees EOF), reads what comes back."""
    return fr.send_raw(path, data, read_timeout=timeout, close_write=True)


def _malloc_would_succeed(pid: int, size: int) -> bool:
    """Whether a ``size``-byte malloc (never touched) in process ``pid`` would get its memory: the
    kernel's overcommit policy, probed with a private anonymous mapping of that size here (never
    touched, unmapped at once), and ``pid``'s RLIMIT_AS against its present address space."""
    soft, _ = resource.prlimit(pid, resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        with open(f"/proc/{pid}/status") as f:
            vm_kib = next(int(line.split()[1]) for line in f if line.startswith("VmSize:"))
        if vm_kib * 1024 + size > soft:
            return False
    try:
        probe = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    except (OSError, OverflowError):
        return False
    probe.close()
    return True


def _pairs_with_lengths(name_len: int, value_len: int, data: bytes = b"A" * 16) -> bytes:
    """A name-value pair with 4-byte lengths that lie, followed by a few bytes of data."""
    return fr.encode_length(name_len, True) + fr.encode_length(value_len, True) + data


HEALTH = fr.health_params()
BAD_MODEL_BODY = b'{"model":"no-such-model","messages":[{"role":"user","content":"hi"}]}'


# -- the cases ------------------------------------------------------------------------
# Each returns the reply (or None) and asserts what libfcgi / the responder visibly does.


def case_truncated_header(path):
    reply = _send_shut_read(path, b"\x01\x01\x00")
    assert reply.closed and not reply.records


def case_begin_content_longer_than_sent(path):
    reply = _send_shut_read(path, fr.header(fr.BEGIN_REQUEST, 1, 8) + b"\x00\x01")
    assert reply.closed and not reply.records


def case_params_content_longer_than_sent(path):
    data = fr.begin_request(1) + fr.header(fr.PARAMS, 1, 5000) + b"x" * 10
    reply = _send_shut_read(path, data)
    assert reply.closed and reply.end_request is None


def case_header_claims_64k_then_close(path):
    _send_and_close(path, fr.begin_request(1) + fr.header(fr.PARAMS, 1, 0xFFFF, 0xFF) + b"\x05")


def case_unknown_type_before_begin(path):
    # Management record (request id 0): libfcgi answers UNKNOWN_TYPE and goes on.
    reply = fr.send_raw(path, fr.record(99, 0, b"") + fr.request_bytes())
    unknown = reply.of_type(fr.UNKNOWN_TYPE)
    assert unknown and unknown[0].content[0] == 99, reply
    assert reply.http_status == 200


def case_unknown_type_with_content_before_begin(path):
    # libfcgi answers UNKNOWN_TYPE but leaves the content unread, then drops the connection.
    reply = fr.send_raw(path, fr.record(99, 0, b"abcdefgh") + fr.request_bytes())
    assert reply.of_type(fr.UNKNOWN_TYPE)
    assert reply.end_request is None and reply.closed


def case_unknown_type_request_id_1_before_begin(path):
    reply = fr.send_raw(path, fr.record(99, 1, b"abcdefgh") + fr.request_bytes())
    assert reply.closed or reply.end_request is not None


def case_unknown_type_mid_request(path):
    # A stream record of the wrong type ends PARAMS early (libfcgi treats the protocol error
    # at a pair boundary as the end of the parameters); the request runs with what it had.
    data = (fr.begin_request(1) + fr.record(fr.PARAMS, 1, fr.encode_params(HEALTH))
            + fr.record(99, 1, b"zz") + fr.params(1, {"HTTP_X_LATE": "1"}) + fr.stdin(1, b""))
    reply = fr.send_raw(path, data)
    assert reply.end_request is not None, reply
    assert reply.http_status == 200


def case_unknown_type_mid_request_management(path):
    data = (fr.begin_request(1) + fr.record(fr.PARAMS, 1, fr.encode_params(HEALTH))
            + fr.record(99, 0, b"") + fr.record(fr.PARAMS, 1, b"") + fr.stdin(1, b""))
    reply = fr.send_raw(path, data)
    assert reply.of_type(fr.UNKNOWN_TYPE) and reply.http_status == 200, reply


def case_version_2(path):
    begin = fr.record(fr.BEGIN_REQUEST, 1, struct.pack(">HB5x", fr.RESPONDER, 0), version=2)
    reply = fr.send_raw(path, begin + fr.params(1, HEALTH) + fr.stdin(1, b""))
    assert reply.closed and reply.end_request is None


def case_version_0_mid_request(path):
    data = fr.begin_request(1) + fr.params(1, HEALTH, terminate=False) \
        + fr.record(fr.PARAMS, 1, b"", version=0) + fr.stdin(1, b"")
    reply = fr.send_raw(path, data)
    # The parameters end at the v0 record; the request runs with them.
    assert reply.end_request is not None and reply.http_status == 200, reply


def case_role_authorizer(path):
    # libfcgi accepts the role (FCGI_ROLE=AUTHORIZER); the responder answers as usual.
    reply = fr.request(path, role=fr.AUTHORIZER)
    assert reply.http_status == 200


def case_role_filter(path):
    reply = fr.request(path, role=fr.FILTER)
    assert reply.http_status == 200


def case_role_unknown(path):
    # libfcgi drops the connection instead of answering FCGI_UNKNOWN_ROLE.
    reply = fr.request(path, role=77)
    assert reply.end_request is None and reply.closed


def case_begin_request_id_0(path):
    reply = fr.request(path, request_id=0)
    assert reply.end_request is None and reply.closed


def case_begin_body_too_short(path):
    data = fr.record(fr.BEGIN_REQUEST, 1, b"\x00\x01\x00") + fr.params(1, HEALTH) + fr.stdin(1, b"")
    reply = fr.send_raw(path, data)
    assert reply.end_request is None and reply.closed


def case_second_request_id_multiplexed(path):
    data = (fr.begin_request(1) + fr.begin_request(2) + fr.params(1, HEALTH) + fr.stdin(1, b""))
    reply = fr.send_raw(path, data, request_id=1)
    ends = {r.request_id: struct.unpack(">IB", r.content[:5]) for r in reply.of_type(fr.END_REQUEST)}
    assert ends.get(2) == (0, fr.CANT_MPX_CONN), reply
    assert ends.get(1) == (0, fr.REQUEST_COMPLETE) and reply.http_status == 200, reply


def case_multiplexed_streams_interleaved(path):
    data = (fr.begin_request(1) + fr.begin_request(2) + fr.params(2, HEALTH)
            + fr.params(1, HEALTH) + fr.stdin(2, b"x" * 100) + fr.stdin(1, b""))
    reply = fr.send_raw(path, data)
    assert reply.end_request is not None, reply


def case_params_1mib_value(path):
    pairs = {**HEALTH, "HTTP_X_BIG": "v" * (1 << 20)}
    reply = fr.send_raw(path, fr.begin_request(1) + fr.params(1, pairs) + fr.stdin(1, b""),
                        read_timeout=10)
    assert reply.http_status == 200


def case_params_1mib_value_in_tiny_records(path):
    content = fr.encode_params({**HEALTH, "HTTP_X_BIG": "v" * (1 << 20)})
    data = fr.begin_request(1) + fr.records(fr.PARAMS, 1, content, chunk=1000) + fr.stdin(1, b"")
    reply = fr.send_raw(path, data, read_timeout=10)
    assert reply.http_status == 200


def case_params_10000_pairs(path):
    pairs = list(HEALTH.items()) + [(f"HTTP_X_{i}", "v") for i in range(10_000)]
    reply = fr.send_raw(path, fr.begin_request(1) + fr.params(1, pairs) + fr.stdin(1, b""),
                        read_timeout=10)
    assert reply.http_status == 200


def case_pair_lengths_exceed_record(path):
    pair = fr.name_value("ABC", "d", value_len=100)
    data = fr.begin_request(1) + fr.record(fr.PARAMS, 1, pair) + fr.record(fr.PARAMS, 1, b"") \
        + fr.stdin(1, b"")
    reply = fr.send_raw(path, data)
    assert reply.end_request is None and reply.closed


def case_pair_4byte_length_exceeds_record(path):
    pair = fr.name_value("ABC", "d", value_len=70_000)
    data = fr.begin_request(1) + fr.record(fr.PARAMS, 1, pair) + fr.params(1, HEALTH) \
        + fr.stdin(1, b"")
    reply = fr.send_raw(path, data)
    assert reply.end_request is None and reply.closed


def case_pair_length_0x7fffffff_rejected(path):
    # Exactly 0x7fffffff is what Debian's CVE-2025-23016 patch refuses.
    data = fr.begin_request(1) + fr.record(fr.PARAMS, 1, _pairs_with_lengths(0x7FFFFFFF, 0x7FFFFFFF)) \
        + fr.record(fr.PARAMS, 1, b"")
    reply = fr.send_raw(path, data)
    assert reply.end_request is None and reply.closed


def case_stdin_bigger_than_content_length(path):
    body = BAD_MODEL_BODY + b" " * 100_000
    reply = fr.request(path, "/v1/chat/completions", "POST", body,
                       extra_params={"CONTENT_LENGTH": "10", "CONTENT_TYPE": "application/json"})
    # The responder reads STDIN to its end (bounded by CCA_MAX_BODY_BYTES), not CONTENT_LENGTH:
    # the whole body is valid JSON naming an unknown model (the first 10 bytes would be a 400).
    assert reply.http_status == 404, reply.stdout[:300]


def case_stdin_beyond_body_limit(path):
    body = BAD_MODEL_BODY + b" " * (11 << 20)
    reply = fr.request(path, "/v1/chat/completions", "POST", body, timeout=20,
                       extra_params={"CONTENT_LENGTH": "", "CONTENT_TYPE": "application/json"})
    assert reply.http_status == 413, reply.stdout[:300]


def case_stdin_with_stdout_record(path):
    data = fr.begin_request(1) + fr.params(1, HEALTH) + fr.record(fr.STDOUT, 1, b"hi") \
        + fr.stdin(1, b"")
    reply = fr.send_raw(path, data)
    # The protocol error ends the STDIN stream; the request runs.
    assert reply.end_request is not None and reply.http_status == 200, reply


def case_max_padding(path):
    data = fr.begin_request(1) + fr.record(fr.PARAMS, 1, fr.encode_params(HEALTH), padding=255) \
        + fr.record(fr.PARAMS, 1, b"", padding=255) + fr.stdin(1, b"")
    assert fr.send_raw(path, data).http_status == 200


def case_close_after_begin(path):
    _send_and_close(path, fr.begin_request(1))


def case_close_after_params(path):
    _send_and_close(path, fr.begin_request(1) + fr.params(1, HEALTH))


def _chat_head(content_length: int) -> bytes:
    extra = {"CONTENT_LENGTH": str(content_length), "CONTENT_TYPE": "application/json"}
    return fr.begin_request(1) + fr.params(1, fr.health_params("/v1/chat/completions", "POST", extra))


def case_close_mid_stdin(path):
    _send_and_close(path, _chat_head(1000) + fr.record(fr.STDIN, 1, BAD_MODEL_BODY[:20]))


def case_reset_mid_stdin(path):
    _send_and_close(path, _chat_head(1000) + fr.record(fr.STDIN, 1, BAD_MODEL_BODY[:20]), reset=True)


def case_close_mid_stdin_record(path):
    _send_and_close(path, _chat_head(1000) + fr.header(fr.STDIN, 1, 500) + BAD_MODEL_BODY[:20])


def case_100_connections_opened_and_closed(path):
    conns = [fr.connect(path) for _ in range(100)]
    for c in conns:
        c.close()


def case_100_connections_reset(path):
    conns = [fr.connect(path) for _ in range(100)]
    for c in conns:
        c.abort()


def case_100_unknown_management_records(path):
    # libfcgi 2.4.2 leaks a small allocation per unknown management record (see the notes).
    reply = fr.send_raw(path, fr.record(99, 0, b"") * 100 + fr.request_bytes())
    assert len(reply.of_type(fr.UNKNOWN_TYPE)) == 100 and reply.http_status == 200


def case_get_values_each_name_once(path):
    names = [("FCGI_MAX_CONNS", ""), ("FCGI_MAX_REQS", ""), ("FCGI_MPXS_CONNS", "")]
    reply = fr.send_raw(path, fr.record(fr.GET_VALUES, 0, fr.encode_params(names)) + fr.request_bytes())
    result = reply.of_type(fr.GET_VALUES_RESULT)
    assert result and b"FCGI_MPXS_CONNS0" in result[0].content, reply
    assert reply.http_status == 200


CASES = {name[len("case_"):]: fn for name, fn in sorted(globals().items())
         if name.startswith("case_") and callable(fn)}


@pytest.mark.parametrize("case", list(CASES))
def test_responder_survives_hostile_input(stack, case):
    CASES[case](stack.socket_path)
    assert_still_serving(stack)


# -- timing: connections that send nothing ------------------------------------------------


def test_silent_connection_is_dropped_by_the_read_timeout(stack):
    """libfcgi's accept path polls a new unix-socket connection for 2 s and closes it when nothing arrived;
    the responder's read watchdog (CCA_REQUEST_READ_TIMEOUT_MS, 1 s in this stack) ends it sooner."""
    with fr.connect(stack.socket_path) as conn:
        waited = conn.wait_closed(timeout=10)
    assert waited is not None, "the responder kept a silent connection for 10 s"
    assert 0.8 <= waited <= 3, f"silent connection closed after {waited:.2f}s"
    assert_still_serving(stack)


def test_one_silent_connection_per_worker_only_delays_others(stack):
    workers = _workers(stack)
    conns = [fr.connect(stack.socket_path) for _ in range(workers)]
    try:
        _wait_accepted(stack, workers)  # every worker now sits in libfcgi's 2 s poll on a silent connection
        started = time.monotonic()
        status = fr.get_health_status(stack.socket_path, timeout=8)
        elapsed = time.monotonic() - started
    finally:
        for c in conns:
            c.close()
    assert status == 200, "a request queued behind silent connections was never answered"
    assert elapsed < 5, f"answered only after {elapsed:.1f}s"
    assert_still_serving(stack)


class WorkersHeld(Exception):
    """Every worker is held by a peer: a well-formed request got no answer."""


def test_partial_requests_cannot_hold_every_worker(stack):
    """libfcgi reads a started request with blocking reads and no timeout; the responder's read watchdog
    interrupts a worker that has been receiving one request for longer than CCA_REQUEST_READ_TIMEOUT_MS
    and drops that connection."""
    conns = []
    try:
        for _ in range(_workers(stack)):
            c = fr.connect(stack.socket_path)
            c.send(fr.begin_request(1))
            conns.append(c)
        # Every worker has taken one of them and now sits in read() on it (the BEGIN_REQUEST
        # ended libfcgi's accept poll at once).
        _wait_accepted(stack, len(conns))
        # Queued behind them, a well-formed request is answered once the watchdog has dropped
        # one (after the read timeout, then libfcgi's close drain: ~3 s here).
        status = fr.get_health_status(stack.socket_path,
                                      timeout=READ_TIMEOUT_MS / 1000 + LIBFCGI_CLOSE_DRAIN + MARGIN)
        if status != 200:
            raise WorkersHeld(f"{len(conns)} connections that sent only BEGIN_REQUEST held every "
                              f"worker: GET /health got {status}")
        dropped = [c.wait_closed(timeout=READ_TIMEOUT_MS / 1000 + MARGIN) for c in conns]
        assert all(d is not None for d in dropped), f"held connections not dropped: {dropped}"
    finally:
        for c in conns:
            c.close()
    assert_still_serving(stack)


def test_keep_conn_peers_cannot_hold_every_worker(stack):
    """FCGI_KEEP_CONN is refused: the connection is closed after each request."""
    conns = []
    try:
        for _ in range(_workers(stack)):
            c = fr.connect(stack.socket_path)
            conns.append(c)
            c.send(fr.request_bytes(flags=fr.KEEP_CONN))
            assert c.read_reply(timeout=5).http_status == 200
            assert c.wait_closed(timeout=5) is not None, "a FCGI_KEEP_CONN connection was kept open"
        # The peers stay connected, so each worker is free once libfcgi's close drain is over
        # (~2 s after its reply); a kept connection would hold it for ever.
        status = fr.get_health_status(stack.socket_path, timeout=LIBFCGI_CLOSE_DRAIN + MARGIN)
        if status != 200:
            raise WorkersHeld(f"{len(conns)} idle FCGI_KEEP_CONN connections held every worker: "
                              f"GET /health got {status}")
    finally:
        for c in conns:
            c.close()
    assert_still_serving(stack)


# -- inputs that kill this libfcgi build -------------------------------------------------


def _wait_exit(stack, timeout: float = 10.0):
    try:
        return stack.responder.wait(timeout=timeout)
    except Exception:
        return None


def _assert_killed_and_contained(stack, other, expected_signal: int, log_marker: str):
    code = _wait_exit(stack)
    assert code == -expected_signal, (f"expected death by {signal.Signals(expected_signal).name}, "
                                      f"got exit {code}\n{stack.log_tail(10)}")
    log = stack.log_path.read_text(errors="replace")
    assert log_marker in log, log[:2000]
    # The outage is this process's: nginx answers 502 for it, while another responder
    # (another process, as systemd's Restart=on-failure would start) serves on.
    assert stack.get("/health").status_code == 503  # nginx maps the 502 to its 503 error object
    assert other.responder.poll() is None
    assert fr.get_health_status(other.socket_path) == 200
    assert other.get("/health").status_code == 200


@pytest.mark.parametrize("name_len,value_len", [(0x7FFFFFFE, 0), (0x40000000, 0x3FFFFFFE)],
                         ids=["name-0x7ffffffe", "sum-0x7ffffffe"])
def test_libfcgi_known_abort_on_params_length_overflow_is_contained_to_the_process(
        make_stack, stack, name_len, value_len):
    """CVE-2025-23016 remainder: Debian's patch only refuses a length of exactly 0x7fffffff.
    When name + value + 2 exceeds INT_MAX the int sum wraps negative, becomes a huge size_t,
    malloc fails, and libfcgi's Malloc asserts: SIGABRT, inside FCGX_Accept_r, before the
    responder sees the request."""
    victim = make_stack(fake=True, name="fcgi-params-overflow")
    assert fr.get_health_status(victim.socket_path) == 200
    data = fr.begin_request(1) + fr.record(fr.PARAMS, 1, _pairs_with_lengths(name_len, value_len)) \
        + fr.record(fr.PARAMS, 1, b"")
    reply = fr.send_raw(victim.socket_path, data, read_timeout=10)
    assert reply.closed and reply.end_request is None
    _assert_killed_and_contained(victim, stack, signal.SIGABRT,
                                 "Malloc: Assertion `size == 0 || result != ((void *)0)' failed")


def test_largest_params_lengths_without_overflow_end_as_the_malloc_decides(make_stack, stack):
    """name + value + 2 == INT_MAX: libfcgi mallocs that much (~2 GiB, never touched), reads
    short and drops the connection. Where that malloc cannot succeed (overcommit 2, RLIMIT_AS,
    little memory) its Malloc asserts instead, as for the overflow above. Which one applies is
    known before the input is sent, and the test asserts exactly that one, in a throwaway stack."""
    victim = make_stack(fake=True, name="fcgi-params-largest")
    assert fr.get_health_status(victim.socket_path) == 200
    assert victim.get("/health").status_code == 200
    victim.fd_baseline = fd_count(victim.responder_pid)
    name_len, value_len = 0x3FFFFFFF, 0x3FFFFFFE
    malloc_succeeds = _malloc_would_succeed(victim.responder_pid, name_len + value_len + 2)
    data = fr.begin_request(1) + fr.record(fr.PARAMS, 1, _pairs_with_lengths(name_len, value_len)) \
        + fr.record(fr.PARAMS, 1, b"")
    reply = fr.send_raw(victim.socket_path, data, read_timeout=10)
    assert reply.end_request is None and reply.closed
    if malloc_succeeds:
        assert_still_serving(victim)
    else:
        _assert_killed_and_contained(victim, stack, signal.SIGABRT,
                                     "Malloc: Assertion `size == 0 || result != ((void *)0)' failed")


def test_libfcgi_known_abort_on_repeated_get_values_names_is_contained_to_the_process(
        make_stack, stack):
    """Not CVE-2025-23016 and not fixed in libfcgi 2.4.7 either: the FCGI_GET_VALUES answer
    is built in a 64-byte stack buffer sized for each known name once; repeating a name
    overflows it. With Debian's stack protector the process aborts ("stack smashing
    detected"); thousands of repeats write past the thread stack and end in SIGSEGV."""
    victim = make_stack(fake=True, name="fcgi-get-values")
    assert fr.get_health_status(victim.socket_path) == 200
    names = fr.encode_params([("FCGI_MAX_CONNS", "")] * 8)
    # Any record after it lets libfcgi finish reading the management record.
    reply = fr.send_raw(victim.socket_path, fr.record(fr.GET_VALUES, 0, names) + fr.request_bytes(),
                        read_timeout=10)
    assert reply.end_request is None
    _assert_killed_and_contained(victim, stack, signal.SIGABRT, "stack smashing detected")
