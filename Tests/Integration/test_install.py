"""`make install` into a DESTDIR, with the debug build (issue 12): every file with its mode and nothing more,
installed units that pass `systemd-analyze verify` and name the installed paths, PREFIX moving them all, the nginx
site inside a Debian-like nginx.conf, the operator's configuration never overwritten, and the CLI with
INSTALL_CLI=1. The groups and owners need a real root: `make deb` installs the package in a throwaway root for
that (packaging/check-deb)."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / ".build" / "debug" / "claude-code-api"

# Every path make install makes under DESTDIR (PREFIX=/usr/local), with its mode.
LAYOUT = {
    "usr/local/bin/claude-code-api": 0o755,
    "usr/local/lib/systemd/system/claude-code-api.service": 0o644,
    "usr/local/lib/systemd/system/claude-code-api.socket": 0o644,
    "usr/local/lib/claude-code-api/setup-host": 0o755,
    "usr/local/share/doc/claude-code-api/README.md": 0o644,
    "usr/local/share/man/man8/claude-code-api.8.gz": 0o644,
    "usr/local/share/claude-code-api/env.example": 0o644,
    "usr/local/share/claude-code-api/keys.example": 0o644,
    "usr/local/share/claude-code-api/nginx-site": 0o644,
    "etc/nginx/sites-available/claude-code-api": 0o644,
    "etc/claude-code-api": 0o750,
    "etc/claude-code-api/env": 0o600,      # credentials: read by systemd (root), not by the service
    "etc/claude-code-api/keys": 0o640,     # read by the service through the group claude-code-api-keys
}


def make_install(destdir: Path, *settings: str) -> str:
    assert BUILD.is_file(), "build first (make build)"
    result = subprocess.run(["make", "--no-print-directory", "install", f"DESTDIR={destdir}", "CONFIGURATION=debug",
                             *settings], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


def tool(name: str) -> str:
    found = shutil.which(name) or (f"/usr/sbin/{name}" if os.access(f"/usr/sbin/{name}", os.X_OK) else None)
    if found is None:
        pytest.fail(f"{name} not found: scripts/setup installs it", pytrace=False)
    return found


def unit_settings(path: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            out.setdefault(key.strip(), []).append(value.strip())
    return out


def environment_of(settings: dict[str, list[str]]) -> dict[str, str]:
    return dict(value.split("=", 1) for value in settings.get("Environment", []))


def fresh_folder() -> Path:
    return Path(tempfile.mkdtemp(prefix="cca-destdir-"))


@pytest.fixture(scope="module")
def destdir():
    """One make install for the tests that only read it."""
    root = fresh_folder()
    make_install(root)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def empty_destdir():
    """A DESTDIR of the test's own, removed afterwards (a copy of the CLI is 400 MB)."""
    root = fresh_folder()
    yield root
    shutil.rmtree(root, ignore_errors=True)


def test_make_install_lays_out_every_file_with_its_mode_and_nothing_else(destdir):
    found = {str(p.relative_to(destdir)): stat.S_IMODE(p.lstat().st_mode)
             for p in destdir.rglob("*") if not p.is_dir() or str(p.relative_to(destdir)) in LAYOUT}
    assert {path: oct(mode) for path, mode in found.items()} == {path: oct(mode) for path, mode in LAYOUT.items()}
    assert (destdir / "etc/claude-code-api").is_dir()
    assert (destdir / "usr/local/bin/claude-code-api").read_bytes() == BUILD.read_bytes()


