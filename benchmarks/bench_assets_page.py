"""Assets page: first load with 100,000 assets indexed vs an empty index, in real headless Chromium.

Two hubs run side by side in this process (recorder, http, jobs, media, assets, reports, frontend
on free loopback ports): one with an empty index, one with `--rows` assets written straight into
so_assets (the FTS triggers index them as the indexer's rows are; names from bench_search's
vocabulary). Each repeat opens a fresh page at `/#/assets` (shell, WebSocket login, page module,
first search, first rows of tiles) and stops the clock when the grid shows its first tiles (or
"No assets indexed yet"). Repeats alternate between the two hubs; the baseline is the empty index
measured in the same run, so the ratio is what 100,000 rows cost the first load.

Also measured on the full index: a jump of the scrollbar deep into the list (time until the tiles
at the new position are drawn) and the number of tile elements in the DOM (virtualisation keeps it
to the visible rows, whatever the index holds).

Run: .venv/bin/python benchmarks/bench_assets_page.py [--rows 100000] [--repeats 7]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_search import INSERT, rows  # noqa: E402

from streamops.recorder import DATABASE  # noqa: E402
from tests.helpers_browser import CHROMIUM, CHROMIUM_ARGS, VIEWPORT  # noqa: E402
from tests.helpers_dashboard_assets import assets_hub  # noqa: E402

READY = """() => {
  const p = document.querySelector('so-page-assets');
  if (!p || p.dataset.state !== 'ready') return false;
  return document.querySelector('so-page-assets .asset-tile') !== null
      || document.querySelector('so-page-assets .assets-empty') !== null;
}"""

DEEP_DRAWN = """(index) => {
  const tile = document.querySelector(`so-page-assets .asset-tile[data-index="${index}"]`);
  return tile !== null;
}"""


async def fill(hub, count: int, root: str) -> float:
    rng = random.Random(7)
    started = time.perf_counter()
    db = hub.data[DATABASE]
    batch = 10_000
    for offset in range(0, count, batch):
        await db.executemany(INSERT, rows(min(batch, count - offset), root, rng))
    return time.perf_counter() - started


async def first_load(browser, base_url: str, token: str) -> float:
    context = await browser.new_context(viewport=VIEWPORT)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    await page.goto(f"{base_url}/auth/login?token={token}&next=/%23/settings")  # cookie, then leave
    await page.goto("about:blank")
    started = time.perf_counter()
    await page.goto(f"{base_url}/#/assets")
    await page.wait_for_function(READY, timeout=30_000, polling="raf")
    elapsed = time.perf_counter() - started
    await context.close()
    if errors:
        raise RuntimeError(f"console errors during the load: {errors}")
    return elapsed


async def deep_scroll(browser, base_url: str, token: str) -> tuple[float, int, int]:
    """(seconds until the tiles ~9,000 items down are drawn, tile elements in the DOM, total shown)."""
    context = await browser.new_context(viewport=VIEWPORT)
    page = await context.new_page()
    await page.goto(f"{base_url}/auth/login?token={token}&next=/%23/assets")
    await page.wait_for_function(READY, timeout=30_000)
    columns = await page.evaluate("() => document.querySelector('so-page-assets').grid.columns")
    row_height = await page.evaluate("() => document.querySelector('so-page-assets').grid.rowHeight")
    target = (9000 // columns) * columns
    started = time.perf_counter()
    await page.evaluate(
        "([top]) => { document.querySelector('so-page-assets .assets-scroll').scrollTop = top; }",
        [(target // columns) * row_height],
    )
    await page.wait_for_function(DEEP_DRAWN, arg=target, timeout=30_000, polling="raf")
    elapsed = time.perf_counter() - started
    tiles = await page.evaluate("() => document.querySelectorAll('so-page-assets .asset-tile').length")
    total = await page.evaluate("() => document.querySelector('so-page-assets').results.total")
    await context.close()
    return elapsed, tiles, total


def describe(samples: list[float]) -> str:
    p50, low, high = (1000 * v for v in (statistics.median(samples), min(samples), max(samples)))
    return f"p50 {p50:7.1f} ms   min {low:7.1f} ms   max {high:7.1f} ms"


async def main(count: int, repeats: int) -> None:
    if not CHROMIUM.exists():
        sys.exit("/usr/bin/chromium is not installed (setup.sh's test packages install it)")
    from playwright.async_api import async_playwright

    with tempfile.TemporaryDirectory() as empty_dir, tempfile.TemporaryDirectory() as full_dir:
        async with assets_hub(Path(empty_dir)) as empty, assets_hub(Path(full_dir)) as full:
            seconds = await fill(full.hub, count, str(full.drive))
            print(f"inserted {count:,} assets in {seconds:.1f} s")
            async with async_playwright() as p:
                browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                try:
                    await first_load(browser, empty.base_url, empty.token)  # warm-up (Chromium, caches)
                    await first_load(browser, full.base_url, full.token)
                    times: dict[str, list[float]] = {"empty": [], "full": []}
                    for _ in range(repeats):
                        times["empty"].append(await first_load(browser, empty.base_url, empty.token))
                        times["full"].append(await first_load(browser, full.base_url, full.token))
                    deep = [await deep_scroll(browser, full.base_url, full.token) for _ in range(3)]
                finally:
                    await browser.close()
    print(f"first load of #/assets, {repeats} repeats each (interleaved), 1280×720, headless Chromium")
    print(f"  empty index          {describe(times['empty'])}")
    print(f"  {count:,} assets  {describe(times['full'])}")
    ratio = statistics.median(times["full"]) / statistics.median(times["empty"])
    print(f"  ratio (p50 full / p50 empty): {ratio:.2f}x")
    print(f"jump ~9,000 items down the grid: p50 {statistics.median(d[0] for d in deep) * 1000:.1f} ms until drawn")
    print(f"tile elements in the DOM after the jump: {deep[0][1]} (of {deep[0][2]:,}+ results reachable by scrolling)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    asyncio.run(main(args.rows, args.repeats))
