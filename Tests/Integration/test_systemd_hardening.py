"""The systemd units on a shared server (issue 8): the socket's group is the service's own.
(test_systemd_units.py checks that the units parse and keep their sandbox.)"""
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
UNITS = REPO / "systemd"


def settings(unit: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in (UNITS / unit).read_text().splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            out.setdefault(key.strip(), []).append(value.strip())
    return out


def test_the_socket_group_is_the_services_own():
    socket = settings("claude-code-api.socket")
    assert socket["SocketGroup"] == ["claude-code-api-fcgi"], \
        f"SocketGroup={socket['SocketGroup']}: a group shared with other services (www-data: PHP-FPM, CGI) reaches libfcgi"
    assert socket["SocketMode"] == ["0660"]
    readme = (REPO / "README.md").read_text()
    assert "groupadd --system claude-code-api-fcgi" in readme
    assert "usermod -aG claude-code-api-fcgi www-data" in readme
