"""A real hub with recorder + jobs + media (+ files, shell) set up, for the media and files tests.

Also runnable as a script (`python tests/helpers_media.py CONFIG DATA DRIVES... -- domain.service JSON`):
a hub in its own process that calls one service and waits, so tests can kill -9 it mid-job.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from streamops.core import Hub  # noqa: E402


async def setup_media_hub(
    hub: Hub,
    drives: list[Path],
    media: dict[str, Any] | None = None,
    jobs: dict[str, Any] | None = None,
    files: dict[str, Any] | None = None,
    shell: dict[str, Any] | None = None,
    start: bool = True,
) -> Hub:
    from streamops import jobs as jobs_component
    from streamops import media as media_component
    from streamops import recorder

    hub.config.allowed_dirs.extend(drives)
    if not any(c == "recorder" for c in hub.config.components):
        assert await recorder.async_setup(hub, recorder.CONFIG_SCHEMA({}))
        hub.config.components.add("recorder")
    job_config = {"retry_backoff": 0.1, "poll_interval": 0.1, **(jobs or {})}
    assert await jobs_component.async_setup(hub, jobs_component.CONFIG_SCHEMA(job_config))
    assert await media_component.async_setup(hub, media_component.CONFIG_SCHEMA(media or {}))
    try:
        from streamops import files as files_component
    except ImportError:  # pragma: no cover - while the files component is being written
        files_component = None  # type: ignore[assignment]
    if files_component is not None and hasattr(files_component, "async_setup"):
        assert await files_component.async_setup(hub, files_component.CONFIG_SCHEMA(files or {}))
        hub.config.components.add("files")
    if shell is not None:
        from streamops import shell as shell_component

        assert await shell_component.async_setup(hub, shell_component.CONFIG_SCHEMA(shell))
    hub.config.components.update({"jobs", "media"})
    if start:
        await hub.async_start()
    return hub


async def _child(config_dir: Path, data_dir: Path, drives: list[Path], service: str, data: dict[str, Any]) -> None:
    hub = Hub(config_dir, data_dir)
    await setup_media_hub(hub, drives)
    domain, name = service.split(".")
    print("READY", flush=True)
    result = await hub.services.async_call(domain, name, data, blocking=True, return_response=True)
    print("RESULT", json.dumps(result), flush=True)
    await hub.async_stop()


if __name__ == "__main__":
    args = sys.argv[1:]
    split = args.index("--")
    config, data, *drive_args = args[:split]
    service, payload = args[split + 1], args[split + 2]
    asyncio.run(_child(Path(config), Path(data), [Path(d) for d in drive_args], service, json.loads(payload)))