def test_installed_units_pass_systemd_analyze_verify_and_name_the_installed_files(destdir, tmp_path):
    units = destdir / "usr/local/lib/systemd/system"
    service = unit_settings(units / "claude-code-api.service")
    # Every path the service names is one make install made (or the CLI's, which INSTALL_CLI=1 fills).
    assert service["ExecStart"] == ["/usr/local/bin/claude-code-api"]
    assert os.access(destdir / "usr/local/bin/claude-code-api", os.X_OK)
    environment = environment_of(service)
    assert environment["CCA_CLAUDE_PATH"] == "/usr/local/bin/claude"
    assert environment["CCA_API_KEYS_FILE"] == "/etc/claude-code-api/keys"
    assert (destdir / "etc/claude-code-api/keys").is_file()
    assert service["EnvironmentFile"] == ["-/etc/claude-code-api/env"] and (destdir / "etc/claude-code-api/env").is_file()
    documentation = service["Documentation"][0].removeprefix("file://")
    assert (destdir / documentation.lstrip("/")).is_file(), documentation
    # The key file's group, as the service gets it; the socket's group: both made by setup-host.
    assert service["SupplementaryGroups"] == ["claude-code-api-keys"]
    assert unit_settings(units / "claude-code-api.socket")["SocketGroup"] == ["claude-code-api-fcgi"]
    helper = (destdir / "usr/local/lib/claude-code-api/setup-host").read_text()
    assert "claude-code-api-keys" in helper and "claude-code-api-fcgi" in helper

    # systemd-analyze checks ExecStart= on this machine: point it into DESTDIR, change nothing else.
    for name in ("claude-code-api.service", "claude-code-api.socket"):
        text = (units / name).read_text()
        (tmp_path / name).write_text(text.replace("ExecStart=/usr/local/bin/", f"ExecStart={destdir}/usr/local/bin/"))
    result = subprocess.run([tool("systemd-analyze"), "verify", "--man=no", str(tmp_path / "claude-code-api.socket"),
                             str(tmp_path / "claude-code-api.service")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_prefix_moves_every_path_the_units_name(empty_destdir):
    make_install(empty_destdir, "PREFIX=/opt/cca", "UNITDIR=/opt/cca/units")
    units = empty_destdir / "opt/cca/units"
    service = unit_settings(units / "claude-code-api.service")
    assert service["ExecStart"] == ["/opt/cca/bin/claude-code-api"]
    assert environment_of(service)["CCA_CLAUDE_PATH"] == "/opt/cca/bin/claude"
    assert service["Documentation"] == ["file:///opt/cca/share/doc/claude-code-api/README.md"]
    for name in ("claude-code-api.service", "claude-code-api.socket"):
        assert "/usr/local" not in (units / name).read_text(), name
    assert (empty_destdir / "opt/cca/bin/claude-code-api").is_file()
    assert (empty_destdir / "etc/claude-code-api/keys").is_file()  # the configuration stays under /etc


def test_a_second_install_keeps_the_operators_env_keys_and_site(empty_destdir):
    make_install(empty_destdir)
    edited = {
        "etc/claude-code-api/env": "ANTHROPIC_API_KEY=sk-ant-operator\n",
        "etc/claude-code-api/keys": "alice " + "a" * 64 + "\n",
        "etc/nginx/sites-available/claude-code-api": "# the operator's own site\n",
    }
    for path, text in edited.items():
        (empty_destdir / path).write_text(text)
    output = make_install(empty_destdir)
    for path, text in edited.items():
        assert (empty_destdir / path).read_text() == text, f"{path} was overwritten"
        assert stat.S_IMODE((empty_destdir / path).stat().st_mode) == LAYOUT[path]
    assert "kept" in output and "claude-code-api/nginx-site" in output
    assert "server_name" in (empty_destdir / "usr/local/share/claude-code-api/nginx-site").read_text()


def test_the_installed_site_fits_inside_a_debian_nginx_conf(destdir, tmp_path):
    site = destdir / "etc/nginx/sites-available/claude-code-api"
    text = site.read_text()
    assert re.search(r"^\s*server unix:/run/claude-code-api/fcgi\.sock;", text, re.M), "not the socket unit's path"
    assert str(destdir) not in text and "/tmp" not in text
    # Debian's nginx.conf sets these in http{} itself; a site setting them there too would be refused.
    conf = tmp_path / "nginx.conf"
    conf.write_text(f"""pid {tmp_path}/nginx.pid;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    gzip on;
    access_log {tmp_path}/access.log;
    include {site};
}}
""")
    result = subprocess.run([tool("nginx"), "-t", "-p", str(tmp_path), "-c", str(conf), "-e", str(tmp_path / "error.log")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_install_cli_puts_the_fetched_cli_where_the_unit_runs_it(empty_destdir):
    make_install(empty_destdir, "INSTALL_CLI=1")
    cli = empty_destdir / "usr/local/bin/claude"
    assert stat.S_IMODE(cli.stat().st_mode) == 0o755
    version = subprocess.run([str(cli), "--version"], capture_output=True, text=True, timeout=60)
    assert version.returncode == 0 and "Claude Code" in version.stdout, version
