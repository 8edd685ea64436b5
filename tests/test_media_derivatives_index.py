"""Previews made by the media services are recorded in the asset index (so_thumbs), one per kind."""

from __future__ import annotations

from pathlib import Path

from helpers_media import setup_media_hub
from media_fixtures import make_video

from streamops import assets as assets_component
from streamops.core import Hub
from streamops.recorder import DATABASE


async def test_thumbnail_sprite_hover_waveform_land_in_so_thumbs(hub: Hub, tmp_path: Path) -> None:
    drive = tmp_path / "drive"
    drive.mkdir()
    video = drive / "clip.mp4"
    make_video(video, duration=3.0)
    await setup_media_hub(hub, [drive], start=False)
    assert await assets_component.async_setup(hub, assets_component.CONFIG_SCHEMA({}))
    hub.config.components.add("assets")
    await hub.async_start()
    for service in ("thumbnail", "sprite", "hover", "waveform"):
        await hub.services.async_call("media", service, {"input": str(video)}, return_response=True)
    rows = await hub.data[DATABASE].fetchall(
        "SELECT t.kind AS kind, t.path AS path FROM so_thumbs t JOIN so_assets a ON a.id = t.asset_id WHERE a.path = ?",
        (str(video),),
    )
    kinds = {row["kind"]: row["path"] for row in rows}
    assert {"thumb", "sprite", "hover", "waveform"} <= kinds.keys(), kinds
    assert all(Path(path).is_file() for path in kinds.values())  # noqa: ASYNC240
