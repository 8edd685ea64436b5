"""YAML loading: every value's file/line, Home Assistant's tags, and FILE:LINE errors for mistakes."""

from __future__ import annotations

import copy
import os
import pickle
import textwrap
from pathlib import Path

import pytest
import yaml

from streamops.config import (
    ConfigError,
    ConfigErrors,
    Input,
    LoadContext,
    NodeDict,
    NodeList,
    NodeStr,
    load_configuration,
    load_yaml,
    load_yaml_file,
    location_of,
    substitute_inputs,
)
from streamops.config.yaml_loader import StreamOpsLoader


def write(base: Path, name: str, text: str) -> Path:
    path = base / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def load_collecting(config_dir: Path, name: str = "configuration.yaml", environ=None) -> tuple[object, list[str]]:
    """Load with every recoverable error collected; returns (data, ["FILE:LINE: message", ...])."""
    context = LoadContext(config_dir, environ=environ if environ is not None else {})
    try:
        data = load_yaml_file(config_dir / name, context)
    except ConfigError as err:
        return None, [*map(str, context.errors), str(err)]
    return data, [str(err) for err in context.errors]


# --------------------------------------------------------------------------------------------------
# Errors


def test_config_error_formats() -> None:
    assert str(ConfigError("bad", "jobs.yaml", 3)) == "jobs.yaml:3: bad"
    assert str(ConfigError("bad", "jobs.yaml")) == "jobs.yaml: bad"
    assert str(ConfigError("bad")) == "bad"
    err = ConfigError("bad", "a.yaml", 1)
    assert (err.file, err.line, err.message) == ("a.yaml", 1, "bad")
    assert str(ConfigError(None, None, "integration x failed")) == "integration x failed"  # (file, line, message)
    assert ConfigError("a.yaml", 4, "bad").location == ("a.yaml", 4)
    assert ConfigError("a.yaml", 4, "bad").message == "bad"
    many = ConfigErrors([ConfigError("x", "a.yaml", 1), ConfigError("y")])
    assert str(many) == "a.yaml:1: x\ny"
    assert len(many.errors) == 2


def test_uses_c_loader_when_available() -> None:
    if hasattr(yaml, "CSafeLoader"):
        assert issubclass(StreamOpsLoader, yaml.CSafeLoader)


# --------------------------------------------------------------------------------------------------
# Locations


def test_every_value_knows_its_file_and_line(tmp_path: Path) -> None:
    write(
        tmp_path,
        "configuration.yaml",
        """
        obs:
          host: localhost
          port: 4455
          enabled: true
        drives:
          - name: main
            path: /media
          - 42
        """,
    )
    data = load_yaml(tmp_path / "configuration.yaml")
    assert isinstance(data, NodeDict)
    obs = data["obs"]
    assert isinstance(obs, NodeDict)
    assert data.key_lines["obs"] == ("configuration.yaml", 1)
    assert isinstance(obs["host"], NodeStr)
    assert (obs["host"].file, obs["host"].line) == ("configuration.yaml", 2)
    assert obs.value_lines["port"] == ("configuration.yaml", 3)
    assert obs.value_lines["enabled"] == ("configuration.yaml", 4)
    drives = data["drives"]
    assert isinstance(drives, NodeList)
    assert drives.item_lines == [("configuration.yaml", 6), ("configuration.yaml", 8)]
    assert type(next(iter(obs))) is str  # keys are plain strings


def test_location_of_walks_to_the_deepest_existing_node(tmp_path: Path) -> None:
    write(
        tmp_path,
        "configuration.yaml",
        """
        jobs:
          guardrails:
            gpu_percent: 90
          max_cpu:
            abc
        automation:
          - trigger: state
            entity_id: sensor.x
        single:
          name: x
        """,
    )
    data = load_yaml(tmp_path / "configuration.yaml")
    assert location_of(data, ["jobs", "guardrails", "gpu_percent"]) == ("configuration.yaml", 3)
    assert location_of(data, ["jobs", "guardrails", "missing"]) == ("configuration.yaml", 2)
    assert location_of(data, ["jobs", "max_cpu"]) == ("configuration.yaml", 5)  # the scalar's own line
    assert location_of(data, ["automation", 0, "entity_id"]) == ("configuration.yaml", 8)
    assert location_of(data, ["automation", 5]) == ("configuration.yaml", 6)
    assert location_of(data, ["single", 0, "name"]) == ("configuration.yaml", 10)  # ensure_list wrapped it
    assert location_of(data, ["nope", "deeper"]) == ("configuration.yaml", 1)
    assert location_of({"plain": 1}, ["plain"]) == (None, None)


