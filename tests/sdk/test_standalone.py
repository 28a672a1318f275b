"""The SDK stands alone: importing it loads nothing of the server."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.nodes import REPO

SERVER = ("node.api", "node.services", "node.storage", "node.app", "node.cli",
          "node.config", "node.errors", "node.events", "aiohttp.web", "sqlite_utils",
          "federation.storage", "federation.sender", "federation.client",
          "federation.signatures")


def test_importing_the_sdk_loads_no_server_module() -> None:
    code = ("import json, sys\n"
            "from node.client import Client, Message, Receipt\n"
            "print(json.dumps(sorted(sys.modules)))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, timeout=60, check=True).stdout
    loaded = json.loads(out)
    assert "node.client.client" in loaded  # the check sees what was imported
    server = [m for m in loaded if any(m == s or m.startswith(s + ".") for s in SERVER)]
    assert server == []
