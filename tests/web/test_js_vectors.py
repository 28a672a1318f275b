"""kontor.js against tests/vectors/*.json under Node's test runner (node --test)."""

from __future__ import annotations

import subprocess

from tests.nodes import REPO
from tests.web.helpers import node_and_modules


def test_js_vectors_under_node_test_runner() -> None:
    node = node_and_modules()
    result = subprocess.run([str(node), "--test", "test/vectors.test.mjs"], cwd=REPO / "web",
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "# fail 0" in result.stdout
    vector_files = sorted(p.name for p in (REPO / "tests" / "vectors").glob("*.json"))
    assert vector_files
    for name in vector_files:  # each file has its own passing test
        assert f"- vectors {name}\n" in result.stdout, name
    assert "not ok" not in result.stdout
