"""The script engine: action sequences (service calls, waits, choose/if/repeat/parallel, ...).

Used by automations for their `actions:`; validation in `schema`, conditions in `conditions`,
execution in `engine`, traces in `trace`.
"""

from .engine import MODES, Script, ScriptError
from .schema import validate_sequence
from .trace import RunTrace, jsonable

__all__ = ["MODES", "RunTrace", "Script", "ScriptError", "jsonable", "validate_sequence"]
