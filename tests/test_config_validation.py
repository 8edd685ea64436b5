"""Validation: voluptuous errors become readable FILE:LINE messages; cv validators; env overrides."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path
from typing import Any

import pytest
import voluptuous as vol

from streamops.config import (
    ConfigError,
    ConfigErrors,
    NodeDict,
    apply_env_overrides,
    cv,
    load_configuration,
    load_yaml,
    validate,
    validate_sections,
)


def write(base: Path, name: str, text: str) -> Path:
    path = base / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


GUARDRAILS = {
    vol.Optional("gpu_percent", default=85): cv.percentage,
    vol.Optional("cpu_percent", default=85): cv.percentage,
    vol.Optional("pause_when_recording", default=True): cv.boolean,
}
JOBS = vol.Schema(
    {
        vol.Optional("max_cpu", default=80): int,
        vol.Optional("delay", default="5s"): cv.time_period,
        vol.Optional("guardrails", default={}): GUARDRAILS,
    }
)
DRIVES = vol.Schema({str: {vol.Required("path"): cv.string, vol.Optional("min_free"): cv.byte_size}})
TRIGGER = {vol.Required("trigger"): cv.string, vol.Optional("entity_id"): cv.entity_ids}
AUTOMATION = vol.All(
    cv.ensure_list,
    [
        vol.Schema(
            {
                vol.Required("alias"): cv.string,
                vol.Optional("triggers", default=[]): vol.All(cv.ensure_list, [TRIGGER]),
                vol.Optional("mode", default="single"): vol.In(["single", "restart", "queued", "parallel"]),
            }
        )
    ],
)
OBS = vol.Schema({vol.Optional("host"): cv.string, vol.Optional("port"): cv.port, vol.Optional("password"): cv.string})
SCHEMAS = {"jobs": JOBS, "drives": DRIVES, "automation": AUTOMATION, "obs": OBS}


def messages(errors: list[ConfigError]) -> list[str]:
    return [str(err) for err in errors]


def load(tmp_path: Path, environ: dict[str, str] | None = None) -> Any:
    loaded = load_configuration(tmp_path, environ=environ or {})
    return loaded, validate_sections(loaded, SCHEMAS)


# --------------------------------------------------------------------------------------------------
# validate(): the three classic mistakes, each at its line


def test_unknown_option_with_did_you_mean_in_an_included_file(tmp_path: Path) -> None:
    write(tmp_path, "configuration.yaml", "obs:\n  host: x\njobs: !include jobs.yaml\n")
    write(tmp_path, "jobs.yaml", "max_cpu: 70\ndelays: 5s\n")
    loaded, sections = load(tmp_path)
    assert messages(loaded.errors) == ["jobs.yaml:2: unknown option 'delays' under 'jobs' (did you mean 'delay'?)"]
    assert "jobs" not in sections
    assert sections["obs"] == {"host": "x"}


def test_unknown_option_without_a_close_match_lists_the_valid_ones(tmp_path: Path) -> None:
    write(tmp_path, "configuration.yaml", "jobs:\n  guardrails:\n    zzz: 1\n")
    loaded, _ = load(tmp_path)
    assert messages(loaded.errors) == [
        "configuration.yaml:3: unknown option 'zzz' under 'jobs.guardrails' "
        "(valid options: cpu_percent, gpu_percent, pause_when_recording)"
    ]


def test_wrong_type_names_expected_and_found(tmp_path: Path) -> None:
    write(tmp_path, "configuration.yaml", "# settings\njobs:\n  max_cpu: abc\n  delay: soon\n")
    loaded, _ = load(tmp_path)
    assert messages(loaded.errors) == [
        "configuration.yaml:3: expected int for 'jobs.max_cpu', got str 'abc'",
        f"configuration.yaml:4: expected a time period ({cv.PERIOD_HELP}) for 'jobs.delay', got str 'soon'",
    ]


def test_required_option_missing_is_reported_at_the_parent(tmp_path: Path) -> None:
    write(
        tmp_path,
        "configuration.yaml",
        """
        drives:
          main:
            path: /media/main
          editing:
            min_free: 10GB
        """,
    )
    loaded, sections = load(tmp_path)
    assert messages(loaded.errors) == ["configuration.yaml:4: required option 'path' missing under 'drives.editing'"]
    assert sections == {}


def test_section_of_wrong_shape(tmp_path: Path) -> None:
    write(tmp_path, "configuration.yaml", "obs:\n  host: x\njobs: 5\ndrives:\n  - a\n")
    loaded, _ = load(tmp_path)
    assert messages(loaded.errors) == [
        "configuration.yaml:3: expected a mapping for 'jobs', got int 5",
        "configuration.yaml:4: expected a mapping for 'drives', got a list",
    ]


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        (
            """
            - alias: remux
              triggers:
                - trigger: state
                  entity_id: binary_sensor.obs_recording
                - trigger: state
                  entity_id: Not An Entity
            """,
            "automations/remux.yaml:6: expected an entity id like 'sensor.cpu_percent' (lowercase letters, digits, "
            "underscores) for 'automation[0].triggers[1].entity_id', got str 'Not An Entity'",
        ),
        (
            """
            - alias: remux
            - alias: markers
              trigers:
                - trigger: mqtt
            """,
            "automations/remux.yaml:3: unknown option 'trigers' under 'automation[1]' (did you mean 'triggers'?)",
        ),
        (
            """
            - alias: markers
              mode: paralel
            """,
            "automations/remux.yaml:2: value must be one of ['parallel', 'queued', 'restart', 'single'] "
            "for 'automation[0].mode', got str 'paralel'",
        ),
        (
            """
            - alias: a
            - triggers: []
            """,
            "automations/remux.yaml:2: required option 'alias' missing under 'automation[1]'",
        ),
    ],
)
def test_errors_deep_in_lists_of_an_included_directory(tmp_path: Path, items: str, expected: str) -> None:
    # voluptuous stops a list at its first bad item, so each case holds one mistake.
    write(tmp_path, "configuration.yaml", "automation: !include_dir_merge_list automations\n")
    write(tmp_path, "automations/remux.yaml", items)
    loaded, sections = load(tmp_path)
    assert messages(loaded.errors) == [expected]
    assert "automation" not in sections


def test_single_automation_wrapped_by_ensure_list_still_locates(tmp_path: Path) -> None:
    write(tmp_path, "configuration.yaml", "automation:\n  alias: one\n  mdoe: single\n")
    loaded, _ = load(tmp_path)
    assert messages(loaded.errors) == [
        "configuration.yaml:3: unknown option 'mdoe' under 'automation[0]' (did you mean 'mode'?)"
    ]


def test_validate_without_root_uses_the_values_own_locations(tmp_path: Path) -> None:
    write(tmp_path, "jobs.yaml", "max_cpu: 80\nguardrails:\n  gpu_percent: 150\n")
    value = load_yaml(tmp_path / "jobs.yaml")
    validated, errors = validate(JOBS, value, domain="jobs")
    assert validated is None
    assert messages(errors) == [
        "jobs.yaml:3: expected a percentage from 0 to 100 for 'jobs.guardrails.gpu_percent', got int 150"
    ]


def test_validate_success_returns_the_validated_value(tmp_path: Path) -> None:
    write(tmp_path, "jobs.yaml", "delay: 00:05:00\nguardrails:\n  pause_when_recording: off\n")
    validated, errors = validate(JOBS, load_yaml(tmp_path / "jobs.yaml"), domain="jobs")
    assert errors == []
    assert validated["delay"] == dt.timedelta(minutes=5)
    assert validated["guardrails"] == {"gpu_percent": 85, "cpu_percent": 85, "pause_when_recording": False}


def test_plain_data_without_locations_still_gets_messages() -> None:
    _, errors = validate(JOBS, {"max_cpu": "x", "dealy": 1}, domain="jobs")
    assert messages(errors) == [
        "expected int for 'jobs.max_cpu', got str 'x'",
        "unknown option 'dealy' under 'jobs' (did you mean 'delay'?)",
    ]


def test_a_crashing_validator_becomes_an_error_not_a_crash(tmp_path: Path) -> None:
    def broken(value: Any) -> Any:
        raise KeyError("oops")

    write(tmp_path, "configuration.yaml", "obs:\n  host: x\njobs:\n  max_cpu: 1\n")
    loaded = load_configuration(tmp_path, environ={})
    sections = validate_sections(loaded, {"obs": OBS, "jobs": vol.Schema({"max_cpu": broken})})
    assert messages(loaded.errors) == ["configuration.yaml:3: could not validate 'jobs': KeyError: 'oops'"]
    assert sections == {"obs": {"host": "x"}}


# --------------------------------------------------------------------------------------------------
# Secrets never appear in messages


def test_secret_value_in_a_wrong_field_is_named_not_shown(tmp_path: Path) -> None:
    write(tmp_path, "secrets.yaml", "obs_port: not-a-port-s3cret\nobs_password: hunter2hunter2\n")
    write(tmp_path, "configuration.yaml", "obs:\n  password: !secret obs_password\n  port: !secret obs_port\n")
    loaded, _ = load(tmp_path)
    assert messages(loaded.errors) == [
        "configuration.yaml:3: expected a port number from 1 to 65535 for 'obs.port', "
        "got the value of secret 'obs_port'"
    ]


def test_secret_values_are_masked_even_when_a_validator_echoes_them(tmp_path: Path) -> None:
    def echo(value: Any) -> Any:
        raise vol.Invalid(f"cannot use {value}")

    write(tmp_path, "secrets.yaml", "token: tok-s3cret-123\n")
    write(tmp_path, "configuration.yaml", "obs:\n  host: x\n  token: !secret token\n")
    loaded = load_configuration(tmp_path, environ={})
    validate_sections(loaded, {"obs": vol.Schema({"host": str, "token": echo})})
    assert messages(loaded.errors) == [
        "configuration.yaml:3: cannot use *** for 'obs.token', got the value of secret 'token'"
    ]


def test_password_from_environment_is_masked_too(tmp_path: Path) -> None:
    write(tmp_path, "configuration.yaml", "obs:\n  host: x\n")
    loaded = load_configuration(tmp_path, environ={"OBS_WS_PASSWORD": "env-pass-s3cret"})
    validate_sections(loaded, {"obs": vol.Schema({"host": str, "password": vol.All(str, vol.Length(max=3))})})
    text = "\n".join(messages(loaded.errors))
    assert "env-pass-s3cret" not in text
    assert text == (
        "env:OBS_WS_PASSWORD: length of value must be at most 3 for 'obs.password', "
        "got the value of secret 'OBS_WS_PASSWORD'"
    )
    assert all("env-pass-s3cret" not in line for line in loaded.overrides)


# --------------------------------------------------------------------------------------------------
# validate_sections()


def test_unknown_top_level_section_with_did_you_mean(tmp_path: Path) -> None:
    write(tmp_path, "configuration.yaml", "obs:\n  host: x\njob:\n  max_cpu: 10\nzzz_top: 1\n")
    loaded, sections = load(tmp_path)
    assert messages(loaded.errors) == [
        "configuration.yaml:3: unknown section 'job' (did you mean 'jobs'?)",
        "configuration.yaml:5: unknown section 'zzz_top'",
    ]
    assert sections == {"obs": {"host": "x"}}


def test_empty_section_gets_schema_defaults(tmp_path: Path) -> None:
    write(tmp_path, "configuration.yaml", "jobs:\nobs:\n")
    loaded, sections = load(tmp_path)
    assert loaded.errors == []
    assert sections["jobs"]["max_cpu"] == 80
    assert sections["jobs"]["delay"] == dt.timedelta(seconds=5)
    assert sections["obs"] == {}


def test_core_streamops_section_is_validated_with_env_overrides(tmp_path: Path) -> None:
    write(tmp_path, "configuration.yaml", "streamops:\n  cache_dir: /cache\n")
    loaded = load_configuration(tmp_path, environ={"ROLE": "API", "THUMBS_DIR": "/thumbs"})
    sections = validate_sections(loaded, SCHEMAS)
    assert loaded.errors == []
    assert sections["streamops"] == {"role": "api", "cache_dir": "/cache", "thumbs_dir": "/thumbs"}

    write(tmp_path, "configuration.yaml", "streamops:\n  cahce_dir: /cache\n")
    loaded, _ = load(tmp_path)
    assert messages(loaded.errors) == [
        "configuration.yaml:2: unknown option 'cahce_dir' under 'streamops' (did you mean 'cache_dir'?)"
    ]


def test_section_created_only_by_env_for_a_missing_component_is_not_an_error(tmp_path: Path) -> None:
    write(tmp_path, "configuration.yaml", "obs:\n  host: x\n")
    loaded = load_configuration(tmp_path, environ={"NATS_ENABLE": "1"})
    sections = validate_sections(loaded, SCHEMAS)  # no remote_workers schema here
    assert loaded.errors == []
    assert "remote_workers" not in sections
    assert loaded.overrides == ["remote_workers.enabled = True (from NATS_ENABLE)"]

    write(tmp_path, "configuration.yaml", "remote_workers:\n  url: nats://x\n")
    loaded = load_configuration(tmp_path, environ={"NATS_ENABLE": "1"})
    validate_sections(loaded, SCHEMAS)
    assert messages(loaded.errors) == ["configuration.yaml:1: unknown section 'remote_workers'"]


def test_env_override_rejected_by_schema_points_at_env(tmp_path: Path) -> None:
    write(tmp_path, "configuration.yaml", "jobs:\n  max_cpu: 50\n")
    loaded = load_configuration(tmp_path, environ={"CPU_GUARD_PCT": "50"})
    strict = vol.Schema({"max_cpu": int, "guardrails": {"cpu_percent": vol.All(int, vol.Range(max=40))}})
    validate_sections(loaded, {"jobs": strict})
    assert messages(loaded.errors) == [
        "env:CPU_GUARD_PCT: value must be at most 40 for 'jobs.guardrails.cpu_percent', got int 50"
    ]


def test_bad_env_values_are_errors_with_env_file(tmp_path: Path) -> None:
    write(tmp_path, "configuration.yaml", "jobs:\n  max_cpu: 50\n")
    loaded = load_configuration(tmp_path, environ={"GPU_GUARD_PCT": "abc", "ROLE": "boss", "CPU_GUARD_PCT": "60"})
    assert messages(loaded.errors) == [
        "env:GPU_GUARD_PCT: GPU_GUARD_PCT must be a whole number from 0 to 100, got 'abc'",
        "env:ROLE: ROLE must be one of all, api, worker, overlay, broker, got 'boss'",
    ]
    assert loaded.config["jobs"]["guardrails"] == {"cpu_percent": 60}  # good ones still apply


# --------------------------------------------------------------------------------------------------
# apply_env_overrides()


def test_every_environment_variable_lands_where_the_architecture_says() -> None:
    config: dict[str, Any] = {"obs": {"host": "localhost", "port": 4455}}
    done = apply_env_overrides(
        config,
        {
            "OBS_WS_URL": "ws://192.168.1.20:4460",
            "OBS_WS_PASSWORD": "pa55word-s3cret",
            "GPU_GUARD_PCT": "90",
            "CPU_GUARD_PCT": "75%",
            "PAUSE_WHEN_RECORDING": "no",
            "NATS_ENABLE": "true",
            "NATS_URL": "nats://worker:natspass@nats.local:4222",
            "ROLE": "Worker",
            "DB_PATH": "/data/streamops.db",
            "CACHE_DIR": "/cache",
            "THUMBS_DIR": "/thumbs",
            "UNRELATED": "x",
        },
    )
    assert config == {
        "obs": {"host": "192.168.1.20", "port": 4460, "password": "pa55word-s3cret"},
        "jobs": {"guardrails": {"gpu_percent": 90, "cpu_percent": 75, "pause_when_recording": False}},
        "remote_workers": {"enabled": True, "url": "nats://worker:natspass@nats.local:4222"},
        "streamops": {"role": "worker", "cache_dir": "/cache", "thumbs_dir": "/thumbs"},
        "recorder": {"db_path": "/data/streamops.db"},
    }
    assert done == [
        "obs.host = '192.168.1.20' (from OBS_WS_URL)",
        "obs.port = 4460 (from OBS_WS_URL)",
        "obs.password = *** (from OBS_WS_PASSWORD)",
        "jobs.guardrails.gpu_percent = 90 (from GPU_GUARD_PCT)",
        "jobs.guardrails.cpu_percent = 75 (from CPU_GUARD_PCT)",
        "jobs.guardrails.pause_when_recording = False (from PAUSE_WHEN_RECORDING)",
        "remote_workers.enabled = True (from NATS_ENABLE)",
        "remote_workers.url = 'nats://worker:***@nats.local:4222' (from NATS_URL)",
        "streamops.role = 'worker' (from ROLE)",
        "recorder.db_path = '/data/streamops.db' (from DB_PATH)",
        "streamops.cache_dir = '/cache' (from CACHE_DIR)",
        "streamops.thumbs_dir = '/thumbs' (from THUMBS_DIR)",
    ]
    assert not any("pa55word" in line or "natspass" in line for line in done)


def test_obs_list_overrides_apply_to_the_first_instance() -> None:
    config: dict[str, Any] = {"obs": [{"host": "a"}, {"host": "b"}]}
    apply_env_overrides(config, {"OBS_WS_URL": "ws://studio:4455", "OBS_WS_PASSWORD": "pw"})
    assert config["obs"] == [{"host": "studio", "port": 4455, "password": "pw"}, {"host": "b"}]


def test_empty_env_values_count_as_unset_and_empty_sections_are_filled() -> None:
    config: dict[str, Any] = {"jobs": None}
    assert apply_env_overrides(config, {"GPU_GUARD_PCT": "", "ROLE": "  ", "NATS_ENABLE": "1"}) == [
        "remote_workers.enabled = True (from NATS_ENABLE)"
    ]
    assert config == {"jobs": None, "remote_workers": {"enabled": True}}
    apply_env_overrides(config, {"PAUSE_WHEN_RECORDING": "on"})
    assert config["jobs"] == {"guardrails": {"pause_when_recording": True}}


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("GPU_GUARD_PCT", "abc", "GPU_GUARD_PCT must be a whole number from 0 to 100, got 'abc'"),
        ("CPU_GUARD_PCT", "101", "CPU_GUARD_PCT must be a whole number from 0 to 100, got '101'"),
        (
            "PAUSE_WHEN_RECORDING",
            "maybe",
            "PAUSE_WHEN_RECORDING must be true or false (also yes/no, on/off, 1/0), got 'maybe'",
        ),
        ("NATS_ENABLE", "2", "NATS_ENABLE must be true or false (also yes/no, on/off, 1/0), got '2'"),
        (
            "OBS_WS_URL",
            "http://x:1",
            "OBS_WS_URL must look like ws://HOST:PORT (e.g. ws://127.0.0.1:4455), got 'http://x:1'",
        ),
        (
            "OBS_WS_URL",
            "ws://u:pw-s3cret@x:99999",
            "OBS_WS_URL must look like ws://HOST:PORT (e.g. ws://127.0.0.1:4455), got 'ws://u:***@x:99999'",
        ),
    ],
)
def test_bad_env_values(name: str, raw: str, message: str) -> None:
    config: dict[str, Any] = {}
    with pytest.raises(ConfigError) as info:
        apply_env_overrides(config, {name: raw})
    assert info.value.file == f"env:{name}"
    assert info.value.line is None
    assert info.value.message == message
    assert str(info.value) == f"env:{name}: {message}"
    assert config == {}


def test_several_bad_env_values_raise_config_errors_and_good_ones_apply() -> None:
    config: dict[str, Any] = {}
    with pytest.raises(ConfigErrors) as info:
        apply_env_overrides(config, {"GPU_GUARD_PCT": "x", "CPU_GUARD_PCT": "y", "DB_PATH": "/db"})
    assert [e.file for e in info.value.errors] == ["env:GPU_GUARD_PCT", "env:CPU_GUARD_PCT"]
    assert config == {"recorder": {"db_path": "/db"}}


def test_override_into_a_section_that_is_not_a_mapping() -> None:
    config: dict[str, Any] = {"jobs": "fast"}
    with pytest.raises(ConfigError) as info:
        apply_env_overrides(config, {"GPU_GUARD_PCT": "50"})
    assert (
        str(info.value) == "env:GPU_GUARD_PCT: cannot apply GPU_GUARD_PCT: 'jobs' in the configuration is not a mapping"
    )


def test_overridden_values_record_their_env_location() -> None:
    config = NodeDict()
    apply_env_overrides(config, {"THUMBS_DIR": "/t"})
    assert config.key_lines["streamops"] == ("env:THUMBS_DIR", None)
    assert config["streamops"].value_lines["thumbs_dir"] == ("env:THUMBS_DIR", None)


# --------------------------------------------------------------------------------------------------
# cv validators


def invalid(validator: Any, value: Any) -> str:
    with pytest.raises(vol.Invalid) as info:
        validator(value)
    return str(info.value.msg)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("00:05:00", dt.timedelta(minutes=5)),
        ("01:30", dt.timedelta(hours=1, minutes=30)),
        ("-00:00:10", dt.timedelta(seconds=-10)),
        ("5s", dt.timedelta(seconds=5)),
        ("5m", dt.timedelta(minutes=5)),
        ("2h", dt.timedelta(hours=2)),
        ("1h30m", dt.timedelta(hours=1, minutes=30)),
        ("1.5 h", dt.timedelta(minutes=90)),
        ("500ms", dt.timedelta(milliseconds=500)),
        ("2d", dt.timedelta(days=2)),
        (90, dt.timedelta(seconds=90)),
        (2.5, dt.timedelta(seconds=2.5)),
        ("30", dt.timedelta(seconds=30)),
        ({"hours": 1, "minutes": 2, "seconds": 3}, dt.timedelta(hours=1, minutes=2, seconds=3)),
        (dt.timedelta(seconds=1), dt.timedelta(seconds=1)),
    ],
)
def test_time_period_accepts(value: Any, expected: dt.timedelta) -> None:
    assert cv.time_period(value) == expected


@pytest.mark.parametrize("value", ["soon", "5x", "", "1:75", True, None, [1], {"hourz": 1}, {}, {"hours": "x"}])
def test_time_period_rejects(value: Any) -> None:
    assert invalid(cv.time_period, value)


def test_time_period_messages() -> None:
    assert invalid(cv.time_period, "soon") == f"expected a time period ({cv.PERIOD_HELP})"
    assert invalid(cv.time_period, {"hourz": 1}) == (
        "unknown time period key 'hourz' (use days, hours, minutes, seconds, milliseconds)"
    )
    assert invalid(cv.positive_time_period, "-00:01") == "expected a time period of zero or more"


def test_boolean_like_home_assistant() -> None:
    for value in (True, "yes", "On", "TRUE", "enable", "1", 1):
        assert cv.boolean(value) is True
    for value in (False, "no", "off", "False", "disable", "0", 0):
        assert cv.boolean(value) is False
    assert invalid(cv.boolean, "maybe") == "expected a boolean (true/false, yes/no, on/off)"
    assert invalid(cv.boolean, 2)


def test_numbers() -> None:
    assert cv.positive_int("5") == 5
    assert cv.positive_int(0) == 0
    assert cv.positive_int(3.0) == 3
    assert invalid(cv.positive_int, -1) == "expected a whole number of 0 or more"
    assert invalid(cv.positive_int, 2.5) == "expected a whole number of 0 or more (a whole number)"
    assert invalid(cv.positive_int, True)
    assert cv.port("4455") == 4455
    assert invalid(cv.port, 0) == "expected a port number from 1 to 65535"
    assert invalid(cv.port, 70000) == "expected a port number from 1 to 65535"
    assert cv.percentage(85) == 85
    assert cv.percentage("85%") == 85
    assert cv.percentage(12.5) == 12.5
    assert invalid(cv.percentage, 101) == "expected a percentage from 0 to 100"
    assert invalid(cv.percentage, "lots")


def test_strings_lists_and_ids() -> None:
    assert cv.string(5) == "5"
    assert invalid(cv.string, None) == "expected a string"
    assert invalid(cv.string, {"a": 1}) == "expected a string"
    assert cv.ensure_list(None) == []
    assert cv.ensure_list("a") == ["a"]
    assert cv.ensure_list([1, 2]) == [1, 2]
    assert cv.entity_id("Sensor.CPU_Percent") == "sensor.cpu_percent"
    for bad in ("sensor", "sensor.", "_sensor.x", "sensor.x__y", "sensor.x-y", "a.b.c"):
        assert invalid(cv.entity_id, bad).startswith("expected an entity id like 'sensor.cpu_percent'")
    assert cv.entity_ids("sensor.a, binary_sensor.b") == ["sensor.a", "binary_sensor.b"]
    assert cv.entity_ids(["sensor.a"]) == ["sensor.a"]
    assert cv.slug("game_clips_2") == "game_clips_2"
    assert (
        invalid(cv.slug, "My Clips!")
        == "expected a slug such as 'my_clips' (lowercase letters, digits and underscores)"
    )


def test_template_checks_balanced_jinja() -> None:
    assert cv.template("{{ states('sensor.obs_scene') }}") == "{{ states('sensor.obs_scene') }}"
    assert cv.template("{% if x %}a{% endif %}{# note #}") == "{% if x %}a{% endif %}{# note #}"
    assert cv.template(42) == "42"
    assert cv.template("plain {text}") == "plain {text}"
    assert invalid(cv.template, "{{ trigger.path") == "unclosed '{{' in template (missing '}}')"
    assert invalid(cv.template, "{% if x }") == "unclosed '{%' in template (missing '%}')"
    assert invalid(cv.template, "value }}") == "'}}' without a matching opening in template"
    assert invalid(cv.template, ["a"]) == "expected a template string"


def test_path_glob_and_byte_size() -> None:
    assert cv.path_glob("/media/obs/**/*.mkv") == "/media/obs/**/*.mkv"
    assert cv.path_glob("D:/OBS/[A-Z]*.mkv") == "D:/OBS/[A-Z]*.mkv"
    assert invalid(cv.path_glob, "") == "expected a path or glob pattern, got an empty string"
    assert invalid(cv.path_glob, "/media/[abc*.mkv") == "expected a glob pattern with balanced '[' and ']'"
    assert cv.byte_size("10GB") == 10_000_000_000
    assert cv.byte_size("500 MB") == 500_000_000
    assert cv.byte_size("1.5GiB") == int(1.5 * 1024**3)
    assert cv.byte_size("10G") == 10 * 1024**3
    assert cv.byte_size(4096) == 4096
    assert cv.byte_size("123") == 123
    assert (
        invalid(cv.byte_size, "10 parsecs") == "expected a size such as '10GB', '500 MB', '1.5GiB' or a number of bytes"
    )
    assert invalid(cv.byte_size, -1)
