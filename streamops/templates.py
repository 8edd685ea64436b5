"""Templates: sandboxed Jinja2 over the hub's states, and the `{Game}/{YYYY}/…` path placeholders.

The sandbox is Jinja2's ImmutableSandboxedEnvironment with no loader: a template can read states
and variables, but cannot import, open files, reach Python internals or run commands. Path
placeholders are filled with values sanitised into single, safe path components, so a scene named
`../../etc` or `a/b` can never steer a file move outside its destination folder.
"""

from __future__ import annotations

import ast
import inspect
import math
import os
import re
import string
import time
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import PurePath
from typing import Any

from jinja2 import StrictUndefined, Undefined
from jinja2 import TemplateError as JinjaTemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from .core import STATE_UNKNOWN, Hub, HubKey, State

PATH_PLACEHOLDERS = ("Game", "Scene", "Profile", "YYYY", "MM", "DD", "HH", "mm")
_PLACEHOLDER_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_UNSAFE_COMPONENT_RE = re.compile(r'[\x00-\x1f<>:"/\\|?*]+')

PathVariablesProvider = Callable[[str], Any]  # (path) -> dict | None, sync or async
PATH_PROVIDERS: HubKey[list[PathVariablesProvider]] = HubKey("templates.path_providers")


class TemplateError(Exception):
    """A template that does not compile or render; the message names the template."""


def is_template_string(value: object) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value or "{#" in value)


# -- state access inside templates ---------------------------------------------------------------
# Attributes the sandbox probes on every callable; dynamic __getattr__ must not answer them.
_SANDBOX_PROBES = frozenset({"unsafe_callable", "alters_data", "jinja_pass_arg", "jinja_async_variant"})


class _TemplateState:
    """A State as seen from a template: attribute access plus `state_with_unit` niceties."""

    __slots__ = ("_state",)

    def __init__(self, state: State) -> None:
        self._state = state

    def __getattr__(self, name: str) -> Any:
        if name in ("state", "entity_id", "domain", "object_id", "name", "last_changed", "last_updated"):
            value = getattr(self._state, name)
            if name in ("last_changed", "last_updated"):
                return datetime.fromtimestamp(value, UTC)
            return value
        if name == "attributes":
            return dict(self._state.attributes)
        raise AttributeError(name)

    def __str__(self) -> str:
        return self._state.state


class _DomainStates:
    __slots__ = ("_domain", "_hub")

    def __init__(self, hub: Hub, domain: str) -> None:
        self._hub = hub
        self._domain = domain

    def __getattr__(self, object_id: str) -> Any:
        if object_id.startswith("_") or object_id in _SANDBOX_PROBES:
            raise AttributeError(object_id)
        state = self._hub.states.get(f"{self._domain}.{object_id}")
        return _TemplateState(state) if state is not None else Undefined(name=f"states.{self._domain}.{object_id}")

    def __iter__(self) -> Any:
        return iter(sorted((_TemplateState(s) for s in self._hub.states.async_all(self._domain)), key=str))


class _AllStates:
    """`states('sensor.x')` returns the state string; `states.sensor.x.state` works as in Home Assistant."""

    __slots__ = ("_hub",)

    def __init__(self, hub: Hub) -> None:
        self._hub = hub

    def __call__(self, entity_id: str) -> str:
        state = self._hub.states.get(str(entity_id))
        return state.state if state is not None else STATE_UNKNOWN

    def __getattr__(self, domain: str) -> _DomainStates:
        if domain.startswith("_") or domain in _SANDBOX_PROBES:
            raise AttributeError(domain)
        return _DomainStates(self._hub, domain)


def _as_timestamp(value: Any, default: Any = None) -> Any:
    try:
        if isinstance(value, datetime):
            return value.timestamp()
        if isinstance(value, int | float):
            return float(value)
        return datetime.fromisoformat(str(value)).timestamp()
    except (ValueError, TypeError):
        if default is not None:
            return default
        raise TemplateError(f"as_timestamp got {value!r}, which is not a date or time") from None


