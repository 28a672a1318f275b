"""Small HTTP helpers for client API tests."""

from __future__ import annotations

from typing import Any

import aiohttp

from crypto.identity import (
    DeviceIdentity,
    device_keys_document,
    make_one_time_prekey,
    make_signed_prekey,
)

PREFIX = "/_kontor/client/v1"


async def call(http: aiohttp.ClientSession, base: str, method: str, path: str,
               token: str | None = None, body: Any = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with http.request(method, base + PREFIX + path, json=body, headers=headers) as r:
        data = await r.json() if r.content_type == "application/json" else await r.read()
        return r.status, data


async def register(http: aiohttp.ClientSession, base: str, username: str,
                   password: str = "correct horse battery", device: str = "") -> dict[str, Any]:
    status, body = await call(http, base, "POST", "/register", body={
        "username": username, "password": password, "device_name": device})
    assert status == 200, body
    return body


async def login(http: aiohttp.ClientSession, base: str, username: str,
                password: str = "correct horse battery") -> dict[str, Any]:
    status, body = await call(http, base, "POST", "/login", body={
        "username": username, "password": password})
    assert status == 200, body
    return body


async def send_to(http: aiohttp.ClientSession, base: str, sender: dict[str, Any],
                  to: dict[str, Any], txn: str, ciphertext: str = "QQ") -> dict[str, Any]:
    """``sender`` sends one envelope to ``to``'s device (sessions from ``keyed_device``)."""
    status, sent = await call(http, base, "PUT", f"/send/{txn}", sender["access_token"],
                              {"to": to["address"],
                               "envelopes": {to["address"]: {to["device_id"]: ciphertext}}})
    assert status == 200, sent
    return dict(sent)


async def keyed_device(http: aiohttp.ClientSession, base: str, username: str,
                       prekeys: int = 5, login_only: bool = False) -> dict[str, Any]:
    """Register (or log in) ``username`` and upload keys for the new device."""
    session = await (login(http, base, username) if login_only
                     else register(http, base, username))
    docs = key_documents(session["address"], session["device_id"], prekeys)
    status, body = await call(http, base, "PUT", "/keys", session["access_token"], docs)
    assert status == 200, body
    return session


def key_documents(address: str, device_id: str, prekeys: int,
                  identity: DeviceIdentity | None = None) -> dict[str, Any]:
    """Signed device keys, signed prekey and one-time prekeys for one device."""
    identity = identity or DeviceIdentity.generate()
    return {
        "device_keys": device_keys_document(identity, address, device_id),
        "signed_prekey": make_signed_prekey(identity, "spk1")[1],
        "one_time_prekeys": [make_one_time_prekey(identity, f"otk{i}")[1]
                             for i in range(prekeys)],
    }
