"""File services: `files.move`, `files.copy`, `files.archive`, `files.write_sidecar`.

Destinations are templates (`/mnt/edit/{Game}/{YYYY}/{MM}/{DD}/`): a trailing slash (or an existing
folder) keeps the file's name, otherwise the last component is the new name. Collisions: `suffix`
(default: `name (1).mov`), `skip`, or `overwrite` — which only ever "overwrites" an identical file
(same size and xxh64), i.e. never replaces different data. Sources and destinations must lie inside
the configured drives. Moves and copies are jobs (io class, not heavy) and crash-safe; see
transfer.py for the journal. Responses include `output`, the new path, for the next automation step.
"""

# ruff: noqa: ASYNC240 - stat()/exists() on local paths are microseconds

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import voluptuous as vol

from ..core import Hub, ServiceCall, ServiceError, SupportsResponse
from ..jobs.model import JobType
from ..media.outputs import temp_path_for
from ..media.paths import check_destination, check_source, planning
from .archive import FORMATS, archive_already_done, archive_cleanup, archive_suffix, run_archive
from .sidecar import build_sidecar, sidecar_path, write_json_atomically
from .transfer import Transfer, candidates, transfer_already_done, transfer_cleanup

DOMAIN = "files"

CONFIG_SCHEMA = vol.Schema({vol.Optional("sidecar_suffix", default=".json"): vol.Match(r"^\.[\w.-]+$")})

_JOB = {
    vol.Optional("wait", default=True): bool,
    vol.Optional("timeout"): vol.All(vol.Coerce(float), vol.Range(min=0.1)),
    vol.Optional("priority", default=0): vol.Coerce(int),
}
TRANSFER_SCHEMA = vol.Schema(
    {
        vol.Required("source"): vol.All(str, vol.Length(min=1)),
        vol.Required("destination"): vol.All(str, vol.Length(min=1)),
        vol.Optional("name"): vol.All(str, vol.Length(min=1)),
        vol.Optional("collision", default="suffix"): vol.In(["suffix", "skip", "overwrite"]),
        **_JOB,
    }
)
ARCHIVE_SCHEMA = vol.Schema(
    {
        vol.Required("source"): vol.All(str, vol.Length(min=1)),
        vol.Required("destination"): vol.All(str, vol.Length(min=1)),
        vol.Optional("format", default="zip"): vol.In(FORMATS),
        vol.Optional("compression", default="stored"): vol.In(["stored", "deflated"]),
        vol.Optional("overwrite", default=False): bool,
        **_JOB,
    }
)
SIDECAR_SCHEMA = vol.Schema(
    {
        vol.Required("path"): vol.All(str, vol.Length(min=1)),
        vol.Optional("suffix"): vol.Match(r"^\.[\w.-]+$"),
        vol.Optional("extra", default={}): dict,
    }
)


async def resolve_destination(hub: Hub, source: Path, destination: str, name: str | None) -> tuple[Path, str]:
    """Render `{Game}/{YYYY}/…` for this file and split it into (folder, file name)."""
    from ..templates import TemplateError, async_path_variables, render_path

    variables = await async_path_variables(hub, source)
    try:
        rendered = render_path(destination, variables)
        new_name = render_path(name, variables) if name else None
    except TemplateError as err:
        raise ServiceError(f"destination: {err}") from err
    path = Path(rendered).expanduser()
    if not path.is_absolute():
        raise ServiceError(f"destination must be an absolute path, got {rendered!r}")
    if rendered.endswith(("/", os.sep)) or path.is_dir():
        folder, file_name = path, source.name
    else:
        folder, file_name = path.parent, path.name
    if new_name:
        if "/" in new_name or new_name in (".", ".."):
            raise ServiceError(f"name must be a file name, not a path: {new_name!r}")
        file_name = new_name
    check_destination(hub, folder / file_name, "destination")
    return folder, file_name


