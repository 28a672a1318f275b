"""Config loading: every class of mistake gives its own clear, located message."""

from __future__ import annotations

import configparser
import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from node.config import SECTIONS, Config, load_config, render_example
from node.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
BASE = "[node]\nserver_name = shop.example\n"

CASES = [
    # (name, ini text, section, key, words expected in the problem)
    ("unknown section", BASE + "[nodes]\nx = 1\n", "nodes", None, "unknown section"),
    ("unknown key", BASE + "[http]\nlisten_prot = 80\n", "http", "listen_prot", "unknown key"),
    ("wrong type int", BASE + "[http]\nlisten_port = eighty\n", "http", "listen_port",
     "whole number"),
    ("out of range", BASE + "[http]\nlisten_port = 70000\n", "http", "listen_port",
     "between 1 and 65535"),
    ("wrong type bool", BASE + "[federation]\nenabled = maybe\n", "federation", "enabled",
     "true or false"),
    ("bad choice", BASE + "[accounts]\nregistration = public\n", "accounts", "registration",
     "one of closed, invite, open"),
    ("missing required", "[http]\nlisten_port = 8448\n", "node", "server_name",
     "required but missing"),
    ("bad server name", "[node]\nserver_name = shop example\n", "node", "server_name",
     "DNS name"),
    ("bad host:port", BASE + "[federation]\ndns_nameserver = localhost\n", "federation",
     "dns_nameserver", "host:port"),
    ("bad name list", BASE + "[federation]\ndeny = good.example, bad name\n", "federation",
     "deny", "not a server name"),
    ("duplicate key", BASE + "server_name = other.example\n", "node", "server_name",
     "set twice"),
    ("half tls", BASE + "[tls]\ncert_file = cert.pem\n", "tls", "key_file", "together"),
    ("retry order", BASE + "[federation]\nretry_initial_seconds = 100\n"
     "retry_max_seconds = 10\n", "federation", "retry_initial_seconds", "retry_max_seconds"),
    ("bad url", BASE + "public_url = ftp://shop.example/x\n", "node", "public_url", "http(s)"),
    ("not ini", "server_name = x\n", None, None, "not a valid INI file"),
    ("missing tls file", BASE + "[tls]\ncert_file = cert.pem\nkey_file = key.pem\n", "tls",
     "cert_file", "no such file"),
    ("unknown zone", BASE + "[business]\ntimezone = Mars/Olympus\n", "business", "timezone",
     "unknown time zone"),
    ("bad business account", BASE + "[business]\naccount = Big Shop\n", "business",
     "account", "local part"),
    ("guest limits order", BASE + "[webchat]\nguests_per_address_hour = 30\n", "webchat",
     "guests_per_address_hour", "must not exceed guests_per_address_day (20)"),
    ("pow too hard", BASE + "[webchat]\npow_difficulty = 40\n", "webchat", "pow_difficulty",
     "between 8 and 28"),
]


@pytest.mark.parametrize("name,text,section,key,words", CASES, ids=[c[0] for c in CASES])
def test_config_mistakes_are_located(tmp_path: Path, name: str, text: str, section: str,
                                     key: str, words: str) -> None:
    path = tmp_path / "node.ini"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    err = info.value
    assert err.file == str(path)
    assert err.section == section
    assert err.key == key
    assert words in err.problem
    assert str(path) in str(err)


def test_missing_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist; create it with `kontor example-config"):
        load_config(tmp_path / "absent.ini")


def test_values_are_typed_and_paths_resolve_against_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    path = folder / "node.ini"
    path.write_text(BASE + "data_dir = ../var/kontor\n[http]\nlisten_port = 9000\n"
                    "[federation]\nenabled = off\ndeny = Evil.example, spam.example:8448\n")
    config = load_config(path)
    assert config.http.listen_port == 9000
    assert config.federation.enabled is False
    assert config.federation.deny == ("evil.example", "spam.example:8448")
    assert config.data_dir == (tmp_path / "var" / "kontor").resolve()
    assert config.database_path == config.data_dir / "kontor.db"


def test_example_file_documents_every_setting_and_loads_as_defaults(tmp_path: Path) -> None:
    shipped = (REPO / "node.example.ini").read_text()
    assert shipped == render_example(), "regenerate with: kontor example-config > node.example.ini"
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(shipped)
    for section, cls in SECTIONS.items():
        for f in dataclasses.fields(cls):
            assert parser.has_option(section, f.name), f"[{section}] {f.name} undocumented"
            assert f.metadata["help"]
    copy = tmp_path / "node.ini"
    copy.write_text(shipped)
    loaded = load_config(copy)
    defaults = Config()
    assert loaded.http == defaults.http
    assert loaded.federation == dataclasses.replace(defaults.federation, ca_file="")
    assert loaded.limits == defaults.limits


def test_check_config_command_exits_nonzero_and_touches_nothing(tmp_path: Path) -> None:
    path = tmp_path / "node.ini"
    path.write_text(BASE + "data_dir = data\n[http]\nlisten_port = 0\n")
    result = subprocess.run([sys.executable, "-m", "node", "check-config", "-c", str(path)],
                            capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 2
    assert f"{path}: [http] listen_port: must be between 1 and 65535" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "data").exists()
    path.write_text(BASE + "data_dir = data\n")
    ok = subprocess.run([sys.executable, "-m", "node", "check-config", "-c", str(path)],
                        capture_output=True, text=True, cwd=REPO, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert "OK" in ok.stdout
    assert not (tmp_path / "data").exists()