def _to_float(value: Any, default: Any = 0.0) -> float:
    try:
        return float(value)
    except (ValueError, TypeError):
        return default


def _to_int(value: Any, default: Any = 0) -> int:
    try:
        return int(float(value))
    except (ValueError, TypeError):
        return default


# -- resource limits -----------------------------------------------------------------------------
# Jinja2's sandbox stops attribute escapes and caps range() at 100,000, but `'a' * 10**10`,
# `10 ** 10 ** 9`, `'%999999999s' % x`, `'x'.ljust(10**10)` or `'x'|center(10**10)` still allocate
# gigabytes or spin a core inside the event loop. These caps keep every value a template builds small.
MAX_TEMPLATE_LENGTH = 1_000_000  # characters (or items) in one string/list a template builds
MAX_INT_BITS = 100_000  # about 30,000 decimal digits
MAX_RANGE_ITEMS = 1_000_000  # range() items one render may create in total (nested loops)
_PRINTF_SPEC_RE = re.compile(r"%(?:\([^)]*\))?[#0 +-]*(\*|\d+)?(?:\.(\*|\d+))?")
_SIZE_METHODS = frozenset({"ljust", "rjust", "center", "zfill", "expandtabs"})
_range_budget: ContextVar[list[int] | None] = ContextVar("streamops_template_range_budget", default=None)


class TemplateLimitError(SecurityError):
    """A template tried to build a value past the limits above."""


def _too_big(what: str) -> TemplateLimitError:
    return TemplateLimitError(f"{what} is too large for a template (limit {MAX_TEMPLATE_LENGTH:,} characters/items)")


def _check_size(value: Any, what: str) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and value > MAX_TEMPLATE_LENGTH:
        raise _too_big(what)


def _check_format_spec(text: str) -> None:
    """Widths/precisions in a `str.format` string: none above the limit, none taken from arguments."""
    try:
        fields = list(string.Formatter().parse(text))
    except ValueError:
        return  # str.format raises its own clear error
    for _, _, spec, _ in fields:
        if not spec:
            continue
        if "{" in spec:
            raise TemplateLimitError("format widths taken from arguments ({:{}}) are not allowed in templates")
        for number in re.findall(r"\d+", spec):
            _check_size(int(number), f"format width {number}")


def _check_printf(text: str, args: Any) -> None:
    for width, precision in _PRINTF_SPEC_RE.findall(text):
        for number in (width, precision):
            if number == "*":
                raise TemplateLimitError("'%*' widths taken from arguments are not allowed in templates")
            if number:
                _check_size(int(number), f"format width {number}")


def _sized(value: Any) -> bool:
    return isinstance(value, str | bytes | list | tuple)


def _guard_binop(operator: str, left: Any, right: Any) -> None:
    ints = isinstance(left, int) and isinstance(right, int)
    if operator == "**" and ints and right > 0 and abs(left) > 1:
        if right * abs(left).bit_length() > MAX_INT_BITS:
            raise TemplateLimitError(f"{left} ** {right} is too large for a template (limit {MAX_INT_BITS} bits)")
    elif operator == "*":
        if ints and left.bit_length() + right.bit_length() > MAX_INT_BITS:
            raise TemplateLimitError(f"a product of {MAX_INT_BITS}+ bits is too large for a template")
        for seq, count in ((left, right), (right, left)):
            if _sized(seq) and isinstance(count, int) and len(seq) * count > MAX_TEMPLATE_LENGTH:
                raise _too_big(f"a repetition of {len(seq)} x {count}")
    elif operator == "+" and _sized(left) and _sized(right) and len(left) + len(right) > MAX_TEMPLATE_LENGTH:
        raise _too_big("a concatenation")
    elif operator == "%" and isinstance(left, str):
        _check_printf(left, right)


def _limited_range(*args: int) -> range:
    """The sandbox's range (100,000 items at most) plus a total per render, so nested loops stay bounded."""
    from jinja2.sandbox import safe_range

    result = safe_range(*args)
    budget = _range_budget.get()
    if budget is not None:
        budget[0] += len(result)
        if budget[0] > MAX_RANGE_ITEMS:
            raise TemplateLimitError(f"loops over more than {MAX_RANGE_ITEMS:,} range() items in one render")
    return result


