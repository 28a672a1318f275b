"""Registration modes, login, logout, tokens and the operator's account commands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import aiohttp

from node.appkeys import LOGIN_FAILURES
from node.storage import db as dbmod
from tests.api.helpers import call, login, register
from tests.nodes import REPO, RunningNode, initialised, running_node, write_config


async def test_register_login_logout(node: RunningNode, http: aiohttp.ClientSession) -> None:
    first = await register(http, node.url, "Anna", device="phone")
    server = node.config.node.server_name
    assert first["address"] == f"anna@{server}"
    assert first["role"] == "customer"
    second = await login(http, node.url, f"anna@{server}")
    assert second["device_id"] != first["device_id"]
    status, info = await call(http, node.url, "GET", "/account", second["access_token"])
    assert status == 200
    assert {d["device_id"] for d in info["devices"]} == {first["device_id"],
                                                         second["device_id"]}
    status, _ = await call(http, node.url, "POST", "/logout", first["access_token"], {})
    assert status == 200
    status, err = await call(http, node.url, "GET", "/account", first["access_token"])
    assert (status, err["error"]["code"]) == (401, "DEVICE_REVOKED")
    status, info = await call(http, node.url, "GET", "/account", second["access_token"])
    assert [d["device_id"] for d in info["devices"]] == [second["device_id"]]


async def test_bad_credentials_and_taken_names(node: RunningNode,
                                               http: aiohttp.ClientSession) -> None:
    await register(http, node.url, "bob")
    status, err = await call(http, node.url, "POST", "/login",
                             body={"username": "bob", "password": "wrong password"})
    assert (status, err["error"]["code"]) == (401, "INVALID_CREDENTIALS")
    status, err = await call(http, node.url, "POST", "/login",
                             body={"username": "nobody", "password": "wrong password"})
    assert (status, err["error"]["code"]) == (401, "INVALID_CREDENTIALS")
    status, err = await call(http, node.url, "POST", "/register",
                             body={"username": "bob", "password": "another password"})
    assert (status, err["error"]["code"]) == (409, "ADDRESS_TAKEN")
    status, err = await call(http, node.url, "POST", "/register",
                             body={"username": "bad name!", "password": "long enough"})
    assert (status, err["error"]["code"]) == (400, "INVALID_USERNAME")
    status, err = await call(http, node.url, "POST", "/register",
                             body={"username": "carol", "password": "short"})
    assert (status, err["error"]["code"]) == (400, "WEAK_PASSWORD")
    status, err = await call(http, node.url, "POST", "/register", body={"username": "dave"})
    assert (status, err["error"]["code"]) == (400, "MISSING_FIELD")


def kontor(ini: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "node", *args, "-c", str(ini)],
                          input=stdin, capture_output=True, text=True, cwd=REPO, timeout=60)


async def test_closed_mode_and_operator_accounts(tmp_path: Path) -> None:
    ini = initialised(write_config(tmp_path / "n"))
    made = kontor(ini, "account", "add", "boss", "--role", "admin", "--password-stdin",
                  stdin="a good password\n")
    assert made.returncode == 0, made.stderr
    again = kontor(ini, "account", "add", "boss", "--password-stdin", stdin="another one!\n")
    assert again.returncode == 2 and "ADDRESS_TAKEN" in again.stderr
    async with running_node(ini) as node, aiohttp.ClientSession() as http:
        status, err = await call(http, node.url, "POST", "/register",
                                 body={"username": "eve", "password": "long enough"})
        assert (status, err["error"]["code"]) == (403, "REGISTRATION_CLOSED")
        session = await login(http, node.url, "boss", "a good password")
        assert session["role"] == "admin"
        listed = kontor(ini, "device", "list", "boss")
        assert session["device_id"] in listed.stdout
        revoked = kontor(ini, "device", "revoke", "boss", session["device_id"])
        assert revoked.returncode == 0, revoked.stderr
        status, err = await call(http, node.url, "GET", "/account", session["access_token"])
        assert (status, err["error"]["code"]) == (401, "DEVICE_REVOKED")


async def test_invite_mode_tokens_are_one_time(tmp_path: Path) -> None:
    ini = initialised(write_config(tmp_path / "n",
                                   sections={"accounts": {"registration": "invite"}}))
    made = kontor(ini, "invite", "create", "--role", "agent")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    async with running_node(ini) as node, aiohttp.ClientSession() as http:
        status, err = await call(http, node.url, "POST", "/register",
                                 body={"username": "x1", "password": "long enough"})
        assert (status, err["error"]["code"]) == (403, "INVALID_INVITE")
        status, body = await call(http, node.url, "POST", "/register", body={
            "username": "x2", "password": "long enough", "invite": token})
        assert status == 200 and body["role"] == "agent"
        status, err = await call(http, node.url, "POST", "/register", body={
            "username": "x3", "password": "long enough", "invite": token})
        assert (status, err["error"]["code"]) == (403, "INVALID_INVITE")
    db = dbmod.connect(load_db_path(ini))
    try:
        stored = db.execute("SELECT token_hash FROM invites").fetchone()[0]
        assert token not in stored, "only the invite's hash is stored"
        tokens = [r[0] for r in db.execute("SELECT token_hash FROM devices")]
        assert all(len(t) == 64 for t in tokens)
    finally:
        db.close()


def load_db_path(ini: Path) -> Path:
    from node.config import load_config
    return load_config(ini).database_path


async def test_password_guessing_is_throttled_per_account(node: RunningNode,
                                                          http: aiohttp.ClientSession) -> None:
    await register(http, node.url, "anna")
    # The limiter's clock stands still: on a loaded machine twelve password hashes can
    # take longer than the 6 s in which a token comes back, and the 11th guess would pass.
    node.app[LOGIN_FAILURES].clock = lambda: 1000.0
    codes = []
    for _ in range(12):  # bounded: more than the 10 wrong passwords a minute allowed
        status, err = await call(http, node.url, "POST", "/login", body={
            "username": "anna", "password": "not the password"})
        codes.append(err["error"]["code"])
    assert codes[:10] == ["INVALID_CREDENTIALS"] * 10
    assert codes[10:] == ["RATE_LIMITED"] * 2
    status, err = await call(http, node.url, "POST", "/login", body={
        "username": "anna", "password": "correct horse battery"})
    assert (status, err["error"]["code"]) == (429, "RATE_LIMITED"), "even the right one waits"