def test_base60_numbers_stay_strings_but_merge_keys_and_anchors_work(tmp_path: Path) -> None:
    write(
        tmp_path,
        "configuration.yaml",
        """
        delay: 1:30
        at: 12:30:00
        number: 1_000
        ratio: 1.5e3
        base: &base
          a: 1
          b: 2
        derived:
          <<: *base
          b: 3
        """,
    )
    data = load_yaml(tmp_path / "configuration.yaml")
    assert data["delay"] == "1:30"
    assert data["at"] == "12:30:00"
    assert data["number"] == 1000
    assert data["ratio"] == 1500.0
    assert data["derived"] == {"a": 1, "b": 3}


# --------------------------------------------------------------------------------------------------
# Syntax errors and duplicate keys


def test_syntax_error_points_at_problem_line(tmp_path: Path) -> None:
    write(
        tmp_path,
        "configuration.yaml",
        """
        obs:
          host: localhost
            port: 4455
        """,
    )
    with pytest.raises(ConfigError) as info:
        load_yaml(tmp_path / "configuration.yaml")
    assert info.value.file == "configuration.yaml"
    assert info.value.line == 3
    assert str(info.value).startswith("configuration.yaml:3: invalid YAML: mapping values are not allowed")


def test_tab_indentation_is_explained(tmp_path: Path) -> None:
    (tmp_path / "configuration.yaml").write_text("obs:\n\thost: x\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_yaml(tmp_path / "configuration.yaml")
    assert info.value.line == 2
    assert "not tabs" in info.value.message


def test_not_utf8_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "configuration.yaml").write_bytes(b"a: 1\nb: \xff\xfe\n")
    with pytest.raises(ConfigError) as info:
        load_yaml(tmp_path / "configuration.yaml")
    assert str(info.value) == "configuration.yaml:2: file is not valid UTF-8 text"


def test_duplicate_keys_are_errors(tmp_path: Path) -> None:
    write(
        tmp_path,
        "configuration.yaml",
        """
        obs:
          host: a
          port: 1
          host: b
        """,
    )
    with pytest.raises(ConfigError) as info:
        load_yaml(tmp_path / "configuration.yaml")
    assert str(info.value) == "configuration.yaml:4: duplicate key 'host' (first defined on line 2)"


def test_unknown_tag(tmp_path: Path) -> None:
    write(tmp_path, "configuration.yaml", "a: !includ x.yaml\n")
    with pytest.raises(ConfigError) as info:
        load_yaml(tmp_path / "configuration.yaml")
    assert str(info.value).startswith("configuration.yaml:1: unknown tag '!includ' (supported: !include,")


def test_several_recoverable_errors_are_all_reported(tmp_path: Path) -> None:
    write(
        tmp_path,
        "configuration.yaml",
        """
        a: !include missing.yaml
        b: !secret nope
        c: !env_var NOT_SET_ANYWHERE
        """,
    )
    with pytest.raises(ConfigErrors) as info:
        load_yaml(tmp_path / "configuration.yaml", environ={})
    assert [(e.file, e.line) for e in info.value.errors] == [
        ("configuration.yaml", 1),
        ("configuration.yaml", 2),
        ("configuration.yaml", 3),
    ]


# --------------------------------------------------------------------------------------------------
# !include


