"""Server names, addresses and roles: one rule each (node.protocol.names)."""

from __future__ import annotations

import pathlib
import re

import pytest

from node.protocol.names import (
    GIVEN_ROLES,
    READER_ROLES,
    TEAM_ROLES,
    Address,
    InvalidAddress,
    Role,
    home_of,
    is_server_name,
    local_of,
    server_of,
)
from node.storage.db import connect, migrate


@pytest.mark.parametrize("text", ["anna@shop.example", "a@localhost:8481", "0.b_c-d@[::1]:9",
                                  "x" * 64 + "@h"])
def test_a_valid_address_parses_and_prints_as_written(text: str) -> None:
    address = Address.parse(text)
    assert str(address) == text
    assert (address.local, address.server) == (local_of(text), server_of(text))


@pytest.mark.parametrize("text", ["anna", "@shop.example", "anna@", "Anna@shop.example",
                                  "-a@shop.example", "a@b@c", "a@shop..", "x" * 65 + "@h",
                                  "a@" + "b" * 319, "a b@shop.example", "a@shop.example\n"])
def test_an_invalid_address_is_refused(text: str) -> None:
    with pytest.raises(InvalidAddress):
        Address.parse(text)


def test_server_names() -> None:
    assert all(map(is_server_name, ["shop.example", "localhost:8481", "[::1]:8448", "A.b"]))
    assert not any(map(is_server_name, ["", "-a", "a_b", "a:port", "a" * 256, "a.b\n"]))


def test_home_of_takes_an_address_or_a_bare_server_name() -> None:
    assert home_of("anna@shop.example") == home_of("shop.example") == "shop.example"
    assert server_of("shop.example") == ""  # no '@': no server (never the name itself)


def test_the_roles_are_the_ones_the_schema_allows(tmp_path: pathlib.Path) -> None:
    db = connect(tmp_path / "node.db")
    migrate(db)
    schema = db.execute("SELECT sql FROM sqlite_master WHERE name = 'accounts'").fetchone()[0]
    db.close()
    found = re.search(r"role IN \(([^)]*)\)", schema)
    assert found is not None
    assert set(re.findall(r"'(\w+)'", found.group(1))) == {r.value for r in Role}
    assert set(GIVEN_ROLES) == {Role.ADMIN, Role.AGENT, Role.CUSTOMER}
    assert TEAM_ROLES < READER_ROLES and Role.CUSTOMER not in READER_ROLES
    assert "admin" in TEAM_ROLES  # rows hold plain strings; they compare as roles
