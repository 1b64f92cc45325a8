# claude-code-api: `make run` serves the API on http://127.0.0.1:8080 (`make run TLS=1`: also
# https://127.0.0.1:8443, self-signed); `make test` runs every test.
# Both install what is missing first (Debian packages, the real Claude CLI, a Python venv for the test clients).
SHELL := /bin/bash
.DEFAULT_GOAL := run
PORT ?= 8080
TLS ?=
TLS_PORT ?= 8443
PYTEST := .venv/bin/python -m pytest

.PHONY: setup build build-release run test test-unit test-integration bench soak fuzz clean

setup:
	@scripts/setup system venv
	@scripts/setup cli >/dev/null

build: setup
	swift build

build-release: setup
	swift build -c release

run: build-release
	@PORT=$(PORT) TLS=$(TLS) TLS_PORT=$(TLS_PORT) CCA_BIN=.build/release/claude-code-api scripts/run-local

test: build
	$(MAKE) --no-print-directory test-unit test-integration

test-unit:
	swift test

test-integration:
	CLAUDE_BIN="$$(scripts/setup cli)" CCA_BIN=$(CURDIR)/.build/debug/claude-code-api $(PYTEST) Tests/Integration -q

bench: build-release
	CLAUDE_BIN="$$(scripts/setup cli)" CCA_BIN=$(CURDIR)/.build/release/claude-code-api .venv/bin/python scripts/bench.py

# A burst at 3x the CLI slots (real CLI, mock upstream), then 10,000 mixed requests (fake CLI) with leak checks.
soak: build-release
	CLAUDE_BIN="$$(scripts/setup cli)" CCA_BIN=$(CURDIR)/.build/release/claude-code-api .venv/bin/python scripts/soak.py

# A longer fuzz run of the request decoder and validation, and of the key headers (bounded ones are part of `make test`).
fuzz: setup
	FUZZ_ITERATIONS=$${FUZZ_ITERATIONS:-300000} swift test -c release -Xswiftc -enable-testing --filter 'RequestFuzzTests|APIKeyHeaderFuzzTests'

clean:
	rm -rf .build .venv .deps
