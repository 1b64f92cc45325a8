"""The responder's own memory: what serving turns maps in (the fake CLI; nothing here depends on the model)."""

from __future__ import annotations

import httpx

from support import post_chat


def resident_kib_of(pid: int, library: str) -> int:
    """Resident KiB of every mapping of ``library`` in the process (0 when it is not mapped)."""
    total, current = 0, None
    with open(f"/proc/{pid}/smaps") as smaps:
        for line in smaps:
            fields = line.split()
            if fields and "-" in fields[0] and not fields[0].endswith(":"):
                current = fields[5] if len(fields) > 5 else ""
            elif fields and fields[0] == "Rss:" and current and library in current:
                total += int(fields[1])
    return total


def test_serving_every_surface_leaves_icu_unloaded(make_stack):
    # ICU (lib_FoundationICU, ~3.5 MB resident) comes in through Foundation's locale-aware paths: a sorted-keys
    # JSONSerialization, ISO 8601 date styles, the current time zone. None of them is needed to serve a turn.
    stack = make_stack(fake=True, name="memory")
    # What the dynamic loader made resident (relocations) is there from the start; growth means ICU code ran.
    at_start = resident_kib_of(stack.responder_pid, "FoundationICU")
    history = [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "one"},
               {"role": "assistant", "content": "two"}, {"role": "user", "content": "three"}]
    for stream in (False, True):
        assert post_chat(stack, {"model": "claude-sonnet-4-5", "stream": stream, "messages": history}).status_code == 200
    headers = {"anthropic-version": "2023-06-01"}
    assert httpx.post(stack.base_url + "/v1/messages", headers=headers, timeout=30, json={
        "model": "claude-sonnet-4-5", "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}]}).status_code == 200
    assert httpx.post(stack.base_url + "/v1/responses", timeout=30, json={
        "model": "claude-sonnet-4-5", "input": "hi", "store": False}).status_code == 200
    for path in ("/v1/models", "/health", "/status", "/metrics"):
        assert stack.get(path).status_code == 200, path
    grown = resident_kib_of(stack.responder_pid, "FoundationICU") - at_start
    assert grown < 256, f"ICU was used: lib_FoundationICU grew by {grown} KiB resident"
