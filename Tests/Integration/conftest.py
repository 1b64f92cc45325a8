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

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))

from mock_anthropic import MockAnthropic  # noqa: E402
from support import proc_children, proc_descendants  # noqa: E402

WORKERS = 8
START_TIMEOUT = 20.0


def _responder_binary() -> Path:
    path = Path(os.environ.get("CCA_BIN") or REPO / ".build" / "debug" / "claude-code-api")
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(f"responder binary not found or not executable: {path} "
                    "(build it with `swift build`, or set CCA_BIN)", pytrace=False)
    return path


def _nginx_binary() -> str:
    found = os.environ.get("NGINX_BIN") or shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.access(found, os.X_OK):
        pytest.fail(f"nginx not found ({found}); install it (apt-get install nginx-light) "
                    "or set NGINX_BIN", pytrace=False)
    return found


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


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _signal_group(proc: subprocess.Popen, sig: int):
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _kill_pids(pids, sig=signal.SIGKILL):
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            os.killpg(pid, sig)  # a CLI usually leads its own process group
        except (ProcessLookupError, PermissionError):
            pass


class Stack:
    """One running nginx + responder pair (see StackFactory.start)."""

    def __init__(self, name: str, prefix: Path, cli: str, extra_env: dict,
                 nginx_max_body: str = "11m"):
        self.name = name
        self.nginx_max_body = nginx_max_body
        self.prefix = prefix
        self.cli = cli
        self.extra_env = dict(extra_env)
        self.socket_path = prefix / "fcgi.sock"
        self.log_path = prefix / "responder.log"
        self.stdout_path = prefix / "responder.out"
        self.nginx_conf = prefix / "nginx.conf"
        self.scratch_dir = prefix / "scratch"
        self.home_dir = prefix / "home"
        self.tmp_dir = prefix / "tmp"
        self.fake_log_dir = prefix / "fake-cli-log"
        self.port: int | None = None
        self.responder: subprocess.Popen | None = None
        self.nginx: subprocess.Popen | None = None
        self.env: dict = {}
        self._files = []
        self._known_descendants: set[int] = set()

    # -- what tests use ----------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def responder_pid(self) -> int:
        return self.responder.pid

    def log_lines(self) -> list[dict]:
        """The responder's stderr, one dict per JSON line ({"raw": line} for other lines)."""
        out = []
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return out
        for line in text.splitlines():
            if not line.strip():
                continue
            try:
                value = json.loads(line)
                out.append(value if isinstance(value, dict) else {"raw": line})
            except ValueError:
                out.append({"raw": line})
        return out

    def started_info(self) -> dict:
        """The responder's start-up log line (``"msg": "started"``), or {}."""
        for line in self.log_lines():
            if line.get("msg") == "started":
                return line
        return {}

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def children(self, include_zombies: bool = True) -> list[dict]:
        """Live processes whose parent is the responder."""
        if self.responder is None or self.responder.poll() is not None:
            return []
        return proc_children(self.responder.pid, include_zombies)

    def invocations(self) -> list[dict]:
        """fake_claude.py's invocation log (argv, env names, cwd, stdin) for this stack."""
        path = self.fake_log_dir / "invocations.jsonl"
        try:
            return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        except OSError:
            return []

    def get(self, path: str, timeout: float = 10.0, **kwargs) -> httpx.Response:
        return httpx.get(self.base_url + path, timeout=timeout, **kwargs)

    # -- lifecycle -----------------------------------------------------------
    def _open(self, path: Path, mode="wb"):
        f = open(path, mode)
        self._files.append(f)
        return f

    def start(self, mock_port: int):
        binary = _responder_binary()
        nginx = _nginx_binary()
        self.scratch_dir.mkdir()
        self.home_dir.mkdir()
        self.tmp_dir.mkdir()
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "HOME": str(self.home_dir),
            "LANG": os.environ.get("LANG", "C.UTF-8"),
            "TMPDIR": str(self.tmp_dir),
            "CCA_LISTEN": str(self.socket_path),
            "CCA_CLAUDE_PATH": self.cli,
            "CCA_WORKERS": str(WORKERS),
            "CCA_LOG_LEVEL": "debug",
            "CCA_SCRATCH_DIR": str(self.scratch_dir),
            "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{mock_port}",
            "ANTHROPIC_API_KEY": "test-key",
            "DISABLE_TELEMETRY": "1",
            "DISABLE_AUTOUPDATER": "1",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        }
        self.env.update({k: str(v) for k, v in self.extra_env.items()})

        self.responder = subprocess.Popen(
            [str(binary)], env=self.env, cwd=str(self.prefix), stdin=subprocess.DEVNULL,
            stdout=self._open(self.stdout_path), stderr=self._open(self.log_path),
            start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while not self.socket_path.exists():
            if self.responder.poll() is not None:
                raise RuntimeError(f"[{self.name}] responder exited with {self.responder.returncode} "
                                   f"before creating its socket:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"[{self.name}] responder socket {self.socket_path} did not "
                                   f"appear within {START_TIMEOUT}s:\n{self.log_tail()}")
            time.sleep(0.05)

        # nginx; a port taken between free_port() and bind() gets another try.
        for attempt in range(5):
            self.port = free_port()
            with open(self.nginx_conf, "w") as conf:
                subprocess.run([str(REPO / "scripts" / "render-nginx-conf"), str(self.prefix),
                                f"127.0.0.1:{self.port}", str(self.socket_path), self.nginx_max_body,
                                str(WORKERS)], stdout=conf, check=True, timeout=30)
            args = [nginx, "-p", str(self.prefix), "-c", str(self.nginx_conf),
                    "-e", str(self.prefix / "error.log")]
            if os.geteuid() == 0:
                # Workers as root: the responder's socket (mode 0660, root) and the 0700 temp
                # folder must be reachable from nginx's workers.
                args += ["-g", "user root root;"]
            self.nginx = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=self._open(self.prefix / "nginx.out", "ab"),
                stderr=subprocess.STDOUT, start_new_session=True)
            if self._wait_http():
                return self
            err = (self.prefix / "error.log").read_text(errors="replace") \
                if (self.prefix / "error.log").exists() else ""
            self._stop_nginx()
            if "Address already in use" not in err:
                raise RuntimeError(f"[{self.name}] nginx did not answer GET /health:\n{err[-3000:]}"
                                   f"\nresponder log:\n{self.log_tail()}")
        raise RuntimeError(f"[{self.name}] could not start nginx on a free port")

    def _wait_http(self) -> bool:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.nginx.poll() is not None:
                return False
            try:
                httpx.get(self.base_url + "/health", timeout=5.0)
                return True  # any HTTP answer: /health may rightly be 503
            except httpx.HTTPError:
                time.sleep(0.05)
        return False

    def _stop_nginx(self):
        if self.nginx is None:
            return
        if self.nginx.poll() is None:
            try:
                self.nginx.send_signal(signal.SIGQUIT)
                self.nginx.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        _signal_group(self.nginx, signal.SIGKILL)
        try:
            self.nginx.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass

    def _stop_responder(self):
        if self.responder is None:
            return
        leftovers = set(proc_descendants(self.responder.pid)) if self.responder.poll() is None else set()
        if self.responder.poll() is None:
            self.responder.send_signal(signal.SIGTERM)
            try:
                self.responder.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        _signal_group(self.responder, signal.SIGKILL)
        try:
            self.responder.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        # CLIs run in their own process groups: end any that outlived the responder.
        _kill_pids(leftovers)
        _kill_pids(self._processes_using_prefix())

    def _processes_using_prefix(self) -> list[int]:
        """Processes whose command line or cwd lies in this stack's folder (e.g. the fake CLI)."""
        mine = []
        prefix = str(self.prefix)
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == os.getpid():
                continue
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    cmd = f.read().decode("utf-8", "replace")
                cwd = os.readlink(f"/proc/{entry}/cwd")
            except OSError:
                continue
            if prefix in cmd or cwd.startswith(prefix):
                mine.append(int(entry))
        return mine

    def close(self):
        try:
            self._stop_nginx()
        finally:
            self._stop_responder()
            for f in self._files:
                try:
                    f.close()
                except OSError:
                    pass
            if not os.environ.get("CCA_KEEP_TMP"):
                shutil.rmtree(self.prefix, ignore_errors=True)

    def __repr__(self):
        return f"<Stack {self.name} {self.base_url} pid={self.responder and self.responder.pid}>"


