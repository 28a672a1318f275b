"""The README's SDK example runs as written, against a real node (only its URL and the
business's address are this node's)."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

from node.appkeys import DB
from node.client import Client
from node.services import accounts
from tests.nodes import REPO, running_node, write_config
from tests.sdk.conftest import PASSPHRASE, PASSWORD

GREETING = "Hello, yes we deliver on Saturdays."


def readme_example() -> str:
    text = (REPO / "README.md").read_text()
    block = re.search(r"<!-- sdk-example:[^>]*-->\n```python\n(.*?)```", text, re.S)
    assert block is not None, "the README's SDK example is marked"
    return block.group(1)


async def test_the_readme_sdk_example_runs(tmp_path: Path) -> None:
    ini = write_config(tmp_path / "node", sections={"accounts": {"registration": "open"}})
    async with running_node(ini) as node:
        server = node.config.node.server_name
        await accounts.create_account(node.app[DB], f"maria@{server}", "admin", PASSWORD)
        async with await Client.login(node.url, "maria", PASSWORD, passphrase=PASSPHRASE,
                                      store=tmp_path / "maria.store") as maria:
            await maria.admin.set_automation(greeting={"enabled": True, "text": GREETING})
        code = readme_example().replace("https://shop.example", node.url).replace(
            "business@shop.example", node.config.business_address)
        assert "shop.example" not in code
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", code, cwd=tmp_path,
            env=dict(os.environ, PYTHONPATH=str(REPO)),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0, err.decode()
        assert out.decode().strip() == f"{node.config.business_address} {GREETING}"
        assert (tmp_path / "carl.kontor").exists()