def test_include_keeps_the_included_files_locations(tmp_path: Path) -> None:
    write(tmp_path, "configuration.yaml", "jobs: !include jobs.yaml\nobs: !include sub/obs.yaml\n")
    write(tmp_path, "jobs.yaml", "# jobs\nmax_cpu: 80\ndelay: 5s\n")
    write(tmp_path, "sub/obs.yaml", "host: !include host.yaml\n")  # relative to sub/
    write(tmp_path, "sub/host.yaml", "studio-pc\n")
    data = load_yaml(tmp_path / "configuration.yaml")
    assert data["jobs"] == {"max_cpu": 80, "delay": "5s"}
    assert data["jobs"].value_lines["max_cpu"] == ("jobs.yaml", 2)
    assert (data["jobs"]["delay"].file, data["jobs"]["delay"].line) == ("jobs.yaml", 3)
    assert data["obs"]["host"] == "studio-pc"
    assert data["obs"]["host"].file == "sub/host.yaml"
    assert location_of(data, ["jobs", "delay"]) == ("jobs.yaml", 3)
    assert location_of(data, ["jobs", "missing"]) == ("jobs.yaml", 2)  # the included mapping itself


def test_empty_include_is_an_empty_mapping(tmp_path: Path) -> None:
    write(tmp_path, "configuration.yaml", "jobs: !include jobs.yaml\n")
    write(tmp_path, "jobs.yaml", "# nothing yet\n")
    data = load_yaml(tmp_path / "configuration.yaml")
    assert data["jobs"] == {}
    assert isinstance(data["jobs"], NodeDict)


def test_missing_include_error_is_at_the_include_line(tmp_path: Path) -> None:
    write(tmp_path, "configuration.yaml", "obs:\n  host: x\njobs: !include jobs.yaml\n")
    with pytest.raises(ConfigError) as info:
        load_yaml(tmp_path / "configuration.yaml")
    assert str(info.value) == "configuration.yaml:3: included file 'jobs.yaml' not found"


def test_missing_include_inside_an_included_file_names_that_file(tmp_path: Path) -> None:
    write(tmp_path, "configuration.yaml", "packages: !include packages/main.yaml\n")
    write(tmp_path, "packages/main.yaml", "a: 1\nb: !include other.yaml\n")
    with pytest.raises(ConfigError) as info:
        load_yaml(tmp_path / "configuration.yaml")
    assert str(info.value) == (
        "packages/main.yaml:2: included file 'other.yaml' not found (looked for packages/other.yaml)"
    )


def test_syntax_error_in_included_file_names_that_file(tmp_path: Path) -> None:
    write(tmp_path, "configuration.yaml", "a: 1\njobs: !include jobs.yaml\n")
    write(tmp_path, "jobs.yaml", "max_cpu: 80\nlist: [1, 2\n")
    with pytest.raises(ConfigError) as info:
        load_yaml(tmp_path / "configuration.yaml")
    assert info.value.file == "jobs.yaml"
    assert info.value.line == 3  # the flow sequence is still open at the end of the file
    assert "invalid YAML" in info.value.message


def test_include_may_not_leave_the_config_dir(tmp_path: Path) -> None:
    config = tmp_path / "config"
    write(tmp_path, "outside.yaml", "leak: 1\n")
    write(
        config,
        "configuration.yaml",
        """
        a: !include ../../etc/passwd
        b: !include ../outside.yaml
        c: !include /etc/hostname
        """,
    )
    data, errors = load_collecting(config)
    assert errors == [
        f"configuration.yaml:{line}: refusing !include '{name}': it points outside the configuration directory "
        f"(includes must stay inside {config.resolve()})"
        for line, name in ((1, "../../etc/passwd"), (2, "../outside.yaml"), (3, "/etc/hostname"))
    ]
    assert data == {"a": None, "b": None, "c": None}


def test_include_through_a_symlink_pointing_outside_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "config"
    write(tmp_path, "outside.yaml", "leak: 1\n")
    write(config, "configuration.yaml", "a: !include link.yaml\n")
    os.symlink(tmp_path / "outside.yaml", config / "link.yaml")
    _, errors = load_collecting(config)
    assert len(errors) == 1
    assert errors[0].startswith("configuration.yaml:1: refusing !include 'link.yaml': it points outside")


def test_include_cycles_are_reported(tmp_path: Path) -> None:
    write(tmp_path, "configuration.yaml", "a: !include a.yaml\n")
    write(tmp_path, "a.yaml", "x: 1\nb: !include b.yaml\n")
    write(tmp_path, "b.yaml", "back: !include configuration.yaml\n")
    with pytest.raises(ConfigError) as info:
        load_yaml(tmp_path / "configuration.yaml")
    assert str(info.value) == ("b.yaml:1: include cycle: configuration.yaml -> a.yaml -> b.yaml -> configuration.yaml")


