"""Templates: state access, HA-style result parsing, sandboxing, and safe path placeholders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from streamops.core import Hub
from streamops.templates import (
    Template,
    TemplateError,
    async_path_variables,
    register_path_variables_provider,
    render_complex,
    render_path,
)


async def test_states_functions(hub: Hub) -> None:
    hub.states.async_set("sensor.cpu_percent", "42.5", {"unit": "%"})
    hub.states.async_set("binary_sensor.obs_recording", "on")
    assert Template("{{ states('sensor.cpu_percent') | float > 40 }}", hub).render() is True
    assert Template("{{ states.sensor.cpu_percent.state }}", hub).render() == 42.5
    assert Template("{{ is_state('binary_sensor.obs_recording', 'on') }}", hub).render() is True
    assert Template("{{ state_attr('sensor.cpu_percent', 'unit') }}", hub).render() == "%"
    assert Template("{{ states('sensor.missing') }}", hub).render() == "unknown"


async def test_variables_and_result_parsing(hub: Hub) -> None:
    assert Template("{{ trigger.path | basename }}", hub).render({"trigger": {"path": "/r/a b.mkv"}}) == "a b.mkv"
    assert Template("{{ 1 + 2 }}", hub).render() == 3
    # Zero-padded numbers stay strings: they are folder names, not numbers.
    assert Template("{{ '07' }}", hub).render() == "07"
    assert render_complex({"a": ["{{ x * 2 }}", "plain"]}, {"x": 4}, hub) == {"a": [8, "plain"]}


@pytest.mark.parametrize(
    "text",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        "{{ range(10**9) | list }}",
    ],
)
async def test_sandbox_blocks_internals(hub: Hub, text: str) -> None:
    with pytest.raises(TemplateError):
        Template(text, hub).render()


def test_invalid_template_names_itself() -> None:
    with pytest.raises(TemplateError, match="invalid template"):
        Template("{{ unclosed ")


def test_render_path_sanitises_components() -> None:
    variables = {"Game": "../../etc", "YYYY": "2026", "Scene": 'a/b:c"d'}
    rendered = render_path("/drive/Editing/{Game}/{YYYY}/{Scene}", variables)
    assert rendered == "/drive/Editing/_.._etc/2026/a_b_c_d"
    assert ".." not in Path(rendered).parts
    with pytest.raises(TemplateError, match=r"unknown placeholder \{Gmae\}"):
        render_path("{Gmae}/x", variables)


async def test_path_variables_from_mtime_and_provider(hub: Hub, tmp_path: Path) -> None:
    media = tmp_path / "rec.mkv"
    media.write_bytes(b"x")
    os.utime(media, (1767225600, 1767225600))  # 2026-01-01T00:00:00Z
    variables = await async_path_variables(hub, media)
    assert variables["Game"] == "Unknown" and len(variables["YYYY"]) == 4

    async def provider(path: str) -> dict[str, str] | None:
        return {"Game": "Celeste", "Scene": "Gameplay"} if path.endswith("rec.mkv") else None

    register_path_variables_provider(hub, provider)
    variables = await async_path_variables(hub, media)
    assert (variables["Game"], variables["Scene"]) == ("Celeste", "Gameplay")
