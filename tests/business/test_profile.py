"""The business profile over the client, public and federation APIs."""

from __future__ import annotations

import aiohttp

from crypto.encoding import b64decode
from node.nodekey import key_path, load_key
from node.services.business.signed import verify_document
from tests.api.helpers import call, register
from tests.business.helpers import B, biz, team_member
from tests.nodes import RunningNode


async def test_admin_edits_others_read_and_the_document_is_signed(
        node: RunningNode, http: aiohttp.ClientSession) -> None:
    boss = await team_member(node, http, "boss", "admin")
    anna = await team_member(node, http, "anna", "agent")
    carl = await register(http, node.url, "carl")
    status, first = await call(http, node.url, "GET", B + "/profile", carl["access_token"])
    assert status == 200 and first["version"] == 0 and first["name"] == "shop"
    assert first["address"] == biz(node).address and first["timezone"] == "Europe/Berlin"

    change = {"name": "Kaffee Kontor", "description": "Beans.\nRoasted here.",
              "category": "Coffee", "postal_address": "Hauptstr. 1, Berlin",
              "website": "https://kaffee.example", "email": "hi@kaffee.example",
              "phone": "+49 30 123456", "hours": {"mon": [{"open": "09:00", "close": "17:30"}],
                                                  "fri": [{"open": "22:00", "close": "02:00"}]},
              "exceptions": {"2025-12-25": []}}
    status, doc = await call(http, node.url, "PUT", B + "/profile", boss["access_token"], change)
    assert status == 200, doc
    assert doc["version"] == 1 and doc["name"] == "Kaffee Kontor"
    assert doc["hours"]["fri"] == [{"open": "22:00", "close": "02:00"}]
    status, doc = await call(http, node.url, "PUT", B + "/profile", boss["access_token"],
                             {"category": "Café", "email": None})
    assert status == 200 and doc["version"] == 2 and doc["category"] == "Café"
    assert doc["email"] == "" and doc["name"] == "Kaffee Kontor", "partial update"
    assert doc["updated_ms"] > 0 and doc["valid_until_ms"] > doc["updated_ms"]

    for who in (anna, carl):
        status, err = await call(http, node.url, "PUT", B + "/profile", who["access_token"],
                                 {"name": "Mine now"})
        assert (status, err["error"]["code"]) == (403, "FORBIDDEN_ROLE")
    status, seen = await call(http, node.url, "GET", B + "/profile", anna["access_token"])
    assert seen["name"] == "Kaffee Kontor" and seen["version"] == 2

    # Public (no token) and federation routes serve the same signed document.
    for path in ("/_kontor/public/v1/profile", "/_kontor/federation/v1/profile"):
        async with http.get(node.url + path) as r:
            assert r.status == 200, path
            public = await r.json()
        assert public["version"] == 2 and public["server_name"] == node.config.node.server_name
        key = load_key(key_path(node.config.data_dir))
        assert verify_document(public, public["server_name"], key.key_id, key.public_key)
        tampered = {**public, "name": "Evil"}
        assert not verify_document(tampered, public["server_name"], key.key_id,
                                   key.public_key)


async def test_signature_verifies_with_the_published_key_document(
        node: RunningNode, http: aiohttp.ClientSession) -> None:
    async with http.get(node.url + "/_kontor/federation/v1/keys") as r:
        assert r.status == 200
        keys = await r.json()
    [(key_id, entry)] = keys["keys"].items()
    public_key = b64decode(entry["key"], 32)
    for path in ("/_kontor/public/v1/profile", "/_kontor/public/v1/catalog"):
        async with http.get(node.url + path) as r:
            doc = await r.json()
        assert verify_document(doc, node.config.node.server_name, key_id, public_key), path