def test_self_include_is_a_cycle(tmp_path: Path) -> None:
    write(tmp_path, "configuration.yaml", "me: !include configuration.yaml\n")
    with pytest.raises(ConfigError, match=r"include cycle: configuration\.yaml -> configuration\.yaml"):
        load_yaml(tmp_path / "configuration.yaml")


def test_include_of_a_directory_or_without_name(tmp_path: Path) -> None:
    (tmp_path / "automations").mkdir()
    write(tmp_path, "configuration.yaml", "a: !include automations\nb: !include\n")
    _, errors = load_collecting(tmp_path)
    assert errors[0].startswith("configuration.yaml:1: !include 'automations' is a directory")
    assert errors[1] == "configuration.yaml:2: !include needs a file name, e.g. '!include jobs.yaml'"


# --------------------------------------------------------------------------------------------------
# !include_dir_*


def _automation_dir(base: Path) -> None:
    write(base, "automations/b_remux.yaml", "alias: remux\ntrigger: file_closed\n")
    write(base, "automations/a_marker.yaml", "alias: marker\n")
    write(base, "automations/sub/c_proxy.yaml", "alias: proxy\n")
    write(base, "automations/.hidden.yaml", "alias: hidden\n")
    write(base, "automations/secrets.yaml", "x: y\n")
    write(base, "automations/notes.txt", "not yaml\n")
    write(base, "automations/empty.yaml", "\n")


def test_include_dir_list(tmp_path: Path) -> None:
    _automation_dir(tmp_path)
    write(tmp_path, "configuration.yaml", "automation: !include_dir_list automations\n")
    data = load_yaml(tmp_path / "configuration.yaml")
    items = data["automation"]
    assert [item["alias"] for item in items] == ["marker", "remux", "proxy"]
    assert items.item_lines == [
        ("automations/a_marker.yaml", 1),
        ("automations/b_remux.yaml", 1),
        ("automations/sub/c_proxy.yaml", 1),
    ]
    assert location_of(data, ["automation", 1, "trigger"]) == ("automations/b_remux.yaml", 2)


def test_include_dir_merge_list(tmp_path: Path) -> None:
    write(tmp_path, "automations/one.yaml", "- alias: a\n- alias: b\n")
    write(tmp_path, "automations/two.yaml", "# comment\n- alias: c\n")
    write(tmp_path, "configuration.yaml", "automation: !include_dir_merge_list automations\n")
    data = load_yaml(tmp_path / "configuration.yaml")
    assert [item["alias"] for item in data["automation"]] == ["a", "b", "c"]
    assert data["automation"].item_lines == [
        ("automations/one.yaml", 1),
        ("automations/one.yaml", 2),
        ("automations/two.yaml", 2),
    ]
    assert location_of(data, ["automation", 2, "alias"]) == ("automations/two.yaml", 2)


def test_include_dir_merge_list_rejects_a_file_without_a_list(tmp_path: Path) -> None:
    write(tmp_path, "automations/one.yaml", "- alias: a\n")
    write(tmp_path, "automations/two.yaml", "# not a list\nalias: not in a list\n")
    write(tmp_path, "configuration.yaml", "automation: !include_dir_merge_list automations\n")
    with pytest.raises(ConfigError) as info:
        load_yaml(tmp_path / "configuration.yaml")
    assert str(info.value) == (
        "automations/two.yaml:2: !include_dir_merge_list needs every file to hold a list (start items with '- ')"
    )


def test_include_dir_named(tmp_path: Path) -> None:
    write(tmp_path, "scripts/intro.yaml", "sequence:\n  - action: obs.set_scene\n")
    write(tmp_path, "scripts/outro.yaml", "sequence: []\n")
    write(tmp_path, "configuration.yaml", "script: !include_dir_named scripts\n")
    data = load_yaml(tmp_path / "configuration.yaml")
    assert set(data["script"]) == {"intro", "outro"}
    assert data["script"].key_lines["intro"] == ("scripts/intro.yaml", 1)
    assert location_of(data, ["script", "intro", "sequence", 0, "action"]) == ("scripts/intro.yaml", 2)