def _guarded_filter(func: Callable[..., Any], *size_args: str) -> Callable[..., Any]:
    """A built-in filter whose width-like arguments are checked first (center, indent, wordwrap, format)."""

    def wrapper(value: Any, *args: Any, **kwargs: Any) -> Any:
        for arg in (*args, *(kwargs[name] for name in size_args if name in kwargs)):
            _check_size(arg, f"a {func.__name__} width of {arg}")
        if func.__name__ == "do_format" and isinstance(value, str):
            _check_printf(value, args)
        return func(value, *args, **kwargs)

    wrapper.__name__ = func.__name__
    return wrapper


class _Environment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _guard_binop(operator, left, right)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(__obj, "__name__", None) in _SIZE_METHODS and isinstance(getattr(__obj, "__self__", None), str):
            for arg in (*args, *kwargs.values()):
                _check_size(arg, f"a {__obj.__name__} width of {arg}")
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Any:
        if getattr(value, "__name__", None) in ("format", "format_map") and isinstance(
            getattr(value, "__self__", None), str
        ):
            _check_format_spec(value.__self__)
        return super().wrap_str_format(value)

    def __init__(self) -> None:
        super().__init__(undefined=Undefined, autoescape=False, enable_async=False)
        self.filters.update(
            {
                "float": _to_float,
                "int": _to_int,
                "as_timestamp": _as_timestamp,
                "basename": lambda p: os.path.basename(str(p)),
                "dirname": lambda p: os.path.dirname(str(p)),
                "stem": lambda p: PurePath(str(p)).stem,
                "suffix": lambda p: PurePath(str(p)).suffix,
                "with_suffix": lambda p, s: str(PurePath(str(p)).with_suffix(s)),
                "regex_replace": lambda v, find="", replace="": re.sub(find, replace, str(v)),
                "timestamp_local": lambda v: datetime.fromtimestamp(float(v)).isoformat(),
                "center": _guarded_filter(self.filters["center"], "width"),
                "indent": _guarded_filter(self.filters["indent"], "width"),
                "wordwrap": _guarded_filter(self.filters["wordwrap"], "width"),
                "format": _guarded_filter(self.filters["format"]),
            }
        )
        self.globals.update(
            {
                "now": lambda: datetime.now().astimezone(),
                "utcnow": lambda: datetime.now(UTC),
                "as_timestamp": _as_timestamp,
                "float": _to_float,
                "int": _to_int,
                "min": min,
                "max": max,
                "round": round,
                "pi": math.pi,
                "range": _limited_range,
            }
        )


_ENV = _Environment()
_STRICT_ENV = _Environment()
_STRICT_ENV.undefined = StrictUndefined


class Template:
    """A compiled template bound to a hub. Compiled once, rendered many times."""

    __slots__ = ("_compiled", "hub", "strict", "text")

    def __init__(self, text: str, hub: Hub | None = None, *, strict: bool = False) -> None:
        self.text = text
        self.hub = hub
        self.strict = strict
        try:
            self._compiled = (_STRICT_ENV if strict else _ENV).from_string(text)
        except JinjaTemplateError as err:
            raise TemplateError(f"invalid template {text!r}: {err}") from err

    def _globals(self) -> dict[str, Any]:
        if self.hub is None:
            return {}
        hub = self.hub
        all_states = _AllStates(hub)

        def is_state(entity_id: str, value: Any) -> bool:
            state = hub.states.get(entity_id)
            if state is None:
                return False
            values = value if isinstance(value, list | tuple) else [value]
            return state.state in [str(v) for v in values]

        def state_attr(entity_id: str, name: str) -> Any:
            state = hub.states.get(entity_id)
            return state.attributes.get(name) if state is not None else None

        def is_state_attr(entity_id: str, name: str, value: Any) -> bool:
            return state_attr(entity_id, name) == value

        return {"states": all_states, "is_state": is_state, "state_attr": state_attr, "is_state_attr": is_state_attr}

    def render(self, variables: Mapping[str, Any] | None = None, *, parse_result: bool = True) -> Any:
        """Render; with parse_result, '42' becomes 42 and 'True' True (as Home Assistant does)."""
        budget = _range_budget.set([0])
        try:
            text = self._compiled.render({**self._globals(), **(variables or {})})
        except JinjaTemplateError as err:
            raise TemplateError(f"error rendering template {self.text!r}: {err}") from err
        except (ArithmeticError, TypeError, ValueError, AttributeError, MemoryError, RecursionError) as err:
            raise TemplateError(f"error rendering template {self.text!r}: {err}") from err
        finally:
            _range_budget.reset(budget)
        return _parse_result(text) if parse_result else text

    async def async_render(self, variables: Mapping[str, Any] | None = None, *, parse_result: bool = True) -> Any:
        return self.render(variables, parse_result=parse_result)


