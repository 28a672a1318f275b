"""``Client(..., dns_nameserver=...)``: a private network's (here the test's) DNS server
shows a business as verified, without a nameserver passed to every call."""

from __future__ import annotations

from pathlib import Path

import pytest

from federation import pins
from node.appkeys import DB
from node.client import Client
from node.client.business import parse_nameserver
from node.client.errors import ClientError
from node.nodekey import key_path, load_key
from node.services import accounts
from tests.dnsserver import DnsServer
from tests.nodes import running_node, write_config
from tests.sdk.conftest import PASSPHRASE, PASSWORD


async def test_a_client_with_a_dns_server_shows_a_pinned_business_as_verified(
        tmp_path: Path) -> None:
    ini = write_config(tmp_path / "shop", server_name="shop.test",
                       sections={"accounts": {"registration": "open"}})
    with DnsServer() as dns, DnsServer() as empty:
        async with running_node(ini) as shop:
            key = load_key(key_path(shop.config.data_dir))
            dns.add_txt("_kontor-key.shop.test",
                        f"v=kontor1 ed25519={pins.pin_value(key.public_key)}")
            await accounts.create_account(shop.app[DB], "maria@shop.test", "admin", PASSWORD)
            maria = await Client.login(shop.url, "maria", PASSWORD, passphrase=PASSPHRASE,
                                       store=tmp_path / "maria.store")
            await maria.admin.update_profile(name="Tea & Leaf")
            await maria.close()
            store = tmp_path / "carl.store"
            carl = await Client.register(shop.url, "carl", PASSWORD, passphrase=PASSPHRASE,
                                         store=store, dns_nameserver=dns.address)
            profile = await carl.business.profile("shop@shop.test")
            assert profile.verified, profile.why
            assert profile["name"] == "Tea & Leaf"
            assert (await carl.business.catalog("shop.test")).verified
            # A per-call nameserver wins: a DNS server without the pin, not verified.
            unpinned = await carl.business.profile("shop.test", nameserver=empty.nameserver)
            assert not unpinned.verified and "no key pin" in unpinned.why
            await carl.close()
            async with await Client.open(store, PASSPHRASE,
                                         dns_nameserver=dns.nameserver) as again:
                assert (await again.business.profile("shop.test")).verified


@pytest.mark.parametrize(("text", "expected"), [
    ("127.0.0.1:5353", ("127.0.0.1", 5353)), ("10.0.0.53", ("10.0.0.53", 53)),
    ("[::1]:53", ("::1", 53)), ("[fd00::1]", ("fd00::1", 53)),
    (("127.0.0.1", 53), ("127.0.0.1", 53)), (None, None)])
def test_nameserver_forms(text: object, expected: object) -> None:
    assert parse_nameserver(text) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["", "host:", "host:99999", "host:abc", ("x",), ("x", "53")])
def test_bad_nameservers_are_refused(bad: object) -> None:
    with pytest.raises(ClientError):
        parse_nameserver(bad)  # type: ignore[arg-type]
