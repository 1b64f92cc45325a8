# claude-code-api: `make run` serves the API on http://127.0.0.1:8080 (`make run TLS=1`: also
# https://127.0.0.1:8443, self-signed); `make test` runs every test.
# Both install what is missing first (Debian packages, the real Claude CLI, a Python venv for the test clients).
SHELL := /bin/bash
.DEFAULT_GOAL := run
PORT ?= 8080
TLS ?=
TLS_PORT ?= 8443
PYTEST := .venv/bin/python -m pytest

# Installation (make install, make deb). PREFIX and DESTDIR as usual; the configuration is always under /etc.
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR = $(PREFIX)/bin
UNITDIR ?= $(PREFIX)/lib/systemd/system
DOCDIR = $(PREFIX)/share/doc/claude-code-api
MANDIR = $(PREFIX)/share/man
DATADIR = $(PREFIX)/share/claude-code-api
HELPERDIR = $(PREFIX)/lib/claude-code-api
NGINX_SITE = /etc/nginx/sites-available/claude-code-api
# The CLI the service runs (the unit's CCA_CLAUDE_PATH); INSTALL_CLI=1 installs the one scripts/setup fetches there.
CLI_PATH ?= $(PREFIX)/bin/claude
INSTALL_CLI ?= 0
# The nginx site: what it listens on and answers to, and the socket of claude-code-api.socket.
NGINX_LISTEN ?= 80
NGINX_SERVER_NAME ?= _
FCGI_SOCKET = /run/claude-code-api/fcgi.sock
# Which build is installed: release (make install, make deb) or debug (the layout check of make test).
CONFIGURATION ?= release
BIN = .build/$(CONFIGURATION)/claude-code-api
DEB_VERSION ?= 0~git$(shell git log -1 --format=%cd --date=format:%Y%m%d%H%M%S).$(shell git rev-parse --short HEAD)
DEB_MAINTAINER ?= $(shell git log -1 --format='%an <%ae>')
DEB_ROOT = .build/deb/root
DEB_FILE = .build/deb/claude-code-api_$(DEB_VERSION)_amd64.deb

.PHONY: setup build build-release run test test-unit test-integration bench soak fuzz clean \
        build-installed install install-files install-config deb

setup:
	@scripts/setup system venv
	@scripts/setup cli >/dev/null

build: setup
	swift build

# Release builds link the Swift runtime in, and look for no library beside the binary ($ORIGIN): the binary runs
# where no Swift toolchain is installed (a server, the package). They link with the toolchain's lld and pack the
# relative relocations (DT_RELR, glibc 2.36+): the loader reads some kilobytes instead of a 1.9 MB table at every
# start, and those pages no longer stay resident. Nothing loads into the binary, so it exports no symbols (5,200
# otherwise: 440 KB of tables kept resident). README, "Benchmark". The binary stays position-independent.
SWIFT_FLAGS_debug :=
SWIFT_FLAGS_release := -c release --static-swift-stdlib --disable-local-rpath \
	-Xswiftc -use-ld=lld -Xlinker -z -Xlinker pack-relative-relocs -Xlinker --no-export-dynamic

build-release: setup
	swift build $(SWIFT_FLAGS_release)

# What install and deb install: the build of CONFIGURATION, with the Debian packages only (no test venv, no CLI).
build-installed:
	@scripts/setup system
	swift build $(SWIFT_FLAGS_$(CONFIGURATION))

run: build-release
	@PORT=$(PORT) TLS=$(TLS) TLS_PORT=$(TLS_PORT) CCA_BIN=.build/release/claude-code-api scripts/run-local

test: build
	$(MAKE) --no-print-directory test-unit test-integration

test-unit:
	swift test

test-integration:
	CLAUDE_BIN="$$(scripts/setup cli)" CCA_BIN=$(CURDIR)/.build/debug/claude-code-api $(PYTEST) Tests/Integration -q

# Issue 13's benchmark against the bare CLI (README, "Benchmark"): about 10 minutes; BENCH_ROUNDS (10) and the other
# BENCH_* variables of scripts/bench.py shorten it. Every round also goes to .run/bench.json.
bench: build-release
	CLAUDE_BIN="$$(scripts/setup cli)" CCA_BIN=$(CURDIR)/.build/release/claude-code-api .venv/bin/python scripts/bench.py

# A burst at 3x the CLI slots (real CLI, mock upstream), then 10,000 mixed requests (fake CLI) with leak checks.
soak: build-release
	CLAUDE_BIN="$$(scripts/setup cli)" CCA_BIN=$(CURDIR)/.build/release/claude-code-api .venv/bin/python scripts/soak.py

