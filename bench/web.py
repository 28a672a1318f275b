"""kontor.js's session crypto in Chromium beside bench/crypto.py's Python figures.

    python bench/web.py [--seconds 1.0]

Starts a node (a child process), opens its /app/ in Debian's Chromium through
Playwright, runs the bundle's benchmark in the page (ratchet messages per second, one
direction and alternating, and X3DH handshakes per second), runs bench/crypto.py in the
same run, and prints both with the ratio Python / browser (aim: within 3x), then the
bundle's gzip size (aim: under 300 KB). The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from bench.harness import NodeProc, workdir  # noqa: E402
from node.services import webbundle  # noqa: E402

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
FIGURES = ("ratchet_oneway_msgs_per_s", "ratchet_alternating_msgs_per_s",
           "x3dh_handshakes_per_s")


def ensure_bundle() -> webbundle.Bundle:
    """The built bundle, built now (web/build.py) if there is none."""
    try:
        return webbundle.load()
    except webbundle.BundleMissing:
        spec = importlib.util.spec_from_file_location("kontor_web_build",
                                                      ROOT / "web" / "build.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.build()
        return webbundle.load()


def gzip_size(bundle: webbundle.Bundle, entry: str) -> int:
    """Gzip bytes a page loads for an entry: the entry and every module it imports."""
    return sum(len(f.gzipped) for f in [bundle.entry(entry), *bundle.closure(entry)])


async def browser_figures(url: str, selftest: str, seconds: float) -> dict[str, int]:
    from playwright.async_api import async_playwright

    executable = shutil.which("chromium")
    if executable is None:
        raise SystemExit("bench/web.py needs Debian's chromium (apt-get install chromium)")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            await page.goto(url + "/app/")
            await page.wait_for_selector("body[data-kontor=ready]", timeout=30_000)
            return await page.evaluate("""async ([path, seconds]) => {
                const { benchmark } = await import(path);
                return benchmark(seconds); }""", [f"/_kontor/web/{selftest}", seconds])
        finally:
            await browser.close()


def python_figures(seconds: float) -> dict[str, int]:
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "crypto.py"),
                          "--seconds", str(seconds)], capture_output=True, text=True,
                         check=True, timeout=600).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time per measurement")
    args = parser.parse_args(argv)
    seconds = max(args.seconds, 0.05)
    bundle = ensure_bundle()
    node = NodeProc(workdir() / "node").start()
    try:
        web = asyncio.run(browser_figures(node.url, bundle.entries["selftest"], seconds))
    finally:
        node.stop()
    py = python_figures(seconds)
    figures: dict[str, float] = {}
    for name in FIGURES:
        ratio = py[name] / web[name]
        figures[f"browser_{name}"] = web[name]
        figures[f"python_{name}"] = py[name]
        figures[f"{name}_python_over_browser"] = round(ratio, 2)
        print(f"{name:32} browser {web[name]:9d}/s   python {py[name]:9d}/s   "
              f"python/browser {ratio:.2f}x")
    figures["bundle_gzip_bytes_kontor"] = gzip_size(bundle, "kontor")
    figures["bundle_gzip_bytes_app"] = gzip_size(bundle, "app")
    print(f"bundle (gzip): kontor.js {figures['bundle_gzip_bytes_kontor'] / 1024:.0f} KiB, "
          f"app {figures['bundle_gzip_bytes_app'] / 1024:.0f} KiB")
    print(json.dumps(figures, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