def test_include_dir_named_rejects_the_same_name_twice(tmp_path: Path) -> None:
    write(tmp_path, "scripts/intro.yaml", "a: 1\n")
    write(tmp_path, "scripts/old/intro.yaml", "a: 2\n")
    write(tmp_path, "configuration.yaml", "script: !include_dir_named scripts\n")
    with pytest.raises(ConfigError) as info:
        load_yaml(tmp_path / "configuration.yaml")
    assert str(info.value) == (
        "scripts/old/intro.yaml:1: !include_dir_named: name 'intro' is also used by scripts/intro.yaml"
    )


def test_include_dir_merge_named(tmp_path: Path) -> None:
    write(tmp_path, "packages/obs.yaml", "obs:\n  host: a\n")
    write(tmp_path, "packages/jobs.yaml", "# jobs\njobs:\n  max_cpu: 80\n")
    write(tmp_path, "configuration.yaml", "merged: !include_dir_merge_named packages\n")
    data = load_yaml(tmp_path / "configuration.yaml")
    assert data["merged"] == {"obs": {"host": "a"}, "jobs": {"max_cpu": 80}}
    assert data["merged"].key_lines["jobs"] == ("packages/jobs.yaml", 2)
    assert location_of(data, ["merged", "jobs", "max_cpu"]) == ("packages/jobs.yaml", 3)


def test_include_dir_merge_named_duplicate_key(tmp_path: Path) -> None:
    write(tmp_path, "packages/a.yaml", "obs:\n  host: a\n")
    write(tmp_path, "packages/b.yaml", "# b\n# more\nobs:\n  host: b\n")
    write(tmp_path, "configuration.yaml", "merged: !include_dir_merge_named packages\n")
    with pytest.raises(ConfigError) as info:
        load_yaml(tmp_path / "configuration.yaml")
    assert str(info.value) == "packages/b.yaml:3: duplicate key 'obs' (first defined in packages/a.yaml:1)"


def test_include_dir_errors(tmp_path: Path) -> None:
    write(tmp_path, "file.yaml", "a: 1\n")
    write(
        tmp_path,
        "configuration.yaml",
        """
        a: !include_dir_list nowhere
        b: !include_dir_named file.yaml
        c: !include_dir_merge_list ../..
        """,
    )
    _, errors = load_collecting(tmp_path)
    assert errors[0] == "configuration.yaml:1: !include_dir_list directory 'nowhere' not found"
    assert errors[1] == (
        "configuration.yaml:2: !include_dir_named 'file.yaml' is not a directory (use !include for a single file)"
    )
    assert errors[2].startswith("configuration.yaml:3: refusing !include_dir_merge_list '../..': it points outside")


# --------------------------------------------------------------------------------------------------
# !secret


def test_secret_from_secrets_yaml(tmp_path: Path) -> None:
    write(tmp_path, "secrets.yaml", "obs_password: hunter2hunter2\nmqtt_port: 1883\n")
    write(tmp_path, "configuration.yaml", "obs:\n  password: !secret obs_password\n  port: !secret mqtt_port\n")
    data = load_yaml(tmp_path / "configuration.yaml")
    assert data["obs"]["password"] == "hunter2hunter2"
    assert data["obs"]["port"] == 1883
    # the value's place is where the secret is used, and the parent remembers it is a secret
    assert (data["obs"]["password"].file, data["obs"]["password"].line) == ("configuration.yaml", 2)
    assert data["obs"].secret_keys == {"password": "obs_password", "port": "mqtt_port"}
    assert "hunter2hunter2" in data.secret_values


def test_secret_strings_hide_their_value_in_repr_and_survive_copies(tmp_path: Path) -> None:
    write(tmp_path, "secrets.yaml", "obs_password: hunter2hunter2\n")
    write(tmp_path, "configuration.yaml", "obs:\n  password: !secret obs_password\n  host: studio\n")
    data = load_yaml(tmp_path / "configuration.yaml")
    assert "hunter2" not in repr(data)
    assert repr(data["obs"]["password"]) == "<secret obs_password>"
    assert f"{data['obs']['password']}" == "hunter2hunter2"
    for clone in (copy.deepcopy(data), pickle.loads(pickle.dumps(data))):
        assert clone == data
        assert clone["obs"].key_lines == data["obs"].key_lines
        assert clone["obs"]["host"].line == 3
        assert repr(clone["obs"]["password"]) == "<secret obs_password>"


