"""kontor.js passes every vector of tests/vectors/*.json in Chromium too."""

from __future__ import annotations

import json
from typing import Any

from node.services import webbundle
from tests.nodes import REPO, RunningNode
from tests.web.page import WebDevice


async def test_vectors_in_chromium(web_node: RunningNode, browser: Any) -> None:
    files = {p.name: json.loads(p.read_text()) for p in (REPO / "tests" / "vectors").glob("*.json")}
    context = await browser.new_context()
    try:
        web = await WebDevice.open(context, web_node.url)
        selftest = webbundle.load().entries["selftest"]
        counts = await web.run("""async ([path, files]) => {
            const { runVectors } = await import(path);
            return runVectors(files); }""", [f"/_kontor/web/{selftest}", files])
        assert set(counts) == set(files)
        assert all(count > 0 for count in counts.values()), counts
        assert web.console_errors == [] and web.foreign_requests == []
    finally:
        await context.close()
