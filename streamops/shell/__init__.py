"""`shell.run`: run a command named in the configuration, never a shell string.

    shell:
      commands:
        notify: ["/usr/bin/notify-send", "StreamOps"]
        upload: ["/usr/local/bin/rclone", "copy", "{file}", "remote:vods/"]

`shell.run` with `command: upload, variables: {file: /rec/a.mov}` runs exactly that argv with
`{file}` filled in; `args: [...]` are appended as separate arguments. Nothing passes through a shell,
so a file named `$(rm -rf ~).mov` is just a file name. The process runs in its own session with
stdin closed and is killed (whole group) after `timeout` seconds.
"""

from __future__ import annotations

import asyncio
import re
from collections import deque
from typing import Any

import voluptuous as vol

from ..core import Hub, ServiceCall, ServiceError, SupportsResponse
from ..media.ffmpeg_runner import terminate_process_group

DOMAIN = "shell"

_NAME = vol.Match(r"^[a-z0-9_]+$", msg="command names are lower-case letters, digits and _")
CONFIG_SCHEMA = vol.Schema(
    {
        vol.Optional("commands", default={}): {_NAME: vol.All([vol.All(str, vol.Length(min=1))], vol.Length(min=1))},
        vol.Optional("timeout", default=300.0): vol.All(vol.Coerce(float), vol.Range(min=0.1, max=86400)),
        # Extra `args:` from callers, and placeholder values that start with "-", can hand a configured
        # tool new options (an rclone --delete-after, an ffmpeg -y): refused unless allowed here.
        vol.Optional("allow_args", default=False): bool,
    }
)

RUN_SCHEMA = vol.Schema(
    {
        vol.Required("command"): str,
        vol.Optional("args", default=[]): [vol.Coerce(str)],
        vol.Optional("variables", default={}): {str: vol.Coerce(str)},
        vol.Optional("timeout"): vol.All(vol.Coerce(float), vol.Range(min=0.1, max=86400)),
        vol.Optional("check", default=True): bool,
    }
)

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
OUTPUT_LINES = 50


def build_argv(template: list[str], variables: dict[str, str], args: list[str], allow_args: bool = True) -> list[str]:
    if args and not allow_args:
        raise ServiceError(
            "shell.run: extra args are not allowed for configured commands (set shell: allow_args: true)"
        )
    if not allow_args:
        for part in template:
            match = _PLACEHOLDER.fullmatch(part)
            if match and variables.get(match.group(1), "").startswith("-"):
                raise ServiceError(
                    f"shell.run: variable {{{match.group(1)}}} starts with '-' and would become an option "
                    "(set shell: allow_args: true to allow it)"
                )

    def fill(part: str) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in variables:
                raise ServiceError(f"shell command needs variable {{{name}}}; pass it in variables")
            return variables[name]

        return _PLACEHOLDER.sub(replace, part)

    return [fill(part) for part in template] + list(args)


async def _collect(stream: asyncio.StreamReader, into: deque[str]) -> None:
    while line := await stream.readline():
        into.append(line.decode("utf-8", "replace").rstrip("\n"))


async def run_command(argv: list[str], timeout: float) -> dict[str, Any]:
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
    except (FileNotFoundError, PermissionError) as err:
        raise ServiceError(f"shell: cannot run {argv[0]}: {err.strerror or err}") from err
    out: deque[str] = deque(maxlen=OUTPUT_LINES)
    err_lines: deque[str] = deque(maxlen=OUTPUT_LINES)
    assert proc.stdout is not None and proc.stderr is not None
    readers = asyncio.gather(_collect(proc.stdout, out), _collect(proc.stderr, err_lines))
    timed_out = False
    try:
        await asyncio.wait_for(proc.wait(), timeout)
    except TimeoutError:
        timed_out = True
        await terminate_process_group(proc)
    except BaseException:
        await terminate_process_group(proc)
        raise
    finally:
        try:
            await asyncio.wait_for(readers, 5)
        except TimeoutError:
            readers.cancel()
    return {
        "returncode": proc.returncode,
        "stdout": "\n".join(out),
        "stderr": "\n".join(err_lines),
        "timed_out": timed_out,
    }


async def async_setup(hub: Hub, config: dict[str, Any]) -> bool:
    config = CONFIG_SCHEMA(dict(config or {}))
    commands: dict[str, list[str]] = config["commands"]

    async def handle(call: ServiceCall) -> dict[str, Any]:
        name = call.data["command"]
        if name not in commands:
            known = ", ".join(sorted(commands)) or "none configured"
            raise ServiceError(f"shell.run: unknown command {name!r} (configured: {known})")
        argv = build_argv(commands[name], dict(call.data["variables"]), list(call.data["args"]), config["allow_args"])
        if call.dry_run:
            return {"dry_run": True, "command": argv}
        timeout = float(call.data.get("timeout") or config["timeout"])
        result = await run_command(argv, timeout)
        if result["timed_out"]:
            raise ServiceError(f"shell.run {name}: killed after {timeout:g} s; stderr: {result['stderr'][-500:]}")
        if call.data["check"] and result["returncode"] != 0:
            raise ServiceError(
                f"shell.run {name}: exited with code {result['returncode']}; stderr: {result['stderr'][-500:]}"
            )
        return {"command": name, "argv": argv, **result}

    hub.services.async_register(
        DOMAIN,
        "run",
        handle,
        RUN_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
        supports_dry_run=True,
        description="Run a command named under shell: commands (argv only, never a shell string)",
    )
    return True


__all__ = ["CONFIG_SCHEMA", "DOMAIN", "async_setup", "build_argv"]