def test_secret_search_goes_from_the_including_folder_up_to_the_config_dir(tmp_path: Path) -> None:
    write(tmp_path, "secrets.yaml", "token: top\nshared: top-shared\n")
    write(tmp_path, "packages/secrets.yaml", "token: package-level\n")
    write(tmp_path, "packages/obs.yaml", "token: !secret token\nshared: !secret shared\n")
    write(tmp_path, "configuration.yaml", "obs: !include packages/obs.yaml\ntoken: !secret token\n")
    data = load_yaml(tmp_path / "configuration.yaml")
    assert data["obs"] == {"token": "package-level", "shared": "top-shared"}
    assert data["token"] == "top"


def test_missing_secret_points_at_its_use_and_never_shows_values(tmp_path: Path) -> None:
    write(tmp_path, "secrets.yaml", "obs_password: sup3r-s3cret-value\n")
    write(tmp_path, "packages/obs.yaml", "host: x\npassword: !secret obs_pasword\n")
    write(tmp_path, "configuration.yaml", "obs: !include packages/obs.yaml\n")
    with pytest.raises(ConfigError) as info:
        load_yaml(tmp_path / "configuration.yaml")
    assert str(info.value) == "packages/obs.yaml:2: secret 'obs_pasword' not found in secrets.yaml"
    assert "sup3r" not in str(info.value)


def test_secret_without_any_secrets_file(tmp_path: Path) -> None:
    write(tmp_path, "configuration.yaml", "a: 1\nb: !secret pw\n")
    with pytest.raises(ConfigError) as info:
        load_yaml(tmp_path / "configuration.yaml")
    assert str(info.value) == (
        "configuration.yaml:2: secret 'pw' not found: there is no secrets.yaml in the configuration directory"
    )


def test_broken_secrets_file_is_reported_without_its_content(tmp_path: Path) -> None:
    write(tmp_path, "secrets.yaml", "pw: 'sup3r-s3cret\n")  # unclosed quote
    write(tmp_path, "configuration.yaml", "a: !secret pw\n")
    _, errors = load_collecting(tmp_path)
    assert errors[0].startswith("secrets.yaml:")
    assert all("sup3r" not in e for e in errors)
    assert errors[-1] == "configuration.yaml:1: secret 'pw' not found in secrets.yaml"


def test_secret_inside_secrets_file_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "secrets.yaml", "a: !secret b\nb: x\n")
    write(tmp_path, "configuration.yaml", "v: !secret a\n")
    _, errors = load_collecting(tmp_path)
    assert errors == ["secrets.yaml:1: !secret cannot be used inside secrets.yaml"]


# --------------------------------------------------------------------------------------------------
# !env_var and !input


def test_env_var_with_and_without_default(tmp_path: Path) -> None:
    write(
        tmp_path,
        "configuration.yaml",
        """
        host: !env_var OBS_HOST
        port: !env_var OBS_PORT 4455
        label: !env_var LABEL my studio pc
        missing: !env_var NOT_THERE
        """,
    )
    data, errors = load_collecting(tmp_path, environ={"OBS_HOST": "10.0.0.5"})
    assert data["host"] == "10.0.0.5"
    assert (data["host"].file, data["host"].line) == ("configuration.yaml", 1)
    assert data["port"] == "4455"
    assert data["label"] == "my studio pc"
    assert errors == [
        "configuration.yaml:4: environment variable 'NOT_THERE' is not set and no default is given "
        "(write '!env_var NOT_THERE DEFAULT')"
    ]


