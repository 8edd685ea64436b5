"""Settings page: create a backup and stage a restore from the dashboard, in real Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers_browser import chromium, login, new_page
from tests.helpers_dashboard import dashboard_hub

pytestmark = pytest.mark.timeout(180)


async def test_create_backup_and_stage_restore_from_settings(tmp_path: Path) -> None:
    async with chromium() as browser, dashboard_hub(tmp_path) as dh:
        page, console = await new_page(browser)
        page.on("dialog", lambda dialog: dialog.accept())
        await login(page, dh.base_url, dh.token, route="settings")
        await page.click("#backup-create")
        row = page.locator("#backups tr[data-backup]")
        await row.first.wait_for(timeout=20_000)
        name = await row.first.get_attribute("data-backup")
        backup_dir = dh.hub.config.data_dir / "backup"
        assert (backup_dir / name).is_file()
        await row.first.locator("button", has_text="Restore").click()
        await page.wait_for_selector("#backups .badge.warn", timeout=20_000)
        assert (backup_dir / "pending-restore.json").is_file()
        assert console.errors == []
