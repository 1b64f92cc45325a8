"""Starting and stopping the stack: nginx -> N responders (one unix socket each) -> a CLI.

One ``Stack`` runs ``count`` responder instances (default 1) behind one nginx upstream, all in
one folder (``prefix``, a fresh ``/tmp/cca-*`` unless given): sockets, logs, nginx config, the
CLI's HOME and TMPDIR, the responders' scratch folders and, with ``fake=True``, a copy of
fake_claude.py with its invocation log. Every process runs in its own process group; ``close()``
stops nginx (SIGQUIT, then SIGKILL), the responders (SIGTERM, then SIGKILL), any CLI that outlived
them, and removes the folder (unless ``keep_tmp``).

Used by conftest.py (the integration fixtures) and by scripts/bench.py and scripts/soak.py.
Failures raise RuntimeError. Standard library and httpx only.

    with Stack(cli="/path/to/claude", upstream=mock.url) as stack:
        httpx.get(stack.base_url + "/health")
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

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from support import (Process, fd_count, proc_children, proc_descendants,  # noqa: E402
                     proc_status, processes_using)

DEFAULT_WORKERS = 8
START_TIMEOUT = 20.0
NGINX_ATTEMPTS = 5
# scripts/render-nginx-conf options of every stack unless overridden (``nginx_options``): the browser
# origin test_http_errors.py checks, and no per-address rate limit, since the tests drive a stack from
# 127.0.0.1 alone (the per-address connection limit defaults to the whole stack's for the same reason).
# test_nginx_hardening.py sets its own.
TEST_NGINX_OPTIONS = {"cors-origins": "http://localhost:3000", "req-rate": "off"}


# -- binaries -------------------------------------------------------------------------------------


def responder_binary(path: str | Path | None = None) -> Path:
    """The responder: ``path``, else $CCA_BIN, else the debug build. RuntimeError if missing."""
    found = Path(path or os.environ.get("CCA_BIN") or REPO / ".build" / "debug" / "claude-code-api")
    if not found.is_file() or not os.access(found, os.X_OK):
        raise RuntimeError(f"responder binary not found or not executable: {found} "
                           "(build it with `swift build`, or set CCA_BIN)")
    return found


def nginx_binary() -> str:
    """nginx: $NGINX_BIN, else on PATH, else /usr/sbin/nginx. RuntimeError if missing."""
    found = os.environ.get("NGINX_BIN") or shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.access(found, os.X_OK):
        raise RuntimeError(f"nginx not found ({found}); install it (apt-get install nginx-light) "
                           "or set NGINX_BIN")
    return found


def install_fake_cli(folder: Path, log_dir: Path | None = None) -> str:
    """Copies fake_claude.py into ``folder`` with an absolute interpreter path (the responder
    gives the CLI a minimal PATH); with ``log_dir``, its invocation log goes there."""
    folder.mkdir(parents=True)
    lines = (HERE / "fake_claude.py").read_text().splitlines(keepends=True)
    lines[0] = f"#!{sys.executable}\n"
    target = folder / "claude"
    target.write_text("".join(lines))
    target.chmod(0o755)
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        (folder / "fake_claude.logdir").write_text(str(log_dir) + "\n")
    return str(target)


# -- processes ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def signal_group(proc: subprocess.Popen, sig: int):
    """Signals the process group ``proc`` leads (it was started with start_new_session)."""
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def kill_pids(pids, sig: int = signal.SIGKILL):
    """Signals each pid and the process group it may lead (a CLI leads its own)."""
    for pid in pids:
        for kill in (os.kill, os.killpg):
            try:
                kill(pid, sig)
            except (ProcessLookupError, PermissionError):
                pass


def stop_process(proc: subprocess.Popen | None, sig: int | None, timeout: float):
    """Sends ``sig`` (None: already sent), waits up to ``timeout``, then SIGKILLs the process
    group."""
    if proc is None:
        return
    if proc.poll() is None:
        try:
            if sig is not None:
                proc.send_signal(sig)
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
    signal_group(proc, signal.SIGKILL)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


# -- the stack ------------------------------------------------------------------------------------


class Stack:
    """``count`` responders (one socket each, the same CLI) behind one nginx on a free port.

    cli            the CLI path; or ``fake=True`` for fake_claude.py (with an invocation log)
    upstream       ANTHROPIC_BASE_URL for the CLI (the mock)
    binary         the responder (default $CCA_BIN, else the debug build)
    workers        CCA_WORKERS per instance; nginx's connection limit is workers * count
    log_level      CCA_LOG_LEVEL
    extra_env      more responder environment (wins over the defaults)
    prefix         the folder (default: a fresh /tmp/cca-*); removed by close() unless keep_tmp
    keep_tmp       default: $CCA_KEEP_TMP
    nginx_options  render-nginx-conf options without the dashes ({"cors-origins": "..."}), over
                   TEST_NGINX_OPTIONS and conn-per-addr = the stack's whole limit; a None value drops one
    listen         TCP addresses (IPV4:PORT), one responder each (CCA_LISTEN), instead of unix sockets in
                   the folder; nginx's upstream lists them, and count is their number

    Instance 0 has the short names the single-instance tests use: ``responder``,
    ``responder_pid``, ``socket_path``, ``log_path``, ``scratch_dir``; ``instances[i]``,
    ``socket_paths[i]``, ``log_paths[i]`` and ``scratch_dirs[i]`` name every instance.
    """

    def __init__(self, cli: str | None = None, upstream: str = "", *, fake: bool = False,
                 count: int = 1, name: str = "stack", binary: str | Path | None = None,
                 nginx: str | None = None, workers: int = DEFAULT_WORKERS,
                 log_level: str = "debug", extra_env: dict | None = None,
                 nginx_max_body: str = "11m", prefix: Path | None = None,
                 keep_tmp: bool | None = None, nginx_options: dict | None = None,
                 listen: list[str] | None = None):
        if listen:
            count = len(listen)
        self.listen = list(listen or [])
        if count < 1:
            raise RuntimeError(f"[{name}] a stack needs at least one responder, not {count}")
        self.name = name
        self.count = count
        self.upstream = upstream
        self.binary = responder_binary(binary)
        self.nginx_bin = nginx or nginx_binary()
        self.workers = workers
        self.log_level = log_level
        self.extra_env = {k: str(v) for k, v in (extra_env or {}).items()}
        self.nginx_max_body = nginx_max_body
        self.nginx_options = {"conn-per-addr": str(workers * count), **TEST_NGINX_OPTIONS,
                              **(nginx_options or {})}
        self.keep_tmp = bool(os.environ.get("CCA_KEEP_TMP")) if keep_tmp is None else keep_tmp
        if prefix is None:
            prefix = Path(tempfile.mkdtemp(prefix="cca-"))  # short: unix socket paths are limited
        else:
            prefix.mkdir(parents=True, exist_ok=True)
        self.prefix = prefix
        # One instance keeps the plain names (fcgi.sock, responder.log, scratch).
        names = [""] if count == 1 else [str(i) for i in range(count)]
        self.socket_paths = [prefix / f"fcgi{n}.sock" for n in names]
        self.log_paths = [prefix / f"responder{n}.log" for n in names]
        self.stdout_paths = [prefix / f"responder{n}.out" for n in names]
        self.scratch_dirs = [prefix / f"scratch{n}" for n in names]
        self.home_dir = prefix / "home"
        self.tmp_dir = prefix / "tmp"
        self.nginx_conf = prefix / "nginx.conf"
        self.error_log_path = prefix / "error.log"
        self.access_log_path = prefix / "access.log"   # nginx's (the template names it)
        self.fake_log_dir = prefix / "fake-cli-log"
        if fake:
            cli = install_fake_cli(prefix / "fakecli", self.fake_log_dir)
        if not cli:
            raise RuntimeError(f"[{name}] no CLI given (cli=... or fake=True)")
        self.cli = cli
        self.port: int | None = None
        self.instances: list[subprocess.Popen] = []
        self.envs: list[dict] = []
        self.nginx: subprocess.Popen | None = None
        self._files = []
        self._closed = False

    # -- instance 0 and accessors -------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def responder(self) -> subprocess.Popen | None:
        return self.instances[0] if self.instances else None

    @property
    def responder_pid(self) -> int:
        return self.instances[0].pid

    @property
    def socket_path(self) -> Path:
        return self.socket_paths[0]

    @property
    def log_path(self) -> Path:
        return self.log_paths[0]

    @property
    def stdout_path(self) -> Path:
        return self.stdout_paths[0]

    @property
    def scratch_dir(self) -> Path:
        return self.scratch_dirs[0]

    @property
    def env(self) -> dict:
        return self.envs[0] if self.envs else {}

    def fd_count(self, index: int = 0) -> int:
        return fd_count(self.instances[index].pid)

    def proc_status(self, index: int = 0) -> dict:
        """RSS (KiB), threads and open descriptors of responder ``index``."""
        return proc_status(self.instances[index].pid)

    def log_lines(self, index: int = 0) -> list[dict]:
        """Responder ``index``'s stderr, one dict per JSON line ({"raw": line} for other lines)."""
        out = []
        try:
            text = self.log_paths[index].read_text(errors="replace")
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

    def wait_for_log_line(self, predicate, timeout: float, index: int = 0) -> dict | None:
        """The first line of responder ``index``'s log for which ``predicate(line)`` holds, waiting
        up to ``timeout`` seconds for it to be written; None if it was not."""
        deadline = time.monotonic() + timeout
        while True:
            for line in self.log_lines(index):
                if predicate(line):
                    return line
            if time.monotonic() > deadline:
                return None
            time.sleep(0.02)

    def request_log_line(self, request_id: str, timeout: float = 10.0, index: int = 0) -> dict | None:
        """Responder ``index``'s ``request`` log line for ``request_id`` (nginx's $request_id, the
        X-Request-Id response header), waiting up to ``timeout`` seconds for it."""
        return self.wait_for_log_line(
            lambda line: line.get("msg") == "request" and line.get("request_id") == request_id,
            timeout, index)

    def started_info(self, index: int = 0) -> dict:
        """Responder ``index``'s start-up log line (``"msg": "started"``), or {}."""
        for line in self.log_lines(index):
            if line.get("msg") == "started":
                return line
        return {}

    def log_tail(self, n: int = 40) -> str:
        """The last ``n`` lines of the responder log (of each, under a header, when several)."""
        parts = []
        for index, path in enumerate(self.log_paths):
            try:
                lines = path.read_text(errors="replace").splitlines()[-n:]
            except OSError:
                lines = []
            parts.append("\n".join(lines) if self.count == 1
                         else f"--- responder {index}\n" + "\n".join(lines))
        return "\n".join(parts)

    def access_log_lines(self) -> list[str]:
        """nginx's access log (one line per finished request, written once nginx is done with it)."""
        try:
            return self.access_log_path.read_text(errors="replace").splitlines()
        except OSError:
            return []

    def nginx_error_log(self) -> str:
        try:
            return self.error_log_path.read_text(errors="replace")
        except OSError:
            return ""

    def children(self, include_zombies: bool = True, index: int = 0) -> list[Process]:
        """Processes whose parent is responder ``index`` (none once it has ended)."""
        proc = self.instances[index] if index < len(self.instances) else None
        if proc is None or proc.poll() is not None:
            return []
        return proc_children(proc.pid, include_zombies)

    def invocations(self) -> list[dict]:
        """fake_claude.py's invocation log (argv, env names, cwd, stdin, pid, ppid)."""
        path = self.fake_log_dir / "invocations.jsonl"
        try:
            return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        except OSError:
            return []

    def get(self, path: str, timeout: float = 10.0, **kwargs) -> httpx.Response:
        return httpx.get(self.base_url + path, timeout=timeout, **kwargs)

    # -- lifecycle ----------------------------------------------------------------------------------
    def instance_env(self, index: int) -> dict:
        env = {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "HOME": str(self.home_dir),
            "LANG": os.environ.get("LANG", "C.UTF-8"),
            "TMPDIR": str(self.tmp_dir),
            "CCA_LISTEN": self.listen[index] if self.listen else str(self.socket_paths[index]),
            "CCA_CLAUDE_PATH": self.cli,
            "CCA_WORKERS": str(self.workers),
            "CCA_LOG_LEVEL": self.log_level,
            "CCA_SCRATCH_DIR": str(self.scratch_dirs[index]),
            "ANTHROPIC_BASE_URL": self.upstream,
            "ANTHROPIC_API_KEY": "test-key",
            "DISABLE_TELEMETRY": "1",
            "DISABLE_AUTOUPDATER": "1",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            # The warm pool is off unless a test turns it on (test_pool.py): every other test sees cold starts.
            "CCA_POOL_SIZE": "0",
        }
        env.update(self.extra_env)
        return env

    def start(self) -> "Stack":
        """Starts the responders, then nginx; on failure stops what started and raises."""
        try:
            self._start_responders()
            self._start_nginx()
        except BaseException:
            self.close()
            raise
        return self

    def _open(self, path: Path, mode: str = "wb"):
        f = open(path, mode)
        self._files.append(f)
        return f

    def _start_responders(self):
        for folder in (self.home_dir, self.tmp_dir, *self.scratch_dirs):
            folder.mkdir(exist_ok=True)
        for index in range(self.count):
            env = self.instance_env(index)
            self.envs.append(env)
            self.instances.append(subprocess.Popen(
                [str(self.binary)], env=env, cwd=str(self.prefix), stdin=subprocess.DEVNULL,
                stdout=self._open(self.stdout_paths[index]), stderr=self._open(self.log_paths[index]),
                start_new_session=True))
        deadline = time.monotonic() + START_TIMEOUT
        for index, (proc, path) in enumerate(zip(self.instances, self.socket_paths)):
            # A TCP responder is ready once it logs "started" (after it listens); a unix one when its socket is there.
            while not (self.started_info(index) if self.listen else path.exists()):
                if proc.poll() is not None:
                    raise RuntimeError(f"[{self.name}] responder {index} exited with {proc.returncode} "
                                       f"before creating its socket:\n{self.log_tail()}")
                if time.monotonic() > deadline:
                    where = self.listen[index] if self.listen else f"socket {path}"
                    raise RuntimeError(f"[{self.name}] responder {index} ({where}) did not start "
                                       f"within {START_TIMEOUT}s:\n{self.log_tail()}")
                time.sleep(0.05)

    def _start_nginx(self):
        # A port taken between free_port() and nginx's bind() gets another try.
        sockets = ",".join(self.listen) if self.listen else ",".join(str(p) for p in self.socket_paths)
        for _ in range(NGINX_ATTEMPTS):
            self.port = free_port()
            with open(self.nginx_conf, "w") as conf:
                options = [arg for key, value in self.nginx_options.items() if value is not None
                           for arg in (f"--{key}", str(value))]
                subprocess.run([str(REPO / "scripts" / "render-nginx-conf"), *options, str(self.prefix),
                                f"127.0.0.1:{self.port}", sockets, self.nginx_max_body,
                                str(self.workers * self.count)],
                               stdout=conf, check=True, timeout=30)
            args = [self.nginx_bin, "-p", str(self.prefix), "-c", str(self.nginx_conf),
                    "-e", str(self.error_log_path)]
            if os.geteuid() == 0:
                # Workers as root: the responders' sockets (mode 0660, root) and the 0700 folder
                # must be reachable from nginx's workers.
                args += ["-g", "user root root;"]
            self.nginx = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=self._open(self.prefix / "nginx.out", "ab"),
                stderr=subprocess.STDOUT, start_new_session=True)
            if self._wait_http():
                return
            err = self.nginx_error_log()
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
        stop_process(self.nginx, signal.SIGQUIT, timeout=5)

    def _stop_responders(self):
        leftovers = set()
        for proc in self.instances:  # all at once: they drain side by side
            if proc.poll() is None:
                leftovers.update(p.pid for p in proc_descendants(proc.pid))
                proc.send_signal(signal.SIGTERM)
        for proc in self.instances:
            stop_process(proc, None, timeout=10)
        # CLIs run in their own process groups: end any that outlived their responder.
        kill_pids(leftovers)
        kill_pids(p.pid for p in processes_using(self.prefix))

    def close(self):
        """Stops everything and removes the folder (unless keep_tmp). Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        try:
            self._stop_nginx()
        finally:
            self._stop_responders()
            for f in self._files:
                try:
                    f.close()
                except OSError:
                    pass
            if not self.keep_tmp:
                shutil.rmtree(self.prefix, ignore_errors=True)

    def __enter__(self) -> "Stack":
        return self.start()

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return f"<Stack {self.name} {self.base_url} pids={[p.pid for p in self.instances]}>"
