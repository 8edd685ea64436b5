"""Headless Chromium (Debian's /usr/bin/chromium, driven by Playwright) for dashboard tests.

    async with chromium() as browser:
        page, console = await new_page(browser, base_url)        # 1280×720, console recorded
        await login(page, base_url, token)                         # the login link → session cookie
        await page.goto(f"{base_url}/#/jobs"); await wait_connected(page)
        assert console.errors == []

Never downloads a browser; skips with a clear reason when Chromium is not installed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 720}


@asynccontextmanager
async def chromium() -> AsyncIterator[Any]:
    if not CHROMIUM.exists():  # noqa: ASYNC240 - one stat before the browser starts
        pytest.skip("/usr/bin/chromium is not installed (setup.sh's test packages install it)")
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


@dataclass
class Console:
    """Everything the page logged, uncaught errors and failed requests."""

    messages: list[tuple[str, str]] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        return [text for kind, text in self.messages if kind in ("error", "pageerror")]


async def new_page(browser: Any, base_url: str | None = None, *, viewport: dict[str, int] | None = None) -> Any:
    """A fresh context (own cookies) and page at 1280×720; returns (page, console)."""
    context = await browser.new_context(viewport=viewport or VIEWPORT)
    page = await context.new_page()
    console = Console()
    page.on("console", lambda msg: console.messages.append((msg.type, msg.text)))
    page.on("pageerror", lambda err: console.messages.append(("pageerror", str(err))))
    if base_url is not None:
        await page.goto(base_url)
    return page, console


async def login(page: Any, base_url: str, token: str, route: str = "dashboard") -> None:
    """Open the login link (sets the HttpOnly cookie, redirects to /), then go to `#/<route>`."""
    await page.goto(f"{base_url}/auth/login?token={token}&next=/%23/{route}")
    await wait_connected(page)


async def wait_connected(page: Any, timeout: float = 30_000) -> None:
    """Until the shell's WebSocket is authenticated and the first states have arrived.

    30 s: on a busy CI machine the first page of a cold Chromium took over 10 s once.
    """
    await page.wait_for_function("() => window.hub && window.hub.connected", timeout=timeout)


async def goto_route(page: Any, route: str, selector: str | None = None, timeout: float = 10_000) -> None:
    """Switch the shell to `#/<route>` and wait for the page element (and `selector` inside it)."""
    await page.evaluate("(r) => { location.hash = '#/' + r; }", route)
    await page.wait_for_selector(f"so-page-{route}", timeout=timeout)
    if selector:
        await page.wait_for_selector(selector, timeout=timeout)
