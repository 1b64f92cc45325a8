"""The responder's own memory: what serving turns maps in (the fake CLI; nothing here depends on the model)."""

from __future__ import annotations

import os
import subprocess

import httpx

from support import post_chat


# What the responder does without (README, "Benchmark": each kept megabytes resident): swift-corelibs-foundation and
# the ICU it brings (FoundationEssentials is enough), and OpenSSL's libcrypto (SHA-256 is the service's own).
UNWANTED = ("libFoundation.so", "libFoundationInternationalization", "lib_FoundationICU", "libcrypto")


def mapped_files(pid: int) -> set[str]:
    """Every file mapped into the process."""
    with open(f"/proc/{pid}/maps") as maps:
        return {fields[5] for fields in (line.split() for line in maps) if len(fields) > 5}


def test_serving_every_surface_maps_no_foundation_icu_or_libcrypto(make_stack):
    # `make test` runs the debug build, which links the Swift libraries dynamically: an `import Foundation`
    # anywhere in the responder would map libFoundation.so (and ICU with it) from the start.
    stack = make_stack(fake=True, name="memory")
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
    files = mapped_files(stack.responder_pid)
    unwanted = sorted(name for name in files if any(library in name for library in UNWANTED))
    assert not unwanted, f"mapped: {unwanted}"
    if not any("libswiftCore.so" in name for name in files):
        # The release build links the Swift libraries in: Foundation would show as symbols of its module.
        symbols = subprocess.run(["nm", "--defined-only", os.readlink(f"/proc/{stack.responder_pid}/exe")],
                                 capture_output=True, text=True, check=True).stdout
        assert "$s20FoundationEssentials" in symbols, "the binary's symbols cannot be read"
        assert "$s10Foundation" not in symbols, "swift-corelibs-foundation is linked in"
