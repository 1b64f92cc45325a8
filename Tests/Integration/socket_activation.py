"""The responder started the way systemd starts it, without systemd as PID 1.

``ActivatedStack`` is a ``stack.Stack`` whose responder is launched by Debian's
``systemd-socket-activate``: it binds the unix socket, waits for the first connection (nginx's),
then execs the responder with the listening socket as fd 3 and ``LISTEN_FDS``/``LISTEN_PID``
(``--inetd``: as fd 0 instead, what ``StandardInput=socket`` gives). Only the variables passed with
``-E`` reach the responder, as with a unit's ``Environment=``.

``NotifySocket`` is the service manager's end of sd_notify: a unix datagram socket that records
every message with the monotonic time it arrived.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from stack import START_TIMEOUT, Stack


def socket_activate_binary() -> str:
    """systemd-socket-activate (Debian's systemd package, from scripts/setup); missing is a failure."""
    found = shutil.which("systemd-socket-activate")
    if found is None:
        pytest.fail("systemd-socket-activate not found: scripts/setup installs it (Debian package systemd)",
                    pytrace=False)
    return found


class NotifySocket:
    """A unix datagram socket in a fresh folder that collects sd_notify messages; ``address`` is what
    NOTIFY_SOCKET is set to. ``close()`` stops it and removes the folder."""

    def __init__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="cca-notify-"))
        self.address = str(self.folder / "notify.sock")
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(self.address)
        self._sock.settimeout(0.2)
        self._messages: list[tuple[float, str]] = []
        self._changed = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    def _receive(self):
        while not self._closed:
            try:
                data = self._sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            with self._changed:
                self._messages.append((time.monotonic(), data.decode("utf-8", "replace")))
                self._changed.notify_all()

    @property
    def messages(self) -> list[str]:
        with self._changed:
            return [text for _, text in self._messages]

    def timed(self) -> list[tuple[float, str]]:
        with self._changed:
            return list(self._messages)

    def wait_for(self, predicate, timeout: float = 20.0, what: str = "a message") -> str:
        """The first message (oldest first) that satisfies ``predicate``; fails after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for _, text in self._messages:
                    if predicate(text):
                        return text
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {what} within {timeout}s; received: {[t for _, t in self._messages]}")
                self._changed.wait(left)

    def wait_for_count(self, predicate, count: int, timeout: float) -> list[tuple[float, str]]:
        """The first ``count`` messages that satisfy ``predicate``, with their arrival times."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [(t, text) for t, text in self._messages if predicate(text)]
                if len(found) >= count:
                    return found[:count]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(found)} of {count} messages within {timeout}s; "
                                         f"received: {[t for _, t in self._messages]}")
                self._changed.wait(left)

    def close(self):
        self._closed = True
        self._thread.join(timeout=5)
        self._sock.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def fields(message: str) -> dict[str, str]:
    """An sd_notify message as its NAME=value fields."""
    return dict(line.split("=", 1) for line in message.splitlines() if "=" in line)


class ActivatedStack(Stack):
    """A Stack whose one responder is started by systemd-socket-activate on ``socket_path``.

    inetd            pass the socket as fd 0 (``--inetd``) instead of fd 3 and LISTEN_FDS
    activation_env   more variables for the responder (NOTIFY_SOCKET, WATCHDOG_USEC, ...)
    listen_paths     the sockets to pass (default: ``socket_path`` alone)
    """

    def __init__(self, *args, inetd: bool = False, activation_env: dict | None = None,
                 listen_paths: list[Path] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.inetd = inetd
        self.activation_env = {k: str(v) for k, v in (activation_env or {}).items()}
        self.listen_paths = listen_paths or [self.socket_path]

    def _start_responders(self):
        for folder in (self.home_dir, self.tmp_dir, *self.scratch_dirs):
            folder.mkdir(exist_ok=True)
        env = self.instance_env(0)
        del env["CCA_LISTEN"]  # the socket comes from the service manager
        env.update(self.activation_env)
        self.envs.append(env)
        args = [socket_activate_binary()]
        for path in self.listen_paths:
            args += ["--listen", str(path)]
        if self.inetd:
            args.append("--inetd")
        for name, value in env.items():
            args += ["--setenv", f"{name}={value}"]
        args.append(str(self.binary))
        self.instances.append(subprocess.Popen(
            args, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")}, cwd=str(self.prefix),
            stdin=subprocess.DEVNULL, stdout=self._open(self.stdout_path), stderr=self._open(self.log_path),
            start_new_session=True))
        # systemd-socket-activate binds every socket before it waits for the first connection.
        deadline = time.monotonic() + START_TIMEOUT
        while not all(path.exists() for path in self.listen_paths):
            if self.responder.poll() is not None:
                raise RuntimeError(f"[{self.name}] systemd-socket-activate exited with "
                                   f"{self.responder.returncode}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"[{self.name}] systemd-socket-activate made no socket within "
                                   f"{START_TIMEOUT}s:\n{self.log_tail()}")
            time.sleep(0.05)