async def test_bad_profile_input_changes_nothing(node: RunningNode,
                                                 http: aiohttp.ClientSession) -> None:
    boss = await team_member(node, http, "boss", "admin")
    token = boss["access_token"]
    cases = [
        ({"name": ""}, "INVALID_PARAMETER"),
        ({"name": "x" * 101}, "INVALID_PARAMETER"),
        ({"description": "y" * 1001}, "INVALID_PARAMETER"),
        ({"website": "ftp://x"}, "INVALID_PARAMETER"),
        ({"email": "not-an-email"}, "INVALID_PARAMETER"),
        ({"phone": "call me"}, "INVALID_PARAMETER"),
        ({"timezone": "Mars/Olympus"}, "INVALID_TIMEZONE"),
        ({"hours": {"mon": [{"open": "25:00", "close": "26:00"}]}}, "INVALID_HOURS"),
        ({"hours": {"someday": []}}, "INVALID_HOURS"),
        ({"hours": {"mon": [{"open": "09:00", "close": "09:00"}]}}, "INVALID_HOURS"),
        ({"hours": {"mon": [{"open": "09:00", "close": "10:00"}] * 7}}, "INVALID_HOURS"),
        ({"exceptions": {"2025-02-30": []}}, "INVALID_DATE"),
        ({"logo": "short"}, "INVALID_MEDIA_ID"),
        ({"logo": "A" * 43}, "UNKNOWN_MEDIA"),
        ({"colour": "red"}, "UNKNOWN_FIELD"),
        ({}, "EMPTY_UPDATE"),
    ]
    for body, code in cases:
        status, err = await call(http, node.url, "PUT", B + "/profile", token, body)
        assert (status, err["error"]["code"]) == (400, code), body
    status, doc = await call(http, node.url, "GET", B + "/profile", token)
    assert doc["version"] == 0, "nothing changed"
    # A real upload is a valid logo.
    async with http.post(node.url + "/_kontor/client/v1/media", data=b"logo-bytes",
                         headers={"Authorization": f"Bearer {token}",
                                  "Content-Type": "application/octet-stream"}) as r:
        media_id = (await r.json())["media_id"]
    status, doc = await call(http, node.url, "PUT", B + "/profile", token, {"logo": media_id})
    assert status == 200 and doc["logo"] == media_id


async def test_the_node_adds_when_it_opens_and_the_measured_first_response(
        node: RunningNode, http: aiohttp.ClientSession) -> None:
    """next_change_ms from the hours; typical_response_ms is the median of the team's
    measured first responses of the last 30 days, null until there are three."""
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    from node.appkeys import DB
    from node.storage import business as store

    boss = await team_member(node, http, "boss", "admin")
    status, doc = await call(http, node.url, "PUT", B + "/profile", boss["access_token"],
                             {"hours": {"mon": [{"open": "09:00", "close": "17:00"}]}})
    assert status == 200 and doc["typical_response_ms"] is None
    change = datetime.fromtimestamp(doc["next_change_ms"] / 1000, ZoneInfo("Europe/Berlin"))
    assert (change.weekday(), change.hour, change.minute) in ((0, 9, 0), (0, 17, 0))
    assert doc["next_change_ms"] > doc["updated_ms"]
    assert (change.hour == 17) == doc["open_now"]
    day = lambda back: (datetime.now(UTC).date() - timedelta(days=back)).isoformat()  # noqa: E731
    db = node.app[DB]
    for back, ms in ((0, 60_000), (3, 600_000), (40, 1)):  # the last is older than 30 days
        await db.write(store.add_response_time_txn, day(back), f"c{back}@x.example", ms)
    async with http.get(node.url + "/_kontor/public/v1/profile") as r:
        assert (await r.json())["typical_response_ms"] is None, "two samples are too few"
    await db.write(store.add_response_time_txn, day(1), "c1@x.example", 7_200_000)
    async with http.get(node.url + "/_kontor/public/v1/profile") as r:
        public = await r.json()
    assert public["typical_response_ms"] == 600_000
    status, cleared = await call(http, node.url, "PUT", B + "/profile", boss["access_token"],
                                 {"hours": None})
    assert status == 200 and cleared["next_change_ms"] is None and cleared["open_now"]
