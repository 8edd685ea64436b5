"""Building blocks shared by components (trigger platform protocol, ...)."""
