"""The code base type-checks: mypy as configured in pyproject.toml ([tool.mypy]) reports
nothing, so a change that breaks typing fails the suite as well as .ci/run."""

from __future__ import annotations

import pathlib

from mypy import api

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_mypy_is_clean(tmp_path: pathlib.Path) -> None:
    stdout, stderr, status = api.run(["--config-file", str(ROOT / "pyproject.toml"),
                                      "--cache-dir", str(tmp_path / "cache"),
                                      str(ROOT / "node"), str(ROOT / "federation"),
                                      str(ROOT / "crypto")])
    assert status == 0, stdout + stderr