def _parse_result(text: str) -> Any:
    stripped = text.strip()
    if not stripped:
        return text
    # Keep strings that only look numeric by accident (leading zeros: "007", folder names "01").
    if len(stripped) > 1 and stripped[0] == "0" and stripped[1].isdigit():
        return text
    if stripped[0] in "[{(-0123456789TFN" or stripped in ("True", "False", "None"):
        try:
            value = ast.literal_eval(stripped)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return text
        if isinstance(value, int | float | bool | list | dict | tuple) or value is None:
            return list(value) if isinstance(value, tuple) else value
    return text


def render_complex(value: Any, variables: Mapping[str, Any] | None = None, hub: Hub | None = None) -> Any:
    """Render every template string inside a dict/list structure; other values pass through."""
    if isinstance(value, str):
        return Template(value, hub).render(variables) if is_template_string(value) else value
    if isinstance(value, Template):
        return value.render(variables)
    if isinstance(value, Mapping):
        return {render_complex(k, variables, hub): render_complex(v, variables, hub) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [render_complex(item, variables, hub) for item in value]
    return value


# -- path placeholders ---------------------------------------------------------------------------
def sanitize_component(value: Any) -> str:
    """One safe path component: no separators, no '..', no control or Windows-reserved characters."""
    text = _UNSAFE_COMPONENT_RE.sub("_", str(value)).strip().strip(".")
    return text or "_"


def render_path(template: str, variables: Mapping[str, Any]) -> str:
    """Fill `{Game}`-style placeholders with sanitised values; an unknown placeholder is an error."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in variables:
            known = ", ".join(sorted({*PATH_PLACEHOLDERS, *variables}))
            raise TemplateError(f"unknown placeholder {{{name}}} in {template!r} (known: {known})")
        return sanitize_component(variables[name])

    return _PLACEHOLDER_RE.sub(replace, template)


def register_path_variables_provider(hub: Hub, provider: PathVariablesProvider) -> Callable[[], None]:
    """Let an integration (OBS: the session that wrote a file) supply {Game}/{Scene}/{Profile}."""
    providers = hub.data.setdefault(PATH_PROVIDERS, [])
    providers.append(provider)
    return lambda: providers.remove(provider) if provider in providers else None


async def async_path_variables(hub: Hub, path: str | os.PathLike[str]) -> dict[str, Any]:
    """Placeholder values for a file: dates from its mtime (local time), the rest from providers."""
    try:
        stamp = os.stat(path).st_mtime
    except OSError:
        stamp = time.time()
    when = datetime.fromtimestamp(stamp)
    variables: dict[str, Any] = {
        "Game": "Unknown",
        "Scene": "Unknown",
        "Profile": "Unknown",
        "YYYY": f"{when.year:04d}",
        "MM": f"{when.month:02d}",
        "DD": f"{when.day:02d}",
        "HH": f"{when.hour:02d}",
        "mm": f"{when.minute:02d}",
    }
    for provider in hub.data.get(PATH_PROVIDERS, []):
        result = provider(str(path))
        if inspect.isawaitable(result):
            result = await result
        if result:
            variables.update({k: v for k, v in result.items() if v not in (None, "")})
    return variables
