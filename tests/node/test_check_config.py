"""``kontor check-config`` finds what parsing alone cannot: unusable TLS files and data
folders, a config that disagrees with its database, and risky settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from node.cli import main
from node.config import load_config
from node.storage import accounts as account_store
from node.storage.db import connect
from tests.federation.test_keys_and_tls import make_ca
from tests.nodes import initialised, write_config


def check(ini: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["check-config", "-c", str(ini)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_tls_files_must_be_pem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, certs = make_ca(tmp_path / "ca", ["shop.test"])
    cert, key = certs["shop.test"]
    junk = tmp_path / "junk.pem"
    junk.write_text("this is not a certificate\n")
    other_key = tmp_path / "other.key"
    other_key.write_text((tmp_path / "ca" / "ca.key").read_text())

    def with_tls(cert_file: Path, key_file: Path) -> Path:
        return write_config(tmp_path / "n", sections={"tls": {"cert_file": cert_file,
                                                              "key_file": key_file}})
    code, out, _ = check(with_tls(cert, key), capsys)
    assert code == 0 and "OK" in out
    code, _, err = check(with_tls(junk, key), capsys)
    assert code == 2 and "[tls] cert_file" in err and "is not a PEM certificate" in err
    code, _, err = check(with_tls(cert, junk), capsys)
    assert code == 2 and "[tls] key_file" in err and "is not a PEM private key" in err
    code, _, err = check(with_tls(cert, other_key), capsys)
    assert code == 2 and "[tls] key_file" in err and f"private key for {cert}" in err


def test_a_data_dir_that_cannot_be_created(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "n").mkdir()
    (tmp_path / "n" / "a-file").write_text("")
    ini = write_config(tmp_path / "n", sections={"node": {"data_dir": "a-file/data"}})
    code, _, err = check(ini, capsys)
    assert code == 2 and "[node] data_dir" in err
    assert "cannot be created" in err and "a-file is a file, not a folder" in err
    ini = write_config(tmp_path / "n", sections={"node": {"data_dir": "a-file"}})
    code, _, err = check(ini, capsys)
    assert code == 2 and "a-file is not a folder" in err


def test_the_config_must_match_the_database(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    ini = initialised(write_config(tmp_path / "n", server_name="shop.test",
                                   sections={"business": {"account": "tea"}}))
    assert check(ini, capsys)[0] == 0
    write_config(tmp_path / "n", server_name="other.test",
                 sections={"business": {"account": "tea"}})
    code, _, err = check(ini, capsys)
    assert code == 2 and "[node] server_name" in err and "belongs to 'shop.test'" in err
    write_config(tmp_path / "n", server_name="shop.test",
                 sections={"business": {"account": "teashop"}})
    code, _, err = check(ini, capsys)
    assert code == 2 and "[business] account" in err
    assert "set up for the business account 'tea'" in err and "account = tea" in err
    assert "kontor business rename teashop --yes -c" in err
    for command in (["init"], ["account", "list"]):
        assert main([*command, "-c", str(ini)]) == 2, command
        assert "does not rename it" in capsys.readouterr().err
    db = connect(load_config(ini).database_path)
    try:
        assert account_store.addresses_with_role(db, "automation") == ["tea@shop.test"]
    finally:
        db.close()


def test_warnings_for_risky_settings(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                     ) -> None:
    ini = write_config(tmp_path / "n")
    code, out, _ = check(ini, capsys)
    assert code == 0 and "warning: " not in out
    ini = write_config(tmp_path / "n", server_name="tea-shop.de",
                       sections={"http": {"listen_host": "0.0.0.0"}})
    code, out, _ = check(ini, capsys)
    assert code == 0
    warnings = [line for line in out.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 2, out
    assert "[http] listen_host = 0.0.0.0 is not a loopback address" in warnings[0]
    assert "[federation] allow_plain_http is on" in warnings[1]
    assert "tea-shop.de is a public name" in warnings[1]


def test_a_warning_for_guests_behind_a_reverse_proxy(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    proxied = {"node": {"public_url": "https://shop.example"},
               "webchat": {"enabled": "true"}}
    code, out, _ = check(write_config(tmp_path / "n", sections=proxied), capsys)
    assert code == 0
    warnings = [line for line in out.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1 and "[webchat] is on behind a reverse proxy" in warnings[0]
    assert "only 5 guests an hour" in warnings[0]
    raised = {**proxied, "webchat": {"enabled": "true", "guests_per_address_hour": 500,
                                     "guests_per_address_day": 5000}}
    code, out, _ = check(write_config(tmp_path / "m", sections=raised), capsys)
    assert code == 0 and "warning: " not in out


def test_an_inline_comment_gets_a_hint(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    ini = write_config(tmp_path / "n", sections={"http": {"listen_port": "80 # web"}})
    code, _, err = check(ini, capsys)
    assert code == 2 and "[http] listen_port" in err
    assert "comments go on their own line" in err
