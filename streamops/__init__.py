"""StreamOps: a config-driven automation hub for streamers."""

__version__ = "0.1.0"
