"""Fixtures that run the real stack: mock Anthropic API <- claude CLI <- responder <- nginx.

Everything binds to 127.0.0.1 or to unix sockets in a fresh temporary folder, every
process runs in its own process group, and everything is stopped at teardown.

Environment:
  CCA_BIN        the responder binary (default <repo>/.build/debug/claude-code-api)
  CLAUDE_BIN     the real Claude Code CLI (default: `claude` on PATH, else <repo>/.deps/bin/claude)
  NGINX_BIN      nginx (default: `nginx` on PATH, else /usr/sbin/nginx)
  CCA_KEEP_TMP=1 keep the stacks' temporary folders (logs, nginx config) after the run
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))

from mock_anthropic import MockAnthropic  # noqa: E402
from stack import Stack, nginx_binary, responder_binary  # noqa: E402

WORKERS = 8
# The session stacks' SSE keep-alive interval: far longer than any test's turn. A stream's status
# line waits for its first content or its first keep-alive; with the keep-alive this far off, a
# turn that fails before any output always answers with a real HTTP status, which the tests of
# early failures assert exactly. (The keep-alive itself has its own test, with its own stack.)
SESSION_PING_INTERVAL = "300"


def real_cli_path() -> str:
    """The real Claude Code CLI. Not finding it is a failure, never a skip."""
    candidates = [os.environ.get("CLAUDE_BIN"), shutil.which("claude"),
                  str(REPO / ".deps" / "bin" / "claude")]
    for candidate in candidates:
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail("The real Claude Code CLI was not found: set CLAUDE_BIN, put `claude` on PATH, "
                f"or install it at {REPO / '.deps/bin/claude'} (it ships inside the PyPI wheel "
                "claude-agent-sdk as claude_agent_sdk/_bundled/claude).", pytrace=False)


def _binaries() -> tuple:
    """The responder and nginx; a missing one fails the test (no traceback)."""
    try:
        return responder_binary(), nginx_binary()
    except RuntimeError as err:
        message = str(err)
    pytest.fail(message, pytrace=False)


class StackFactory:
    """Starts stacks (stack.Stack) against one mock upstream and remembers them for teardown."""

    live: list[Stack] = []  # all stacks of the session, for failure reports

    def __init__(self, mock: MockAnthropic):
        self.mock = mock
        self.stacks: list[Stack] = []

    def start(self, cli: str | None = None, extra_env: dict | None = None, name: str = "stack",
              fake: bool = False, nginx_max_body: str = "11m", count: int = 1,
              workers: int = WORKERS, nginx_options: dict | None = None,
              listen: list[str] | None = None) -> Stack:
        if cli is None and not fake:
            cli = real_cli_path()
        binary, nginx = _binaries()
        stack = Stack(cli, self.mock.url, fake=fake, count=count, name=name, binary=binary,
                      nginx=nginx, workers=workers, extra_env=extra_env,
                      nginx_max_body=nginx_max_body, nginx_options=nginx_options, listen=listen)
        self.stacks.append(stack)
        StackFactory.live.append(stack)
        try:
            stack.start()
        except BaseException:
            self.close(stack)
            raise
        return stack

    def close(self, stack: Stack):
        try:
            stack.close()
        finally:
            if stack in self.stacks:
                self.stacks.remove(stack)
            if stack in StackFactory.live:
                StackFactory.live.remove(stack)

    def close_all(self):
        for stack in list(self.stacks):
            self.close(stack)


# -- fixtures ------------------------------------------------------------------


@pytest.fixture(scope="session")
def mock_upstream():
    mock = MockAnthropic("127.0.0.1", 0).start()
    yield mock
    mock.stop()


@pytest.fixture(scope="session")
def _stack_factory(mock_upstream):
    factory = StackFactory(mock_upstream)
    yield factory
    factory.close_all()


@pytest.fixture
def make_stack(_stack_factory):
    """A factory: ``make_stack(cli=None, extra_env=None, fake=False)``; the stacks it starts
    are stopped when the test ends. ``cli=None`` means the real CLI, ``fake=True`` the fake;
    ``count`` responders (one socket each) share the one nginx; ``nginx_options`` are
    render-nginx-conf options; ``listen`` TCP addresses for the responders (see stack.Stack)."""
    started = []

    def make(cli: str | None = None, extra_env: dict | None = None, fake: bool = False,
             name: str = "adhoc", nginx_max_body: str = "11m", count: int = 1,
             workers: int = WORKERS, nginx_options: dict | None = None, listen: list[str] | None = None):
        stack = _stack_factory.start(cli=cli, extra_env=extra_env, fake=fake, name=name,
                                     nginx_max_body=nginx_max_body, count=count, workers=workers,
                                     nginx_options=nginx_options, listen=listen)
        started.append(stack)
        return stack

    yield make
    for stack in started:
        _stack_factory.close(stack)


@pytest.fixture(scope="session")
def real_stack(_stack_factory):
    """The stack with the real Claude Code CLI against the mock upstream."""
    stack = _stack_factory.start(cli=real_cli_path(), name="real",
                                 extra_env={"CCA_PING_INTERVAL_SECONDS": SESSION_PING_INTERVAL})
    yield stack
    _stack_factory.close(stack)


@pytest.fixture(scope="session")
def fake_stack(_stack_factory):
    """The stack with fake_claude.py as the CLI. Its environment carries a variable that
    must never reach the CLI (SECRET_SHOULD_NOT_LEAK)."""
    stack = _stack_factory.start(fake=True, name="fake",
                                 extra_env={"SECRET_SHOULD_NOT_LEAK": "1",
                                            "CCA_PING_INTERVAL_SECONDS": SESSION_PING_INTERVAL})
    yield stack
    _stack_factory.close(stack)


@pytest.fixture(scope="session")
def real_models(real_stack) -> list[str]:
    resp = real_stack.get("/v1/models")
    assert resp.status_code == 200, resp.text
    return [m["id"] for m in resp.json()["data"]]


@pytest.fixture(scope="session")
def claude_model(real_models) -> str:
    """A Claude model name the service accepts (claude-sonnet-4-5 when listed)."""
    for name in ("claude-sonnet-4-5", *real_models):
        if name in real_models and name.startswith("claude"):
            return name
    return real_models[0]


@pytest.fixture
def make_scaled_stack(make_stack):
    """A factory: ``make_scaled_stack(count=2, fake=True, extra_env=None)`` starts ``count``
    responders (one socket each) behind one nginx; all are stopped when the test ends."""

    def make(count: int = 2, fake: bool = True, cli: str | None = None,
             extra_env: dict | None = None, name: str = "scaled", workers: int = WORKERS):
        return make_stack(cli=cli, extra_env=extra_env, fake=fake, name=name, count=count,
                          workers=workers)

    return make


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On failure, attach the tail of every live responder's log to the report."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        for stack in StackFactory.live:
            report.sections.append((f"responder log ({stack.name})", stack.log_tail(60)))
