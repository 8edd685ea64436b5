"""Dashboard latency in real headless Chromium: a state change in the hub → the card showing it.

Measured in one run, against a whole hub (bootstrap, recorder on SQLite, http, jobs, automation,
drives, frontend) on a free loopback port:

- **card**: from `hub.states.async_set(...)` (wall clock in the hub) to the entities card's text
  changing in the page (a MutationObserver in the page, wall clock `performance.timeOrigin + now()`
  — the same machine clock).
- **baseline**: the same change arriving as a raw WebSocket message in the page (the shell's own
  socket, timed before hub.js parses it). The difference card − baseline is what hub.js, the state
  map and the card's re-render add on top of the hub's fan-out and the network.
- **first load**: a fresh navigation to `/#/dashboard` with a valid session until every card of the
  default view is on the page and the WebSocket is authenticated, against the time to load
  `/auth/session` (one round trip) in the same browser as a baseline.

Changes are paced: the next change is made after the card showed the previous one, so a figure is
latency, not queue drain. Run: .venv/bin/python benchmarks/bench_dashboard.py [--changes 300]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.helpers_browser import chromium, login, new_page, wait_connected  # noqa: E402
from tests.helpers_dashboard import dashboard_hub  # noqa: E402

ENTITY = "sensor.bench_value"
DASHBOARD = {"views": [{"title": "Bench", "cards": [{"type": "entities", "entities": [ENTITY]}]}]}

PAGE_PROBES = r"""
(entity) => {
  window.benchCard = {};
  window.benchRaw = {};
  const cell = () => document.querySelector(`[data-entity="${entity}"]`);
  const now = () => performance.timeOrigin + performance.now();
  // The card re-renders its rows: watch the card's subtree for the new text.
  const card = cell().closest('so-entities-card');
  new MutationObserver(() => {
    const text = cell()?.textContent;
    if (text && !(text in window.benchCard)) window.benchCard[text] = now();
  }).observe(card, { childList: true, subtree: true, characterData: true });
  // Baseline: the moment the shell's own socket receives the message (before hub.js parses it).
  const ws = window.hub._ws;
  const original = ws.onmessage;
  ws.onmessage = (ev) => {
    const t = now();
    if (ev.data.includes(entity)) {
      const m = ev.data.match(/"s":"(v\d+)"/);
      if (m && !(m[1] in window.benchRaw)) window.benchRaw[m[1]] = t;
    }
    original(ev);
  };
}
"""


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def line(name: str, values: list[float]) -> str:
    return (
        f"{name:<28} p50 {statistics.median(values):7.2f} ms   p99 {pct(values, 0.99):7.2f} ms"
        f"   max {max(values):7.2f} ms   (n={len(values)})"
    )


async def main(changes: int, loads: int) -> None:
    import aiohttp

    from tests.helpers_api import bearer

    async with chromium() as browser:
        with tempfile.TemporaryDirectory() as folder:
            async with dashboard_hub(Path(folder)) as dh:
                hub = dh.hub
                async with aiohttp.ClientSession(headers=bearer(dh.token)) as http:
                    async with http.put(f"{dh.base_url}/api/dashboard", json={"dashboard": DASHBOARD}) as resp:
                        assert resp.status == 200, await resp.text()
                hub.states.async_set(ENTITY, "start")
                page, console = await new_page(browser)
                await login(page, dh.base_url, dh.token)
                await page.wait_for_selector(f'[data-entity="{ENTITY}"]')
                await page.evaluate(PAGE_PROBES, ENTITY)

                card_ms: list[float] = []
                raw_ms: list[float] = []
                for i in range(changes):
                    value = f"v{i}"
                    sent = time.time() * 1000
                    hub.states.async_set(ENTITY, value)
                    await page.wait_for_function(
                        "(v) => v in window.benchCard && v in window.benchRaw", arg=value, timeout=10_000
                    )
                    card_t, raw_t = await page.evaluate("(v) => [window.benchCard[v], window.benchRaw[v]]", value)
                    card_ms.append(card_t - sent)
                    raw_ms.append(raw_t - sent)
                    await asyncio.sleep(0.005)
                assert not console.errors, console.errors

                # First load: fresh pages sharing the session cookie of `page`'s context.
                context = page.context
                load_ms: list[float] = []
                base_ms: list[float] = []
                expected = len(DASHBOARD["views"][0]["cards"])
                for _ in range(loads):
                    fresh = await context.new_page()
                    started = time.perf_counter()
                    await fresh.goto(f"{dh.base_url}/auth/session")
                    base_ms.append((time.perf_counter() - started) * 1000)
                    started = time.perf_counter()
                    await fresh.goto(f"{dh.base_url}/#/dashboard")
                    await wait_connected(fresh)
                    await fresh.wait_for_function(
                        f"() => document.querySelectorAll('so-page-dashboard .so-card').length >= {expected}"
                        f" && document.querySelector('[data-entity=\"{ENTITY}\"]')"
                    )
                    load_ms.append((time.perf_counter() - started) * 1000)
                    await fresh.close()

    print(f"Dashboard latency, {changes} paced state changes, Chromium headless, hub on loopback")
    print(line("raw WebSocket in page", raw_ms))
    print(line("entities card updated", card_ms))
    overhead = [c - r for c, r in zip(card_ms, raw_ms, strict=True)]
    print(line("card - raw (hub.js + card)", overhead))
    print(f"First load of #/dashboard ({loads} loads, warm HTTP cache with ETag revalidation)")
    print(line("/auth/session round trip", base_ms))
    print(line("dashboard ready", load_ms))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=300)
    parser.add_argument("--loads", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.changes, args.loads))
