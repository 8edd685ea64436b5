"""The `jobs.*` services (pause, resume, cancel, retry): what automations and the dashboard call."""

from __future__ import annotations

from typing import Any

import voluptuous as vol

from ..core import Hub, ServiceCall, SupportsResponse
from .queue import JobQueue

DOMAIN = "jobs"

JOB_ID_SCHEMA = vol.Schema({vol.Required("job_id"): vol.All(vol.Coerce(int), vol.Range(min=1))})


def async_register_services(hub: Hub, queue: JobQueue) -> None:
    actions = {
        "pause": (queue.pause, "Pause a job (running: its processes are stopped; queued: it is held)."),
        "resume": (queue.resume, "Resume a paused job."),
        "cancel": (queue.cancel, "Cancel a job; a running job's processes are terminated."),
        "retry": (queue.retry, "Run a failed or canceled job again, or a backing-off job now."),
    }
    for name, (method, description) in actions.items():
        hub.services.async_register(
            DOMAIN,
            name,
            _handler(method),
            JOB_ID_SCHEMA,
            supports_response=SupportsResponse.OPTIONAL,
            supports_dry_run=True,
            description=description,
            fields={"job_id": {"description": "id of the job", "required": True, "example": 42}},
        )


def _handler(method: Any) -> Any:
    async def handle(call: ServiceCall) -> dict[str, Any]:
        if call.dry_run:
            return {"dry_run": True, "action": f"{call.domain}.{call.service}", "job_id": call.data["job_id"]}
        job = await method(call.data["job_id"])
        return {"job": job}

    return handle
