"""The `obs:` configuration: shapes, defaults, environment overrides, game and path mapping."""

from __future__ import annotations

import pytest
import voluptuous as vol

from integrations.obs.config import CONFIG_SCHEMA, build_instances, default_host
from integrations.obs.protocol import auth_string


def test_empty_and_single_configs_give_one_instance() -> None:
    for value in ({}, None, []):
        (only,) = CONFIG_SCHEMA(value)
        assert only["name"] == "obs" and only["port"] == 4455
    (instance,) = build_instances(CONFIG_SCHEMA({"password": "x"}), environ={})
    assert instance.host == default_host() and instance.primary and instance.object_suffix == ""


def test_a_list_names_each_obs_and_suffixes_the_others() -> None:
    config = CONFIG_SCHEMA([{"host": "10.0.0.2"}, {"name": "Studio PC", "host": "10.0.0.3", "port": 4456}])
    first, second = build_instances(config, environ={})
    assert (first.name, first.object_suffix) == ("obs", "")
    assert (second.name, second.object_suffix, second.port) == ("Studio PC", "_studio_pc", 4456)


def test_bad_values_are_named() -> None:
    with pytest.raises(vol.Invalid, match="duplicate OBS instance name"):
        CONFIG_SCHEMA([{"name": "a"}, {"name": "A"}])
    with pytest.raises(vol.MultipleInvalid) as err:
        CONFIG_SCHEMA([{"host": "x"}, {"port": 99999}])
    assert err.value.errors[0].path == [1, "port"]
    with pytest.raises(vol.MultipleInvalid, match="extra keys not allowed"):
        CONFIG_SCHEMA({"hots": "x"})
    with pytest.raises(vol.MultipleInvalid, match="url must look like"):
        CONFIG_SCHEMA({"url": "http://x"})


def test_environment_overrides_the_first_obs() -> None:
    config = CONFIG_SCHEMA([{"host": "a", "password": "yaml"}, {"name": "b", "host": "b"}])
    env = {"OBS_WS_URL": "ws://192.168.1.5:4460", "OBS_WS_PASSWORD": "env"}
    first, second = build_instances(config, environ=env)
    assert (first.host, first.port, first.password) == ("192.168.1.5", 4460, "env")
    assert len(first.overrides) == 2
    assert (second.host, second.port, second.overrides) == ("b", 4455, [])
    (from_url,) = build_instances(CONFIG_SCHEMA({"url": "ws://obs.lan:4999"}), environ={})
    assert (from_url.host, from_url.port) == ("obs.lan", 4999)


def test_game_map_scenes_first_then_profiles_with_patterns() -> None:
    config = CONFIG_SCHEMA(
        {
            "game_map": {"scenes": {"Elden*": "Elden Ring", "Hades": "Hades"}, "profiles": {"Valorant": "Valorant"}},
            "default_game": "Just Chatting",
        }
    )
    (instance,) = build_instances(config, environ={})
    assert instance.game_for("Elden Ring Boss", "Valorant") == "Elden Ring"
    assert instance.game_for("Hades", None) == "Hades"
    assert instance.game_for("BRB", "Valorant") == "Valorant"
    assert instance.game_for("BRB", "Other") == "Just Chatting"


def test_path_map_translates_obs_paths_for_a_container() -> None:
    config = CONFIG_SCHEMA({"path_map": {"C:\\Users\\me\\Videos": "/recordings", "D:/Clips/Replays": "/replays"}})
    (instance,) = build_instances(config, environ={})
    assert (
        instance.local_path("C:\\Users\\me\\Videos\\2024-05-01 20-00-00.mkv") == "/recordings/2024-05-01 20-00-00.mkv"
    )
    assert instance.local_path("c:/users/me/videos/a.mkv") == "/recordings/a.mkv"
    assert instance.local_path("D:/Clips/Replays/r.mkv") == "/replays/r.mkv"
    assert instance.local_path("/home/me/x.mkv") == "/home/me/x.mkv"  # unmapped: as OBS said


def test_auth_string_follows_the_protocol_recipe() -> None:
    import base64
    import hashlib

    secret = base64.b64encode(hashlib.sha256(b"supersecretpasswordSALT").digest())
    expected = base64.b64encode(hashlib.sha256(secret + b"CHALLENGE").digest()).decode()
    assert auth_string("supersecretpassword", "SALT", "CHALLENGE") == expected