class FileServices:
    def __init__(self, hub: Hub, config: dict[str, Any]) -> None:
        self.hub = hub
        self.config = config

    def register(self) -> None:
        reg = self.hub.services.async_register
        opts = {"supports_response": SupportsResponse.OPTIONAL, "supports_dry_run": True}
        reg(
            DOMAIN,
            "move",
            self.move,
            TRANSFER_SCHEMA,
            description="Move a file (crash-safe, verified across drives)",
            **opts,
        )
        reg(DOMAIN, "copy", self.copy, TRANSFER_SCHEMA, description="Copy a file (verified by size and xxh64)", **opts)
        reg(DOMAIN, "archive", self.archive, ARCHIVE_SCHEMA, description="Zip or tar a file or folder", **opts)
        reg(
            DOMAIN,
            "write_sidecar",
            self.write_sidecar,
            SIDECAR_SCHEMA,
            description="Write a JSON sidecar (game, scene, times, duration, bitrate, codecs) next to a file",
            **opts,
        )

    async def _submit(self, job_type: str, params: dict[str, Any], data: dict[str, Any], key: str) -> dict[str, Any]:
        from ..jobs import JOBS

        queue = self.hub.data[JOBS]
        dedupe = f"{job_type}:{hashlib.blake2s(key.encode(), digest_size=8).hexdigest()}"
        job_id = await queue.submit(job_type, params, priority=data.get("priority", 0), dedupe_key=dedupe)
        if not data.get("wait", True):
            return {"job_id": job_id, "status": "queued"}
        try:
            row = await queue.wait(job_id, timeout=data.get("timeout"))
        except TimeoutError:
            raise ServiceError(f"{job_type}: job {job_id} still running after {data.get('timeout')} s") from None
        if row["status"] == "done":
            return {**(row.get("result") or {}), "job_id": job_id}
        raise ServiceError(f"{job_type} job {job_id} {row['status']}: {row.get('error') or 'no error recorded'}")

    async def _transfer(self, call: ServiceCall, mode: str) -> dict[str, Any]:
        data = dict(call.data)
        with planning(call.dry_run):
            source = check_source(self.hub, data["source"], "source")
        planned_only = call.dry_run and not source.exists()  # made by an earlier step of the plan
        if not planned_only and not source.is_file():
            raise ServiceError(f"source {source} is not a file (use files.archive for folders)")
        folder, name = await resolve_destination(self.hub, source, data["destination"], data.get("name"))
        params = {
            "source": str(source),
            "dest_dir": str(folder),
            "name": name,
            "collision": data["collision"],
            "mode": mode,
        }
        if call.dry_run:
            final = next(c for c in candidates(folder, name) if not c.exists())
            existing = folder
            while not existing.exists() and existing != existing.parent:
                existing = existing.parent
            source_dir = source if source.exists() else source.parent
            same = source_dir.exists() and os.stat(source_dir).st_dev == os.stat(existing).st_dev
            method = "rename" if (mode == "move" and same) else "copy+verify"
            return {
                **(
                    {"note": "source is made by an earlier step; planned from its expected path"}
                    if planned_only
                    else {}
                ),
                "dry_run": True,
                "source": str(source),
                "output": str(final),
                "method": method,
                "temporary": str(temp_path_for(final)) if method != "rename" else None,
                "params": params,
            }
        return await self._submit(f"files.{mode}", params, data, f"{source}->{folder / name}")

    async def move(self, call: ServiceCall) -> dict[str, Any]:
        return await self._transfer(call, "move")

    async def copy(self, call: ServiceCall) -> dict[str, Any]:
        return await self._transfer(call, "copy")

    async def archive(self, call: ServiceCall) -> dict[str, Any]:
        data = dict(call.data)
        source = check_source(self.hub, data["source"], "source")
        suffix = archive_suffix(data["format"])
        folder, name = await resolve_destination(self.hub, source, data["destination"], None)
        if name == source.name:  # destination was a folder: name the archive after the source
            name = source.name + suffix
        elif not name.endswith(suffix):
            # `destination: /rec/take.mov` must never make a zip called take.mov (and with
            # overwrite: replace the recording with it): the archive always carries its suffix.
            name = name + suffix
        output = check_destination(self.hub, folder / name, "destination")
        params = {
            "source": str(source),
            "output": str(output),
            "format": data["format"],
            "compression": data["compression"],
            "overwrite": data["overwrite"],
        }
        if call.dry_run:
            return {"dry_run": True, "source": str(source), "output": str(output), "params": params}
        return await self._submit("files.archive", params, data, str(output))

    async def write_sidecar(self, call: ServiceCall) -> dict[str, Any]:
        data = dict(call.data)
        with planning(call.dry_run):
            media = check_source(self.hub, data["path"], "path")
        output = sidecar_path(media, data.get("suffix") or self.config["sidecar_suffix"])
        check_destination(self.hub, output, "sidecar")
        if call.dry_run:
            return {"dry_run": True, "output": str(output)}
        try:
            sidecar = await build_sidecar(self.hub, media, data["extra"])
        except ServiceError:
            raise
        import asyncio

        await asyncio.to_thread(write_json_atomically, output, sidecar)
        return {"output": str(output), "sidecar": sidecar}


async def _run_transfer(ctx: Any) -> dict[str, Any]:
    return await Transfer(ctx, ctx.params).run()


async def async_setup(hub: Hub, config: dict[str, Any]) -> bool:
    from ..jobs import JOBS

    config = CONFIG_SCHEMA(dict(config or {}))
    queue = hub.data[JOBS]
    for mode in ("move", "copy"):
        queue.register_type(
            JobType(
                f"files.{mode}",
                _run_transfer,
                resource="io",
                heavy=False,
                already_done=transfer_already_done,
                cleanup=transfer_cleanup,
            )
        )
    queue.register_type(
        JobType(
            "files.archive",
            run_archive,
            resource="io",
            heavy=False,
            already_done=archive_already_done,
            cleanup=archive_cleanup,
        )
    )
    FileServices(hub, config).register()
    return True


__all__ = ["CONFIG_SCHEMA", "DOMAIN", "async_setup", "resolve_destination"]
