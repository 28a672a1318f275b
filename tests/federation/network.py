"""A small federation for tests: nodes named ``<name>.test`` resolved through a real DNS
server on loopback (SRV ``_kontor._tcp`` -> ``<name>-host.test`` -> 127.0.0.1)."""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from tests.dnsserver import DnsServer
from tests.nodes import RunningNode, free_port, running_node, write_config


def node_config(dns: DnsServer, directory: Path, name: str,
                sections: dict[str, dict[str, Any]] | None = None,
                port: int | None = None) -> Path:
    """Publish DNS records for ``<name>.test`` and write its config (not started)."""
    port = port or free_port()
    server_name = f"{name}.test"
    dns.add_srv(f"_kontor._tcp.{server_name}", target=f"{name}-host.test", port=port, ttl=60)
    dns.add_a(f"{name}-host.test", "127.0.0.1")
    values: dict[str, dict[str, Any]] = {
        "accounts": {"registration": "open"},
        "federation": {"allow_plain_http": "true", "allow_private_addresses": "true",
                       "dns_nameserver": dns.address, "retry_initial_seconds": 1,
                       "retry_max_seconds": 2},
    }
    for section, items in (sections or {}).items():
        values.setdefault(section, {}).update(items)
    return write_config(directory / name, port=port, server_name=server_name,
                        sections=values)


async def start_nodes(stack: AsyncExitStack, dns: DnsServer, directory: Path,
                      names: list[str]) -> dict[str, RunningNode]:
    """Start one in-process node per name; they stop when ``stack`` closes."""
    return {name: await stack.enter_async_context(
        running_node(node_config(dns, directory, name))) for name in names}
