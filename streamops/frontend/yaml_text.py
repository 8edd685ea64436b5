"""YAML typed into a browser editor → data with line numbers, and errors at the editor's lines.

The dashboard has no YAML library (no build step, no npm), so the hub parses: the text is loaded
with the configuration loader (every value keeps its line), validated with the same schemas the
hub uses, and each problem comes back as `{"line", "message"}` so the editor can mark the line.
Tags that reach outside the text (`!include`, `!secret`, `!env_var`) resolve in an empty folder
and so fail with a clear message: an editor must not pull secrets into the browser.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml

from ..config.errors import ConfigError, ConfigErrors
from ..config.yaml_loader import LoadContext, NodeDict, NodeList, StreamOpsLoader, _syntax_error

EDITOR_FILE = "editor.yaml"
MAX_TEXT = 512 * 1024


def parse_yaml_text(text: str, file: str = EDITOR_FILE) -> tuple[Any, list[ConfigError]]:
    """(data with NodeDict/NodeList locations, errors); data is None after a syntax error."""
    if len(text) > MAX_TEXT:
        return None, [ConfigError(f"text longer than {MAX_TEXT} characters", file, 1)]
    with tempfile.TemporaryDirectory(prefix="streamops-editor-") as folder:
        context = LoadContext(Path(folder), environ={})
        loader = StreamOpsLoader(text, context, Path(folder) / file)
        try:
            data = loader.get_single_data()
        except yaml.YAMLError as exc:
            return None, [_syntax_error(exc, file, text)]
        except ConfigErrors as exc:
            return None, list(exc.errors)
        except ConfigError as exc:
            return None, [exc]
        finally:
            loader.dispose()
    return data, list(context.errors)


def plain(value: Any) -> Any:
    """Strip the location-carrying node types: plain dict/list/str for JSON and yaml.safe_dump."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


def error_dicts(errors: list[ConfigError]) -> list[dict[str, Any]]:
    """JSON for the editor: the line (or null) and the message without the file prefix."""
    return [{"line": e.line, "message": e.message, "text": str(e)} for e in errors]


__all__ = ["EDITOR_FILE", "NodeDict", "NodeList", "error_dicts", "parse_yaml_text", "plain"]
