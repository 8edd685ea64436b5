"""Media services: every `media.*` call becomes a supervised, verified, crash-safe ffmpeg job.

Configuration (`media:`, all optional)::

    media:
      stall_timeout: 60          # seconds without ffmpeg progress before it is killed (paused time excluded)
      thumbs_dir: /data/thumbs   # derivatives (poster, sprite, hover, waveform); THUMBS_DIR env wins
      proxy_codec: dnxhr_lb      # or h264
      proxy_max_height: 1080     # proxies never upscale past the source either
      sprite_interval: 10        # seconds between sprite cells
      waveform_buckets: 1000
"""

from __future__ import annotations

from typing import Any

import voluptuous as vol

from ..core import Hub, HubKey
from .operations import MediaJobs

DOMAIN = "media"

MEDIA: HubKey[MediaJobs] = HubKey("media.jobs")

CONFIG_SCHEMA = vol.Schema(
    {
        vol.Optional("stall_timeout", default=60.0): vol.All(vol.Coerce(float), vol.Range(min=1, max=86400)),
        vol.Optional("thumbs_dir"): str,
        vol.Optional("proxy_codec", default="dnxhr_lb"): vol.In(["dnxhr_lb", "h264"]),
        vol.Optional("proxy_max_height", default=1080): vol.All(vol.Coerce(int), vol.Range(min=144, max=4320)),
        vol.Optional("sprite_interval", default=10.0): vol.All(vol.Coerce(float), vol.Range(min=0.1)),
        vol.Optional("waveform_buckets", default=1000): vol.All(vol.Coerce(int), vol.Range(min=10, max=200_000)),
    }
)


async def async_setup(hub: Hub, config: dict[str, Any]) -> bool:
    from ..jobs import JOBS
    from .services import MediaServices

    settings = CONFIG_SCHEMA(dict(config or {}))
    jobs = MediaJobs(hub, settings)
    hub.data[MEDIA] = jobs
    queue = hub.data[JOBS]
    for job_type in jobs.job_types():
        queue.register_type(job_type)
    MediaServices(hub, jobs, settings).register()
    return True


__all__ = ["CONFIG_SCHEMA", "DOMAIN", "MEDIA", "MediaJobs", "async_setup"]