# A longer fuzz run of the request decoder and validation, and of the key headers (bounded ones are part of `make test`).
fuzz: setup
	FUZZ_ITERATIONS=$${FUZZ_ITERATIONS:-300000} swift test -c release -Xswiftc -enable-testing --filter 'RequestFuzzTests|APIKeyHeaderFuzzTests'

# The binary, the units, the nginx site, the docs; /etc/claude-code-api/env and keys (never overwritten); without
# DESTDIR also the groups claude-code-api-fcgi (with www-data) and claude-code-api-keys (packaging/setup-host).
install: build-installed
	$(MAKE) --no-print-directory install-files install-config
	@echo "claude-code-api installed under $(DESTDIR)$(PREFIX); next: README, \"Running in production\"" >&2

install-files:
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(DOCDIR) $(DESTDIR)$(DATADIR) \
	    $(DESTDIR)$(HELPERDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(dir $(NGINX_SITE))
	install -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/claude-code-api
	for unit in claude-code-api.service claude-code-api.socket; do \
	    sed -e 's|/usr/local/bin/claude-code-api|$(BINDIR)/claude-code-api|' \
	        -e 's|CCA_CLAUDE_PATH=/usr/local/bin/claude$$|CCA_CLAUDE_PATH=$(CLI_PATH)|' \
	        -e 's|file:///usr/local/share/doc/claude-code-api/|file://$(DOCDIR)/|' systemd/$$unit > .build/$$unit.installed && \
	    install -m 0644 .build/$$unit.installed $(DESTDIR)$(UNITDIR)/$$unit && rm .build/$$unit.installed || exit 1; \
	done
	install -m 0644 README.md $(DESTDIR)$(DOCDIR)/README.md
	sed -e 's|/usr/share/claude-code-api/|$(DATADIR)/|' -e 's|/usr/share/doc/claude-code-api/|$(DOCDIR)/|' \
	    -e 's|/usr/local/bin/claude\b|$(CLI_PATH)|' packaging/claude-code-api.8 | gzip -9n > .build/claude-code-api.8.gz
	install -m 0644 .build/claude-code-api.8.gz $(DESTDIR)$(MANDIR)/man8/claude-code-api.8.gz && rm .build/claude-code-api.8.gz
	install -m 0644 .env.example $(DESTDIR)$(DATADIR)/env.example
	install -m 0644 packaging/keys.example $(DESTDIR)$(DATADIR)/keys.example
	install -m 0755 packaging/setup-host $(DESTDIR)$(HELPERDIR)/setup-host
	scripts/render-nginx-site --server-name '$(NGINX_SERVER_NAME)' $(NGINX_LISTEN) $(FCGI_SOCKET) > .build/nginx-site
	install -m 0644 .build/nginx-site $(DESTDIR)$(DATADIR)/nginx-site
	@if [ -e $(DESTDIR)$(NGINX_SITE) ]; then echo "kept $(DESTDIR)$(NGINX_SITE) (the new rendering: $(DESTDIR)$(DATADIR)/nginx-site)" >&2; \
	else install -m 0644 .build/nginx-site $(DESTDIR)$(NGINX_SITE); fi
	rm .build/nginx-site
ifeq ($(INSTALL_CLI),1)
	install -m 0755 "$$(scripts/setup cli-fetch)" $(DESTDIR)$(CLI_PATH)
endif

install-config:
	packaging/setup-host --templates $(DESTDIR)$(DATADIR) $(if $(DESTDIR),--root $(DESTDIR) --files-only)
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi

# A Debian package of the release build (packaging/build-deb), checked with dpkg-deb, lintian and a trial
# install and purge in a throwaway root (packaging/check-deb).
deb: CONFIGURATION = release
deb: build-installed
	@scripts/setup package
	rm -rf $(DEB_ROOT)
	$(MAKE) --no-print-directory install-files DESTDIR=$(CURDIR)/$(DEB_ROOT) PREFIX=/usr UNITDIR=/lib/systemd/system \
	    CLI_PATH=/usr/local/bin/claude INSTALL_CLI=0 CONFIGURATION=release
	packaging/build-deb $(DEB_ROOT) '$(DEB_VERSION)' '$(DEB_MAINTAINER)' $(DEB_FILE)
	packaging/check-deb $(DEB_FILE)

clean:
	rm -rf .build .venv .deps
