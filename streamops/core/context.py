"""Context: who or what caused a change, so traces and logs can follow a chain of causes."""

from __future__ import annotations

import os
from dataclasses import dataclass, field


def _new_id() -> str:
    # 16 random bytes as hex: unique enough for tracing and ~10x cheaper than a ULID.
    return os.urandom(16).hex()


@dataclass(slots=True)
class Context:
    """Origin of an event, state change or service call.

    The id is generated lazily by callers that need one; most events on a busy bus never get asked
    for it, which is why Home Assistant's per-event ULID cost is avoided here.
    """

    user_id: str | None = None
    parent_id: str | None = None
    id: str = field(default_factory=_new_id)

    def as_dict(self) -> dict[str, str | None]:
        return {"id": self.id, "parent_id": self.parent_id, "user_id": self.user_id}
