"""setuptools hook: build the browser bundle (web/build.py) into node/web_dist/ before the
Python files are collected, so that wheels and editable installs contain it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


class BuildPyWithWeb(build_py):
    """build_py that first runs ``npm ci`` and esbuild (see web/build.py)."""

    def run(self) -> None:
        spec = importlib.util.spec_from_file_location("kontor_web_build", HERE / "web" / "build.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.build()
        super().run()


setup(cmdclass={"build_py": BuildPyWithWeb})