def test_input_markers_and_substitution(tmp_path: Path) -> None:
    write(
        tmp_path,
        "blueprint.yaml",
        """
        triggers:
          - trigger: state
            entity_id: !input recording_sensor
        actions:
          - action: obs.set_scene
            data:
              scene: !input target_scene
        """,
    )
    data = load_yaml(tmp_path / "blueprint.yaml")
    marker = data["triggers"][0]["entity_id"]
    assert marker == Input("recording_sensor")
    assert (marker.file, marker.line) == ("blueprint.yaml", 3)

    result = substitute_inputs(data, {"recording_sensor": "binary_sensor.obs_recording", "target_scene": "BRB"})
    assert result["triggers"][0]["entity_id"] == "binary_sensor.obs_recording"
    assert result["actions"][0]["data"]["scene"] == "BRB"
    assert isinstance(result, NodeDict)
    assert location_of(result, ["actions", 0, "data", "scene"]) == ("blueprint.yaml", 7)
    assert data["triggers"][0]["entity_id"] == Input("recording_sensor")  # the original is untouched

    with pytest.raises(ConfigError) as info:
        substitute_inputs(data, {"recording_sensor": "binary_sensor.x"})
    assert str(info.value) == (
        "blueprint.yaml:7: blueprint input 'target_scene' is used here but not provided (given: recording_sensor)"
    )


# --------------------------------------------------------------------------------------------------
# configuration.yaml


def test_load_configuration_missing_file(tmp_path: Path) -> None:
    loaded = load_configuration(tmp_path, environ={})
    assert loaded.config == {}
    assert len(loaded.errors) == 1
    assert str(loaded.errors[0]).startswith("configuration.yaml: file not found in ")


def test_load_configuration_empty_file(tmp_path: Path) -> None:
    write(tmp_path, "configuration.yaml", "# all defaults\n")
    loaded = load_configuration(tmp_path, environ={})
    assert loaded.config == {}
    assert loaded.errors == []
    assert loaded.files == [(tmp_path / "configuration.yaml").resolve()]


def test_load_configuration_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    write(tmp_path, "configuration.yaml", "# comment\n- obs\n- jobs\n")
    loaded = load_configuration(tmp_path, environ={})
    assert [str(e) for e in loaded.errors] == [
        "configuration.yaml:2: configuration.yaml must be a mapping of sections (like 'obs:' and 'jobs:'), not a list"
    ]
    assert loaded.config == {}


def test_load_configuration_collects_every_error_and_lists_files(tmp_path: Path) -> None:
    write(tmp_path, "secrets.yaml", "pw: x\n")
    write(
        tmp_path,
        "configuration.yaml",
        "obs:\n  password: !secret pw\njobs: !include jobs.yaml\nx: !include no.yaml\n",
    )
    write(tmp_path, "jobs.yaml", "a: 1\na: 2\n")
    loaded = load_configuration(tmp_path, environ={})
    assert [str(e) for e in loaded.errors] == [
        "jobs.yaml:2: duplicate key 'a' (first defined on line 1)",
        "configuration.yaml:4: included file 'no.yaml' not found",
    ]
    assert {p.name for p in loaded.files} == {"configuration.yaml", "secrets.yaml", "jobs.yaml"}


def test_load_configuration_applies_env_overrides_with_env_locations(tmp_path: Path) -> None:
    write(tmp_path, "configuration.yaml", "obs:\n  host: localhost\n  port: 4455\n")
    loaded = load_configuration(tmp_path, environ={"OBS_WS_URL": "ws://10.1.2.3:4460", "GPU_GUARD_PCT": "70"})
    assert loaded.errors == []
    assert loaded.config["obs"] == {"host": "10.1.2.3", "port": 4460}
    assert loaded.config["jobs"] == {"guardrails": {"gpu_percent": 70}}
    assert location_of(loaded.config, ["obs", "port"]) == ("env:OBS_WS_URL", None)
    assert location_of(loaded.config, ["jobs", "guardrails", "gpu_percent"]) == ("env:GPU_GUARD_PCT", None)
    assert loaded.overrides == [
        "obs.host = '10.1.2.3' (from OBS_WS_URL)",
        "obs.port = 4460 (from OBS_WS_URL)",
        "jobs.guardrails.gpu_percent = 70 (from GPU_GUARD_PCT)",
    ]


def test_load_configuration_env_var_tag_uses_given_environ(tmp_path: Path) -> None:
    write(tmp_path, "configuration.yaml", "recorder:\n  db_path: !env_var MY_DB /data/default.db\n")
    loaded = load_configuration(tmp_path, environ={"MY_DB": "/fast/streamops.db"})
    assert loaded.config["recorder"]["db_path"] == "/fast/streamops.db"
    assert load_configuration(tmp_path, environ={}).config["recorder"]["db_path"] == "/data/default.db"
