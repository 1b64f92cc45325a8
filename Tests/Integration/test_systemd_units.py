"""The production systemd units: they parse, reference a real binary, and keep a low exposure score.

systemd-analyze (Debian package ``systemd``) comes from scripts/setup; without it these tests fail."""
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from stack import responder_binary

REPO = Path(__file__).resolve().parents[2]
UNITS = REPO / "systemd"


def systemd_analyze() -> str:
    """systemd-analyze; not finding it is a failure, never a skip."""
    found = shutil.which("systemd-analyze")
    if found is None:
        pytest.fail("systemd-analyze not found: install the Debian package systemd "
                    "(scripts/setup installs what the tests need)", pytrace=False)
    return found


def _units_with_binary(tmp_path: Path) -> tuple[Path, Path]:
    try:
        binary = responder_binary()
    except RuntimeError as err:
        pytest.fail(str(err), pytrace=False)
    service = tmp_path / "claude-code-api.service"
    service.write_text((UNITS / "claude-code-api.service").read_text().replace("/usr/local/bin/claude-code-api", str(binary)))
    socket = tmp_path / "claude-code-api.socket"
    socket.write_text((UNITS / "claude-code-api.socket").read_text())
    return service, socket


def test_units_pass_systemd_analyze_verify(tmp_path):
    service, socket = _units_with_binary(tmp_path)
    result = subprocess.run([systemd_analyze(), "verify", "--man=no", str(socket), str(service)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_service_sandbox_exposure_is_low(tmp_path):
    service, _ = _units_with_binary(tmp_path)
    result = subprocess.run([systemd_analyze(), "security", "--offline=yes", str(service)],
                            capture_output=True, text=True, timeout=60)
    score = re.search(r"Overall exposure level for .*: ([0-9.]+)", result.stdout + result.stderr)
    assert score, result.stdout + result.stderr
    assert float(score.group(1)) <= 1.5, "the sandbox got weaker: " + score.group(0)


def test_socket_unit_matches_the_libfcgi_contract():
    socket = (UNITS / "claude-code-api.socket").read_text()
    service = (UNITS / "claude-code-api.service").read_text()
    assert "Accept=no" in socket and "SocketMode=0660" in socket
    assert "StandardInput=socket" not in service      # the listening socket is fd 3 (LISTEN_FDS), not fd 0
    assert "StandardOutput=journal" in service and "StandardError=journal" in service
    assert "MemoryDenyWriteExecute=yes" not in service  # the CLI is a JIT runtime
    assert "RuntimeDirectory=" not in service           # would delete the socket folder on stop
    assert "KillMode=mixed" in service and "OOMPolicy=continue" in service
    timeout = int(re.search(r"TimeoutStopSec=(\d+)", service).group(1))
    assert timeout > 30, "TimeoutStopSec must exceed the default drain deadline"
