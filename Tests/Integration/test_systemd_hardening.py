"""The systemd units on a shared server (issue 8): the socket's group is the service's own, and the
service's memory is capped to its CLI slot budget. (test_systemd_units.py checks that the units
parse and keep their sandbox.)"""
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
UNITS = REPO / "systemd"
MIB = {"K": 1 / 1024, "M": 1, "G": 1024, "T": 1024 * 1024}
SLOT_MIB = 300          # what the responder reckons a live CLI costs (CCA_MAX_CONCURRENT_CLI's default)
DEFAULT_MAX_SLOTS = 16  # CCA_WORKERS (32) / 2
DEFAULT_POOL_SIZE = 2   # CCA_POOL_SIZE's default: idle pre-started CLIs beside the slots


def settings(unit: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in (UNITS / unit).read_text().splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            out.setdefault(key.strip(), []).append(value.strip())
    return out


def mebibytes(value: str) -> float:
    number, unit = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT])", value).groups()
    return float(number) * MIB[unit]


def test_the_socket_group_is_the_services_own():
    socket = settings("claude-code-api.socket")
    assert socket["SocketGroup"] == ["claude-code-api-fcgi"], \
        f"SocketGroup={socket['SocketGroup']}: a group shared with other services (www-data: PHP-FPM, CGI) reaches libfcgi"
    assert socket["SocketMode"] == ["0660"]
    readme = (REPO / "README.md").read_text()
    assert "groupadd --system claude-code-api-fcgi" in readme
    assert "usermod -aG claude-code-api-fcgi www-data" in readme


def test_the_service_memory_is_capped_to_the_cli_slot_budget():
    service = settings("claude-code-api.service")
    assert service.get("TasksMax") == ["8192"]
    assert len(service.get("MemoryMax", [])) == 1 and len(service.get("MemoryHigh", [])) == 1, service
    high, hard = mebibytes(service["MemoryHigh"][0]), mebibytes(service["MemoryMax"][0])
    assert high == (DEFAULT_MAX_SLOTS + DEFAULT_POOL_SIZE) * SLOT_MIB, \
        f"MemoryHigh={high:.0f}M is not (16 slots + 2 pooled CLIs) x 300M"
    assert high + 200 <= hard <= high + 1024, f"MemoryMax={hard:.0f}M leaves no room, or too much, for the responder"
    text = (UNITS / "claude-code-api.service").read_text()
    assert "CCA_MAX_CONCURRENT_CLI" in text.split("MemoryHigh=")[0], "the relation to the slots is not explained"
    assert "CCA_POOL_SIZE" in text.split("MemoryHigh=")[0], "the relation to the pool is not explained"
    assert "MemoryMax" in (REPO / "README.md").read_text()
