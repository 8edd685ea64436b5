"""shell.run: only configured commands, argv only (hostile file names stay names), timeouts kill."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamops import shell
from streamops.core import Hub, ServiceError


@pytest.fixture
async def shell_hub(hub: Hub, tmp_path: Path) -> Hub:
    config = {
        "commands": {
            "echo_args": ["/usr/bin/printf", "%s\\n", "{file}"],
            "fail": ["/bin/false"],
            "slow": ["/bin/sleep", "30"],
        },
        "allow_args": True,
    }
    assert await shell.async_setup(hub, shell.CONFIG_SCHEMA(config))
    return hub


async def run(hub: Hub, data: dict, dry_run: bool = False) -> dict:
    result = await hub.services.async_call("shell", "run", data, return_response=True, dry_run=dry_run)
    assert isinstance(result, dict)
    return result


async def test_file_names_are_arguments_not_shell(shell_hub: Hub, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    hostile = f"a $(touch {marker}) `touch {marker}`; touch {marker} 'q' ü.mov"
    result = await run(shell_hub, {"command": "echo_args", "variables": {"file": hostile}, "args": ["--x y"]})
    assert result["stdout"].splitlines() == [hostile, "--x y"] and not marker.exists()


async def test_unknown_command_refused_and_dry_run(shell_hub: Hub) -> None:
    with pytest.raises(ServiceError, match="unknown command 'rm'"):
        await run(shell_hub, {"command": "rm"})
    plan = await run(shell_hub, {"command": "echo_args", "variables": {"file": "x"}}, dry_run=True)
    assert plan == {"dry_run": True, "command": ["/usr/bin/printf", "%s\\n", "x"]}
    with pytest.raises(ServiceError, match=r"needs variable \{file\}"):
        await run(shell_hub, {"command": "echo_args"})


async def test_failure_and_timeout(shell_hub: Hub) -> None:
    with pytest.raises(ServiceError, match="exited with code 1"):
        await run(shell_hub, {"command": "fail"})
    assert (await run(shell_hub, {"command": "fail", "check": False}))["returncode"] == 1
    with pytest.raises(ServiceError, match=r"killed after 0\.3 s"):
        await run(shell_hub, {"command": "slow", "timeout": 0.3})


async def test_extra_args_and_option_like_values_refused_by_default(hub: Hub) -> None:
    config = shell.CONFIG_SCHEMA({"commands": {"upload": ["/usr/bin/printf", "%s\\n", "{file}"]}})
    assert await shell.async_setup(hub, config)
    with pytest.raises(ServiceError, match="extra args are not allowed"):
        await run(hub, {"command": "upload", "variables": {"file": "/rec/a.mov"}, "args": ["--delete"]})
    with pytest.raises(ServiceError, match="starts with '-'"):
        await run(hub, {"command": "upload", "variables": {"file": "--delete-after"}})
    result = await run(hub, {"command": "upload", "variables": {"file": "/rec/-odd name.mov"}})
    assert result["stdout"].splitlines() == ["/rec/-odd name.mov"]
