"""Schema of the `streamops:` section: settings of the hub itself rather than of one integration.

Like Home Assistant's `homeassistant:` section.  The environment overrides `ROLE`, `CACHE_DIR` and
`THUMBS_DIR` write here, so it must validate even when no component claims the domain;
`validate_sections` uses this schema unless the caller passes its own for `streamops`.
"""

from __future__ import annotations

import voluptuous as vol

from . import cv
from .env_overrides import ROLES

CORE_DOMAIN = "streamops"

CORE_SCHEMA = vol.Schema(
    {
        vol.Optional("role", default="all"): cv.one_of(*ROLES),
        vol.Optional("cache_dir"): cv.string,
        vol.Optional("thumbs_dir"): cv.string,
    }
)
