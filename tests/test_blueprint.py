"""Blueprints: inputs with defaults and selectors, user blueprints winning over built-ins, and
missing or wrong inputs as FILE:LINE config errors."""

from __future__ import annotations

from pathlib import Path

from helpers_automation import register_fake_services, setup_automations

from streamops.automation import validate_automations
from streamops.blueprint import list_blueprints
from streamops.config.loading import load_configuration
from streamops.core import Hub

BLUEPRINT = """\
blueprint:
  name: Scene switch
  domain: automation
  input:
    scene_entity:
      name: Scene sensor
      selector: {entity: {domain: sensor}}
    target:
      name: Scene to react to
    level:
      default: 3
      selector: {number: {min: 1, max: 5}}
    options:
      input:
        flavour:
          default: plain
          selector: {select: {options: [plain, spicy]}}
triggers:
  - trigger: state
    entity_id: !input scene_entity
    to: !input target
actions:
  - action: test.record
    data:
      level: !input level
      flavour: !input flavour
"""


def write_config(config_dir: Path, automations: str) -> None:
    (config_dir / "blueprints").mkdir(exist_ok=True)
    (config_dir / "blueprints" / "scene.yaml").write_text(BLUEPRINT)
    (config_dir / "configuration.yaml").write_text("automation: !include automations.yaml\n")
    (config_dir / "automations.yaml").write_text(automations)


def check(config_dir: Path) -> list[str]:
    loaded = load_configuration(config_dir)
    assert not loaded.errors
    return [str(e) for e in validate_automations(config_dir, loaded.config.get("automation"))]


async def test_blueprint_instance_runs_with_inputs_and_defaults(hub: Hub) -> None:
    calls = register_fake_services(hub)
    write_config(hub.config.config_dir, "")
    await setup_automations(
        hub,
        """
- id: from_blueprint
  alias: Uses a blueprint
  use_blueprint:
    path: scene.yaml
    input: {scene_entity: sensor.obs_scene, target: Gameplay, flavour: spicy}
""",
    )
    hub.states.async_set("sensor.obs_scene", "Gameplay")
    await hub.async_block_till_done()
    assert [dict(c.data) for c in calls.items] == [{"level": 3, "flavour": "spicy"}]
    assert hub.states.get("automation.from_blueprint").attributes["friendly_name"] == "Uses a blueprint"


def test_missing_unknown_and_wrong_inputs_name_file_and_line(tmp_path: Path) -> None:
    write_config(
        tmp_path,
        """\
- id: a
  use_blueprint:
    path: scene.yaml
    input:
      scene_entity: light.kitchen
      targt: Gameplay
      level: 9
      flavour: mild
- id: b
  use_blueprint:
    path: nope.yaml
""",
    )
    errors = check(tmp_path)
    assert (
        "automations.yaml:5: input 'scene_entity' of blueprint blueprints/scene.yaml: "
        "light.kitchen is not in domain sensor" in errors
    ), errors
    assert any(
        e.startswith(
            "automations.yaml:6: unknown input 'targt' for blueprint blueprints/scene.yaml (did you mean \"target\"?)"
        )
        for e in errors
    ), errors
    assert "automations.yaml:7: input 'level' of blueprint blueprints/scene.yaml: 9 is above the maximum 5" in errors
    assert any(
        e.startswith(
            "automations.yaml:8: input 'flavour' of blueprint blueprints/scene.yaml: 'mild' is not one of plain, spicy"
        )
        for e in errors
    ), errors
    assert (
        "automations.yaml:2: missing input 'target' (Scene to react to) for blueprint blueprints/scene.yaml" in errors
    )
    assert any(e.startswith("automations.yaml:11: blueprint 'nope.yaml' not found") for e in errors), errors


def test_error_inside_a_blueprint_points_into_the_blueprint_file(tmp_path: Path) -> None:
    write_config(
        tmp_path,
        "- id: a\n  use_blueprint:\n    path: scene.yaml\n    input: {scene_entity: sensor.s, target: x}\n",
    )
    (tmp_path / "blueprints" / "scene.yaml").write_text(BLUEPRINT.replace("    to: !input target", "    fro: x"))
    errors = check(tmp_path)
    assert any(
        e.startswith("blueprints/scene.yaml:21: unknown key 'fro'") or "blueprints/scene.yaml:21" in e for e in errors
    ), errors


def test_user_blueprint_wins_over_builtin(tmp_path: Path) -> None:
    (tmp_path / "blueprints").mkdir()
    custom = BLUEPRINT.replace("name: Scene switch", "name: My post recording")
    (tmp_path / "blueprints" / "post_recording.yaml").write_text(custom)
    found = {b.display: b for b in list_blueprints(tmp_path)}
    assert found["blueprints/post_recording.yaml"].name == "My post recording"
    assert not found["blueprints/post_recording.yaml"].builtin
    builtin = {b.display: b for b in list_blueprints(None)}
    assert builtin["blueprints/post_recording.yaml"].builtin
    assert builtin["blueprints/post_recording.yaml"].inputs["proxy_min_seconds"].default == 900
