"""YAML loading that remembers where every value came from, with Home Assistant's tags.

Why our own loader: a validation error is only useful if it names the file and line the user has
to fix — also when the value sits in an `!include`d file (ESPHome's standard).  So mappings load as
`NodeDict`, sequences as `NodeList`, strings as `NodeStr`, each carrying its `file`/`line`;
ints, floats, bools and None cannot be subclassed, so their places are kept in the parent's
`value_lines` (mappings) or `item_lines` (sequences).  `location_of(root, path)` turns a
voluptuous error path into a place.

Tags (Home Assistant conventions): `!include FILE`, `!include_dir_list DIR`,
`!include_dir_merge_list DIR`, `!include_dir_named DIR`, `!include_dir_merge_named DIR`,
`!secret NAME`, `!env_var NAME [DEFAULT]`, `!input NAME` (blueprints; see `substitute_inputs`).

Deliberate differences from PyYAML's defaults: duplicate keys are an error, and YAML 1.1's base-60
numbers are off (`delay: 1:30` stays the string "1:30" instead of silently becoming 90), as in
YAML 1.2.  Includes may not leave the configuration directory, and include cycles are reported.

Problems that do not stop parsing (a missing include, secret or environment variable, a duplicate
key) are collected in `LoadContext.errors` and loading goes on, so one `check-config` run shows
them all; a syntax error stops the file it is in.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError, ConfigErrors

Location = tuple[str | None, int | None]
NO_LOCATION: Location = (None, None)

SECRETS_FILE = "secrets.yaml"
YAML_SUFFIXES = (".yaml", ".yml")
SUPPORTED_TAGS = (
    "!include",
    "!include_dir_list",
    "!include_dir_merge_list",
    "!include_dir_named",
    "!include_dir_merge_named",
    "!secret",
    "!env_var",
    "!input",
)
# An environment variable whose name looks like a credential is treated like a secret: its value is
# scrubbed from validation messages.
_SENSITIVE_ENV = re.compile(r"PASS|TOKEN|SECRET|KEY|CREDENTIAL|AUTH", re.IGNORECASE)

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# --------------------------------------------------------------------------------------------------
# Nodes that carry their location


class NodeStr(str):
    """A string from a YAML file that knows its file and 1-based line."""

    file: str | None
    line: int | None

    def __new__(cls, value: str, file: str | None = None, line: int | None = None) -> NodeStr:
        obj = super().__new__(cls, value)
        obj.file = file
        obj.line = line
        return obj

    def __reduce__(self) -> tuple[type[NodeStr], tuple[str, str | None, int | None]]:
        return NodeStr, (str(self), self.file, self.line)


class SecretStr(NodeStr):
    """A string that came from `!secret`: its repr hides the value, so logging a configuration
    (or an exception holding one) does not leak it; `str()` and equality still give the real value."""

    secret_name: str

    def __new__(cls, value: str, file: str | None = None, line: int | None = None, name: str = "") -> SecretStr:
        obj = super().__new__(cls, value, file, line)
        obj.secret_name = name
        return obj

    def __repr__(self) -> str:
        return f"<secret {self.secret_name}>"

    def __reduce__(self) -> tuple[type[SecretStr], tuple[str, str | None, int | None, str]]:  # type: ignore[override]
        return SecretStr, (str(self), self.file, self.line, self.secret_name)


class NodeDict(dict):
    """A mapping from a YAML file.

    `file`/`line` locate the mapping itself; `key_lines[key]` the key, `value_lines[key]` the value
    (where it was written — for an `!include` that is the tag's line in the including file);
    `secret_keys[key]` names the secret a value came from, so messages can say so instead of
    showing it.
    """

    secret_values: set[str] | frozenset[str] = frozenset()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.file: str | None = None
        self.line: int | None = None
        self.key_lines: dict[Any, Location] = {}
        self.value_lines: dict[Any, Location] = {}
        self.secret_keys: dict[Any, str] = {}

    def set_location(self, key: Any, location: Location) -> None:
        """Record where `key` and its value come from (used for values not read from YAML)."""
        self.key_lines[key] = location
        self.value_lines[key] = location


class NodeList(list):
    """A sequence from a YAML file; `item_lines[i]` locates item i, `secret_items[i]` its secret."""

    secret_values: set[str] | frozenset[str] = frozenset()

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.file: str | None = None
        self.line: int | None = None
        self.item_lines: list[Location] = []
        self.secret_items: dict[int, str] = {}


class Input:
    """Placeholder left by `!input NAME`; the blueprint code replaces it via `substitute_inputs`."""

    __slots__ = ("file", "line", "name")

    def __init__(self, name: str, file: str | None = None, line: int | None = None) -> None:
        self.name = name
        self.file = file
        self.line = line

    def __repr__(self) -> str:
        return f"Input({self.name!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Input) and other.name == self.name

    def __hash__(self) -> int:
        return hash(("Input", self.name))


def node_location(obj: Any) -> Location:
    """The location an object carries itself (NodeDict/NodeList/NodeStr/Input), else (None, None)."""
    if isinstance(obj, NodeDict | NodeList | NodeStr | Input):
        return obj.file, obj.line
    return NO_LOCATION


def _known(loc: Location | None) -> bool:
    return loc is not None and loc[0] is not None


def _entry_location(own: Location, key_loc: Location | None, value_loc: Location | None, value: Any) -> Location:
    """Best place for one entry: the value's own place when it came from another file (an include),
    the key's line for containers (where the user wrote `name:`), the value's line for scalars."""
    if _known(own) and _known(key_loc) and own[0] != key_loc[0]:  # type: ignore[index]
        return own
    candidates = (key_loc, own, value_loc) if isinstance(value, dict | list) else (value_loc, own, key_loc)
    for loc in candidates:
        if _known(loc):
            return loc  # type: ignore[return-value]
    return NO_LOCATION


def location_of(root: Any, path: Sequence[Any]) -> Location:
    """File and line of the deepest node along `path` (keys and list indexes) that exists.

    Made for voluptuous error paths: a missing key stops the walk at its parent; index 0 on a
    non-list is skipped (schemas often wrap a single value with `ensure_list`).
    """
    loc = node_location(root)
    current = root
    for element in path:
        if isinstance(current, dict):
            try:
                present = element in current
            except TypeError:
                break
            if present:
                value = current[element]
                new = NO_LOCATION
                if isinstance(current, NodeDict):
                    new = _entry_location(
                        node_location(value),
                        current.key_lines.get(element),
                        current.value_lines.get(element),
                        value,
                    )
                elif _known(node_location(value)):
                    new = node_location(value)
                if _known(new):
                    loc = new
                current = value
                continue
        if isinstance(current, list) and isinstance(element, int) and not isinstance(element, bool):
            if not -len(current) <= element < len(current):
                break
            value = current[element]
            new = NO_LOCATION
            if isinstance(current, NodeList):
                index = element % len(current)
                item_loc = current.item_lines[index] if index < len(current.item_lines) else None
                new = _entry_location(node_location(value), item_loc, item_loc, value)
            elif _known(node_location(value)):
                new = node_location(value)
            if _known(new):
                loc = new
            current = value
            continue
        if element == 0 and not isinstance(element, bool) and not isinstance(current, list):
            continue  # a single value that a schema wrapped into a list
        break
    return loc


# --------------------------------------------------------------------------------------------------
# Load context: shared by a file and everything it includes


@dataclass
class LoadContext:
    """State shared while loading one configuration tree.

    `errors` collects every recoverable problem; `files` lists every file read (for reload
    watching); `secret_values` holds the values handed out by `!secret` so messages can be scrubbed.
    """

    config_dir: Path
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    errors: list[ConfigError] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    secret_values: set[str] = field(default_factory=set)
    _stack: list[Path] = field(default_factory=list, repr=False)
    _secrets: dict[Path, Mapping[str, Any]] = field(default_factory=dict, repr=False)
    _in_secrets: int = field(default=0, repr=False)

    def __post_init__(self) -> None:
        self.config_dir = Path(self.config_dir).resolve()

    def display(self, path: Path) -> str:
        """A path as shown in messages: relative to the config dir when inside it."""
        try:
            return path.relative_to(self.config_dir).as_posix()
        except ValueError:
            return str(path)

    def inside(self, path: Path) -> bool:
        return path == self.config_dir or path.is_relative_to(self.config_dir)


# --------------------------------------------------------------------------------------------------
# The loader


class StreamOpsLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """SafeLoader (C-accelerated when available) that builds location-carrying nodes."""

    def __init__(self, stream: str, context: LoadContext, path: Path) -> None:
        super().__init__(stream)
        self.context = context
        self.path = path
        self.file = context.display(path)

    def location(self, node: yaml.Node) -> Location:
        return self.file, node.start_mark.line + 1

    def fail(self, message: str, node: yaml.Node) -> None:
        """Record a recoverable problem at `node`; the caller then returns a placeholder (None)."""
        self.context.errors.append(ConfigError(message, *self.location(node)))


def _int_float_without_base60() -> dict[str, list[tuple[str, re.Pattern[str]]]]:
    int_tag, float_tag = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
    resolvers = {
        first: [(tag, rx) for tag, rx in entries if tag not in (int_tag, float_tag)]
        for first, entries in _BaseLoader.yaml_implicit_resolvers.items()
    }
    int_rx = re.compile(
        r"""^(?:[-+]?0b[0-1_]+
        |[-+]?0[0-7_]+
        |[-+]?(?:0|[1-9][0-9_]*)
        |[-+]?0x[0-9a-fA-F_]+)$""",
        re.X,
    )
    float_rx = re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9][0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    )
    for first in "-+0123456789":
        resolvers.setdefault(first, []).append((int_tag, int_rx))
    for first in "-+0123456789.":
        resolvers.setdefault(first, []).append((float_tag, float_rx))
    return resolvers


StreamOpsLoader.yaml_implicit_resolvers = _int_float_without_base60()


def _construct_str(loader: StreamOpsLoader, node: yaml.ScalarNode) -> NodeStr:
    return NodeStr(loader.construct_scalar(node), *loader.location(node))


def _key_text(key: Any) -> str:
    return str(key)


def _construct_map(loader: StreamOpsLoader, node: yaml.MappingNode) -> NodeDict:
    own_keys = {id(key_node) for key_node, _ in node.value}
    loader.flatten_mapping(node)  # YAML merge keys (`<<: *anchor`); explicit keys override merged ones
    data = NodeDict()
    data.file, data.line = loader.location(node)
    data.secret_values = loader.context.secret_values
    first_seen: dict[Any, int | None] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, NodeStr):
            key = str(key)
        try:
            hash(key)
        except TypeError:
            loader.fail("a mapping key must be a plain value, not a list or mapping", key_node)
            continue
        key_loc = loader.location(key_node)
        if id(key_node) in own_keys:
            if key in first_seen:
                loader.fail(f"duplicate key '{_key_text(key)}' (first defined on line {first_seen[key]})", key_node)
                continue
            first_seen[key] = key_loc[1]
        value = loader.construct_object(value_node, deep=True)
        data[key] = value
        data.key_lines[key] = key_loc
        data.value_lines[key] = loader.location(value_node)
        if value_node.tag == "!secret" and isinstance(value_node, yaml.ScalarNode):
            data.secret_keys[key] = value_node.value.strip()
        else:
            data.secret_keys.pop(key, None)
    return data


def _construct_seq(loader: StreamOpsLoader, node: yaml.SequenceNode) -> NodeList:
    data = NodeList()
    data.file, data.line = loader.location(node)
    data.secret_values = loader.context.secret_values
    for item_node in node.value:
        if item_node.tag == "!secret" and isinstance(item_node, yaml.ScalarNode):
            data.secret_items[len(data)] = item_node.value.strip()
        data.append(loader.construct_object(item_node, deep=True))
        data.item_lines.append(loader.location(item_node))
    return data


def _construct_undefined(loader: StreamOpsLoader, node: yaml.Node) -> None:
    loader.fail(f"unknown tag '{node.tag}' (supported: {', '.join(SUPPORTED_TAGS)})", node)


def _scalar_argument(loader: StreamOpsLoader, node: yaml.Node, tag: str, what: str) -> str | None:
    if not isinstance(node, yaml.ScalarNode) or not str(node.value).strip():
        loader.fail(f"{tag} needs {what}, e.g. '{tag} {_EXAMPLES[tag]}'", node)
        return None
    return str(node.value).strip()


_EXAMPLES = {
    "!include": "jobs.yaml",
    "!include_dir_list": "automations",
    "!include_dir_merge_list": "automations",
    "!include_dir_named": "scripts",
    "!include_dir_merge_named": "packages",
    "!secret": "obs_password",
    "!env_var": "OBS_PASSWORD",
    "!input": "target_scene",
}


def _resolve_target(loader: StreamOpsLoader, node: yaml.Node, tag: str, name: str) -> Path | None:
    """The path `name` refers to, relative to the including file; refused outside the config dir."""
    target = (loader.path.parent / Path(name).expanduser()).resolve()
    if not loader.context.inside(target):
        loader.fail(
            f"refusing {tag} '{name}': it points outside the configuration directory "
            f"(includes must stay inside {loader.context.config_dir})",
            node,
        )
        return None
    return target


def _load_included(loader: StreamOpsLoader, node: yaml.Node, target: Path) -> tuple[bool, Any]:
    """Load one included file; (False, None) after recording an error (cycle, syntax, unreadable)."""
    context = loader.context
    if target in context._stack:
        cycle = [*context._stack[context._stack.index(target) :], target]
        loader.fail("include cycle: " + " -> ".join(context.display(p) for p in cycle), node)
        return False, None
    try:
        return True, _load_file(target, context)
    except ConfigError as err:
        context.errors.append(err)
        return False, None


def _empty_mapping(file: str, line: int = 1) -> NodeDict:
    data = NodeDict()
    data.file, data.line = file, line
    return data


def _construct_include(loader: StreamOpsLoader, node: yaml.Node) -> Any:
    name = _scalar_argument(loader, node, "!include", "a file name")
    if name is None:
        return None
    target = _resolve_target(loader, node, "!include", name)
    if target is None:
        return None
    shown = loader.context.display(target)
    if target.is_dir():
        loader.fail(f"!include '{name}' is a directory (use !include_dir_list or a sibling tag)", node)
        return None
    if not target.is_file():
        detail = "" if shown == name else f" (looked for {shown})"
        loader.fail(f"included file '{name}' not found{detail}", node)
        return None
    ok, data = _load_included(loader, node, target)
    if ok and data is None:
        return _empty_mapping(shown)  # Home Assistant: an empty included file is an empty mapping
    return data


def _dir_files(loader: StreamOpsLoader, node: yaml.Node, tag: str) -> list[Path] | None:
    """YAML files under the directory named by `node`, sorted, recursive, without hidden ones and
    without secrets.yaml (as Home Assistant does)."""
    name = _scalar_argument(loader, node, tag, "a directory name")
    if name is None:
        return None
    target = _resolve_target(loader, node, tag, name)
    if target is None:
        return None
    if not target.exists():
        loader.fail(f"{tag} directory '{name}' not found", node)
        return None
    if not target.is_dir():
        loader.fail(f"{tag} '{name}' is not a directory (use !include for a single file)", node)
        return None
    found: list[Path] = []
    for folder, dirnames, filenames in os.walk(target):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for filename in filenames:
            if filename.startswith(".") or filename == SECRETS_FILE or not filename.endswith(YAML_SUFFIXES):
                continue
            path = Path(folder, filename)
            resolved = path.resolve()
            if not loader.context.inside(resolved):
                loader.fail(
                    f"refusing {tag} file '{loader.context.display(path)}': it links outside the "
                    "configuration directory",
                    node,
                )
                continue
            found.append(resolved)
    return sorted(found, key=lambda p: loader.context.display(p))


def _construct_dir_list(loader: StreamOpsLoader, node: yaml.Node) -> NodeList | None:
    files = _dir_files(loader, node, "!include_dir_list")
    if files is None:
        return None
    result = NodeList()
    result.file, result.line = loader.location(node)
    for path in files:
        ok, data = _load_included(loader, node, path)
        if not ok or data is None:
            continue  # empty files contribute nothing
        result.append(data)
        result.item_lines.append(_own_or_file_start(data, loader.context.display(path)))
    return result


def _own_or_file_start(data: Any, file: str) -> Location:
    own = node_location(data)
    return own if own[0] == file else (file, 1)


def _construct_dir_merge_list(loader: StreamOpsLoader, node: yaml.Node) -> NodeList | None:
    files = _dir_files(loader, node, "!include_dir_merge_list")
    if files is None:
        return None
    result = NodeList()
    result.file, result.line = loader.location(node)
    for path in files:
        ok, data = _load_included(loader, node, path)
        if not ok or data is None:
            continue
        shown = loader.context.display(path)
        if not isinstance(data, list):
            loader.context.errors.append(
                ConfigError(
                    "!include_dir_merge_list needs every file to hold a list (start items with '- ')",
                    *_own_or_file_start(data, shown),
                )
            )
            continue
        for index, item in enumerate(data):
            if isinstance(data, NodeList):
                if index in data.secret_items:
                    result.secret_items[len(result)] = data.secret_items[index]
                item_loc = data.item_lines[index] if index < len(data.item_lines) else (shown, 1)
            else:
                item_loc = (shown, 1)
            result.append(item)
            result.item_lines.append(item_loc)
    return result


def _construct_dir_named(loader: StreamOpsLoader, node: yaml.Node) -> NodeDict | None:
    files = _dir_files(loader, node, "!include_dir_named")
    if files is None:
        return None
    result = NodeDict()
    result.file, result.line = loader.location(node)
    result.secret_values = loader.context.secret_values
    for path in files:
        shown = loader.context.display(path)
        key = path.stem
        if key in result:
            loader.context.errors.append(
                ConfigError(f"!include_dir_named: name '{key}' is also used by {result.key_lines[key][0]}", shown, 1)
            )
            continue
        ok, data = _load_included(loader, node, path)
        if not ok:
            continue
        if data is None:
            data = _empty_mapping(shown)
        result[key] = data
        result.key_lines[key] = (shown, 1)
        result.value_lines[key] = _own_or_file_start(data, shown)
    return result


def _construct_dir_merge_named(loader: StreamOpsLoader, node: yaml.Node) -> NodeDict | None:
    files = _dir_files(loader, node, "!include_dir_merge_named")
    if files is None:
        return None
    result = NodeDict()
    result.file, result.line = loader.location(node)
    result.secret_values = loader.context.secret_values
    for path in files:
        ok, data = _load_included(loader, node, path)
        if not ok or data is None:
            continue
        shown = loader.context.display(path)
        if not isinstance(data, dict):
            loader.context.errors.append(
                ConfigError(
                    "!include_dir_merge_named needs every file to hold a mapping", *_own_or_file_start(data, shown)
                )
            )
            continue
        for key, value in data.items():
            key_loc = data.key_lines.get(key, (shown, 1)) if isinstance(data, NodeDict) else (shown, 1)
            if key in result:
                first = result.key_lines.get(key, NO_LOCATION)
                loader.context.errors.append(
                    ConfigError(f"duplicate key '{_key_text(key)}' (first defined in {first[0]}:{first[1]})", *key_loc)
                )
                continue
            result[key] = value
            result.key_lines[key] = key_loc
            result.value_lines[key] = data.value_lines.get(key, key_loc) if isinstance(data, NodeDict) else key_loc
            if isinstance(data, NodeDict) and key in data.secret_keys:
                result.secret_keys[key] = data.secret_keys[key]
    return result


def _collect_secret_values(value: Any, into: set[str]) -> None:
    if isinstance(value, dict):
        for item in value.values():
            _collect_secret_values(item, into)
    elif isinstance(value, list):
        for item in value:
            _collect_secret_values(item, into)
    elif isinstance(value, str | int | float) and not isinstance(value, bool):
        text = str(value)
        if text:
            into.add(text)


def _secrets_in(loader: StreamOpsLoader, path: Path) -> Mapping[str, Any]:
    """The mapping in one secrets.yaml (loaded once per tree; problems reported once)."""
    context = loader.context
    cached = context._secrets.get(path)
    if cached is not None:
        return cached
    context._secrets[path] = {}
    context._in_secrets += 1
    try:
        data = _load_file(path, context)
    except ConfigError as err:
        context.errors.append(err)
        return {}
    finally:
        context._in_secrets -= 1
    if data is None:
        data = {}
    if not isinstance(data, dict):
        context.errors.append(
            ConfigError(
                "secrets.yaml must be a mapping of names to values",
                *_own_or_file_start(data, context.display(path)),
            )
        )
        data = {}
    context._secrets[path] = data
    return data


def _construct_secret(loader: StreamOpsLoader, node: yaml.Node) -> Any:
    name = _scalar_argument(loader, node, "!secret", "a secret name")
    if name is None:
        return None
    context = loader.context
    if context._in_secrets:
        loader.fail("!secret cannot be used inside secrets.yaml", node)
        return None
    # Home Assistant's search: the including file's folder, then each parent up to the config dir.
    folder = loader.path.parent
    looked: list[str] = []
    while True:
        candidate = folder / SECRETS_FILE
        if candidate.is_file():
            looked.append(context.display(candidate))
            secrets = _secrets_in(loader, candidate)
            if name in secrets:
                value = secrets[name]
                _collect_secret_values(value, context.secret_values)
                if isinstance(value, str):
                    return SecretStr(value, *loader.location(node), name=name)
                return value
        if folder == context.config_dir or not context.inside(folder.parent) or folder.parent == folder:
            break
        folder = folder.parent
    if looked:
        loader.fail(f"secret '{name}' not found in {', '.join(looked)}", node)
    else:
        loader.fail(f"secret '{name}' not found: there is no {SECRETS_FILE} in the configuration directory", node)
    return None


def _construct_env_var(loader: StreamOpsLoader, node: yaml.Node) -> NodeStr | None:
    text = _scalar_argument(loader, node, "!env_var", "a variable name")
    if text is None:
        return None
    name, *rest = text.split()
    environ = loader.context.environ
    if name in environ:
        value = environ[name]
    elif rest:
        value = " ".join(rest)
    else:
        loader.fail(
            f"environment variable '{name}' is not set and no default is given (write '!env_var {name} DEFAULT')",
            node,
        )
        return None
    if _SENSITIVE_ENV.search(name) and value:
        loader.context.secret_values.add(value)
    return NodeStr(value, *loader.location(node))


def _construct_input(loader: StreamOpsLoader, node: yaml.Node) -> Input | None:
    name = _scalar_argument(loader, node, "!input", "an input name")
    if name is None:
        return None
    return Input(name, *loader.location(node))


_CONSTRUCTORS: dict[str | None, Callable[[StreamOpsLoader, Any], Any]] = {
    "tag:yaml.org,2002:str": _construct_str,
    "tag:yaml.org,2002:map": _construct_map,
    "tag:yaml.org,2002:seq": _construct_seq,
    "!include": _construct_include,
    "!include_dir_list": _construct_dir_list,
    "!include_dir_merge_list": _construct_dir_merge_list,
    "!include_dir_named": _construct_dir_named,
    "!include_dir_merge_named": _construct_dir_merge_named,
    "!secret": _construct_secret,
    "!env_var": _construct_env_var,
    "!input": _construct_input,
    None: _construct_undefined,
}
for _tag, _constructor in _CONSTRUCTORS.items():
    StreamOpsLoader.add_constructor(_tag, _constructor)


# --------------------------------------------------------------------------------------------------
# Reading files


def _leading_whitespace(text: str, line: int) -> str:
    lines = text.splitlines()
    if not 1 <= line <= len(lines):
        return ""
    content = lines[line - 1]
    return content[: len(content) - len(content.lstrip())]


def _syntax_error(exc: yaml.YAMLError, file: str, text: str) -> ConfigError:
    """A readable ConfigError from PyYAML's error, at the problem's line, without echoing content."""
    if isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, max(exc.position, 0)) + 1 if exc.position is not None else None
        return ConfigError(f"invalid YAML: {exc.reason} (character {exc.character!r} is not allowed)", file, line)
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "syntax error"
        message = f"invalid YAML: {problem}"
        if exc.context and exc.problem:
            context_line = exc.context_mark.line + 1 if exc.context_mark is not None else None
            where = f" on line {context_line}" if context_line is not None and context_line != line else ""
            message += f" ({exc.context}{where})"
        if line is not None and "\t" in _leading_whitespace(text, line):
            message += "; indent with spaces, not tabs"
        return ConfigError(message, file, line)
    return ConfigError(f"invalid YAML: {exc}", file)


def _load_file(path: Path, context: LoadContext) -> Any:
    """Parse one file in `context`; None for an empty file.  Raises ConfigError for a problem that
    stops this file (unreadable, not UTF-8, syntax)."""
    path = path.resolve()
    shown = context.display(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError("file not found", shown) from None
    except OSError as err:
        raise ConfigError(f"cannot read file: {err.strerror or err}", shown) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        raise ConfigError("file is not valid UTF-8 text", shown, line) from None
    if path not in context.files:
        context.files.append(path)
    context._stack.append(path)
    loader = StreamOpsLoader(text, context, path)
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        raise _syntax_error(exc, shown, text) from None
    finally:
        loader.dispose()
        context._stack.pop()


def load_yaml_file(path: Path, context: LoadContext) -> Any:
    """Load `path` in `context`: recoverable problems land in `context.errors`, a syntax error in the
    file itself is raised as ConfigError.  An empty file gives an empty NodeDict (as in Home
    Assistant)."""
    data = _load_file(Path(path), context)
    if data is None:
        return _empty_mapping(context.display(Path(path).resolve()))
    return data


def load_yaml(
    path: Path | str, config_dir: Path | str | None = None, *, environ: Mapping[str, str] | None = None
) -> Any:
    """Load a YAML file with every tag; raise ConfigError (one problem) or ConfigErrors (several).

    `config_dir` bounds includes and anchors secret lookup (default: the file's folder).
    """
    path = Path(path)
    context = LoadContext(Path(config_dir) if config_dir is not None else path.resolve().parent)
    if environ is not None:
        context.environ = environ
    data = load_yaml_file(path, context)
    if len(context.errors) == 1:
        raise context.errors[0]
    if context.errors:
        raise ConfigErrors(context.errors)
    return data


# --------------------------------------------------------------------------------------------------
# Blueprint inputs


def substitute_inputs(data: Any, inputs: Mapping[str, Any]) -> Any:
    """A copy of `data` with every `Input` replaced by `inputs[name]` (locations are kept).

    Raises ConfigError at the `!input`'s line when an input is not given.
    """
    if isinstance(data, Input):
        if data.name not in inputs:
            known = ", ".join(sorted(map(str, inputs))) or "none"
            raise ConfigError(
                f"blueprint input '{data.name}' is used here but not provided (given: {known})", data.file, data.line
            )
        return inputs[data.name]
    if isinstance(data, NodeDict):
        new_dict = NodeDict()
        new_dict.file, new_dict.line = data.file, data.line
        new_dict.key_lines = dict(data.key_lines)
        new_dict.value_lines = dict(data.value_lines)
        new_dict.secret_keys = dict(data.secret_keys)
        new_dict.secret_values = data.secret_values
        for key, value in data.items():
            new_dict[key] = substitute_inputs(value, inputs)
        return new_dict
    if isinstance(data, NodeList):
        new_list = NodeList(substitute_inputs(item, inputs) for item in data)
        new_list.file, new_list.line = data.file, data.line
        new_list.item_lines = list(data.item_lines)
        new_list.secret_items = dict(data.secret_items)
        new_list.secret_values = data.secret_values
        return new_list
    if isinstance(data, dict):
        return {key: substitute_inputs(value, inputs) for key, value in data.items()}
    if isinstance(data, list):
        return [substitute_inputs(item, inputs) for item in data]
    return data