class StackFactory:
    """Starts stacks against one mock upstream and remembers them for teardown."""

    live: list[Stack] = []  # all stacks of the session, for failure reports

    def __init__(self, mock: MockAnthropic):
        self.mock = mock
        self.stacks: list[Stack] = []

    def start(self, cli: str | None = None, extra_env: dict | None = None, name: str = "stack",
              fake: bool = False, nginx_max_body: str = "11m") -> Stack:
        prefix = Path(tempfile.mkdtemp(prefix="cca-"))  # short: unix socket paths are limited
        if fake:
            cli = install_fake_cli(prefix / "fakecli", prefix / "fake-cli-log")
        if cli is None:
            cli = real_cli_path()
        stack = Stack(name, prefix, cli, extra_env or {}, nginx_max_body)
        self.stacks.append(stack)
        StackFactory.live.append(stack)
        try:
            stack.start(self.mock.port)
        except Exception:
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


def install_fake_cli(folder: Path, log_dir: Path) -> str:
    """Copies fake_claude.py into ``folder`` with an absolute interpreter path (the responder
    gives the CLI a minimal PATH) and points its invocation log at ``log_dir``."""
    folder.mkdir(parents=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    source = (HERE / "fake_claude.py").read_text()
    lines = source.splitlines(keepends=True)
    lines[0] = f"#!{sys.executable}\n"
    target = folder / "claude"
    target.write_text("".join(lines))
    target.chmod(0o755)
    (folder / "fake_claude.logdir").write_text(str(log_dir) + "\n")
    return str(target)


class ScaledStack:
    """Several responders (one socket each, same CLI) behind one nginx upstream: the scale-out
    layout of the README. ``instances[i]`` are the responders' Popen objects."""

    def __init__(self, name: str, prefix: Path, cli: str, count: int, extra_env: dict,
                 workers: int = WORKERS):
        self.name = name
        self.prefix = prefix
        self.cli = cli
        self.count = count
        self.extra_env = dict(extra_env)
        self.workers = workers
        self.socket_paths = [prefix / f"fcgi{i}.sock" for i in range(count)]
        self.log_paths = [prefix / f"responder{i}.log" for i in range(count)]
        self.scratch_dirs = [prefix / f"scratch{i}" for i in range(count)]
        self.nginx_conf = prefix / "nginx.conf"
        self.fake_log_dir = prefix / "fake-cli-log"
        self.port: int | None = None
        self.instances: list[subprocess.Popen] = []
        self.nginx: subprocess.Popen | None = None
        self._files = []
        self._known: set[int] = set()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str, timeout: float = 10.0, **kwargs) -> httpx.Response:
        return httpx.get(self.base_url + path, timeout=timeout, **kwargs)

    def log_lines(self, index: int) -> list[dict]:
        out = []
        try:
            text = self.log_paths[index].read_text(errors="replace")
        except OSError:
            return out
        for line in text.splitlines():
            try:
                value = json.loads(line)
                out.append(value if isinstance(value, dict) else {"raw": line})
            except ValueError:
                out.append({"raw": line})
        return out

    def log_tail(self, n: int = 40) -> str:
        parts = []
        for index, path in enumerate(self.log_paths):
            try:
                lines = path.read_text(errors="replace").splitlines()[-n:]
            except OSError:
                lines = []
            parts.append(f"--- responder {index}\n" + "\n".join(lines))
        return "\n".join(parts)

    def nginx_error_log(self) -> str:
        try:
            return (self.prefix / "error.log").read_text(errors="replace")
        except OSError:
            return ""

    def start(self, mock_port: int):
        binary = _responder_binary()
        nginx = _nginx_binary()
        (self.prefix / "home").mkdir()
        (self.prefix / "tmp").mkdir()
        for index, socket_path in enumerate(self.socket_paths):
            self.scratch_dirs[index].mkdir()
            env = {
                "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
                "HOME": str(self.prefix / "home"),
                "LANG": os.environ.get("LANG", "C.UTF-8"),
                "TMPDIR": str(self.prefix / "tmp"),
                "CCA_LISTEN": str(socket_path),
                "CCA_CLAUDE_PATH": self.cli,
                "CCA_WORKERS": str(self.workers),
                "CCA_LOG_LEVEL": "debug",
                "CCA_SCRATCH_DIR": str(self.scratch_dirs[index]),
                "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{mock_port}",
                "ANTHROPIC_API_KEY": "test-key",
                "DISABLE_TELEMETRY": "1",
                "DISABLE_AUTOUPDATER": "1",
                "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            }
            env.update({k: str(v) for k, v in self.extra_env.items()})
            self.instances.append(subprocess.Popen(
                [str(binary)], env=env, cwd=str(self.prefix), stdin=subprocess.DEVNULL,
                stdout=self._open(self.prefix / f"responder{index}.out"),
                stderr=self._open(self.log_paths[index]), start_new_session=True))
        deadline = time.monotonic() + START_TIMEOUT
        for index, socket_path in enumerate(self.socket_paths):
            while not socket_path.exists():
                if self.instances[index].poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"[{self.name}] responder {index} did not create "
                                       f"{socket_path}:\n{self.log_tail()}")
                time.sleep(0.05)

        sockets = ",".join(str(p) for p in self.socket_paths)
        for attempt in range(5):
            self.port = free_port()
            with open(self.nginx_conf, "w") as conf:
                subprocess.run([str(REPO / "scripts" / "render-nginx-conf"), str(self.prefix),
                                f"127.0.0.1:{self.port}", sockets, "11m",
                                str(self.workers * self.count)],
                               stdout=conf, check=True, timeout=30)
            args = [nginx, "-p", str(self.prefix), "-c", str(self.nginx_conf),
                    "-e", str(self.prefix / "error.log")]
            if os.geteuid() == 0:
                args += ["-g", "user root root;"]
            self.nginx = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=self._open(self.prefix / "nginx.out", "ab"),
                stderr=subprocess.STDOUT, start_new_session=True)
            if self._wait_http():
                return self
            err = self.nginx_error_log()
            self._stop_nginx()
            if "Address already in use" not in err:
                raise RuntimeError(f"[{self.name}] nginx did not answer GET /health:\n{err[-3000:]}")
        raise RuntimeError(f"[{self.name}] could not start nginx on a free port")

    def _open(self, path: Path, mode="wb"):
        f = open(path, mode)
        self._files.append(f)
        return f

    def _wait_http(self) -> bool:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.nginx.poll() is not None:
                return False
            try:
                httpx.get(self.base_url + "/health", timeout=5.0)
                return True
            except httpx.HTTPError:
                time.sleep(0.05)
        return False

    def _stop_nginx(self):
        if self.nginx is None:
            return
        if self.nginx.poll() is None:
            try:
                self.nginx.send_signal(signal.SIGQUIT)
                self.nginx.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        _signal_group(self.nginx, signal.SIGKILL)
        try:
            self.nginx.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass

    def close(self):
        try:
            self._stop_nginx()
        finally:
            leftovers = set()
            for proc in self.instances:
                if proc.poll() is None:
                    leftovers.update(proc_descendants(proc.pid))
                    proc.send_signal(signal.SIGTERM)
            for proc in self.instances:
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass
                _signal_group(proc, signal.SIGKILL)
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
            _kill_pids(leftovers)
            prefix = str(self.prefix)
            strays = []
            for entry in os.listdir("/proc"):
                if not entry.isdigit() or int(entry) == os.getpid():
                    continue
                try:
                    with open(f"/proc/{entry}/cmdline", "rb") as f:
                        cmd = f.read().decode("utf-8", "replace")
                    cwd = os.readlink(f"/proc/{entry}/cwd")
                except OSError:
                    continue
                if prefix in cmd or cwd.startswith(prefix):
                    strays.append(int(entry))
            _kill_pids(strays)
            for f in self._files:
                try:
                    f.close()
                except OSError:
                    pass
            if not os.environ.get("CCA_KEEP_TMP"):
                shutil.rmtree(self.prefix, ignore_errors=True)

    def __repr__(self):
        return f"<ScaledStack {self.name} {self.base_url} pids={[p.pid for p in self.instances]}>"


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
    are stopped when the test ends. ``cli=None`` means the real CLI, ``fake=True`` the fake."""
    started = []

    def make(cli: str | None = None, extra_env: dict | None = None, fake: bool = False,
             name: str = "adhoc", nginx_max_body: str = "11m"):
        stack = _stack_factory.start(cli=cli, extra_env=extra_env, fake=fake, name=name,
                                     nginx_max_body=nginx_max_body)
        started.append(stack)
        return stack

    yield make
    for stack in started:
        _stack_factory.close(stack)


@pytest.fixture(scope="session")
def real_stack(_stack_factory):
    """The stack with the real Claude Code CLI against the mock upstream."""
    stack = _stack_factory.start(cli=real_cli_path(), name="real")
    yield stack
    _stack_factory.close(stack)


@pytest.fixture(scope="session")
def fake_stack(_stack_factory):
    """The stack with fake_claude.py as the CLI. Its environment carries a variable that
    must never reach the CLI (SECRET_SHOULD_NOT_LEAK)."""
    stack = _stack_factory.start(fake=True, name="fake",
                                 extra_env={"SECRET_SHOULD_NOT_LEAK": "1"})
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
def make_scaled_stack(mock_upstream):
    """A factory: ``make_scaled_stack(count=2, fake=True, extra_env=None)`` starts ``count``
    responders (one socket each) behind one nginx; all are stopped when the test ends."""
    started: list[ScaledStack] = []

    def make(count: int = 2, fake: bool = True, cli: str | None = None,
             extra_env: dict | None = None, name: str = "scaled", workers: int = WORKERS):
        prefix = Path(tempfile.mkdtemp(prefix="cca-"))
        if fake:
            cli = install_fake_cli(prefix / "fakecli", prefix / "fake-cli-log")
        if cli is None:
            cli = real_cli_path()
        stack = ScaledStack(name, prefix, cli, count, extra_env or {}, workers)
        started.append(stack)
        stack.start(mock_upstream.port)
        return stack

    yield make
    for stack in started:
        stack.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On failure, attach the tail of every live responder's log to the report."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        for stack in StackFactory.live:
            report.sections.append((f"responder log ({stack.name})", stack.log_tail(60)))
