"""Helpers of the web tests: build the bundle once, find Node.js and Chromium."""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path
from types import ModuleType

import pytest

from tests.nodes import REPO

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def build_module() -> ModuleType:
    """web/build.py, imported from its path (it is no package of ours)."""
    spec = importlib.util.spec_from_file_location("kontor_web_build", REPO / "web" / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ensure_bundle() -> Path:
    """node/web_dist, built now when this checkout has none or web/ changed since."""
    build = build_module()
    manifest = build.DIST / "manifest.json"
    folders = ("src", "app", "chat", "shared", "test")
    sources = [p for folder in folders for p in (build.WEB / folder).rglob("*")]
    sources += [build.WEB / "build.mjs", build.WEB / "package-lock.json", build.WEB / "button.js"]
    if not manifest.exists() or max(p.stat().st_mtime for p in sources) > \
            manifest.stat().st_mtime:
        build.build()
    return build.DIST


def chromium() -> str:
    """The Debian Chromium binary; skips the test without it (fails under CI=true)."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        reason = "Chromium is not installed (apt-get install chromium): browser tests skipped"
        if os.environ.get("CI") == "true":
            pytest.fail(reason.replace("skipped", "required under CI=true"))
        pytest.skip(reason)
    return path


def node_and_modules() -> Path:
    """The node binary, with web/node_modules installed (npm ci) if missing."""
    build = build_module()
    if not (build.WEB / "node_modules" / ".package-lock.json").exists():
        build.build()
    return build.node_bin_dir() / "node"
