"""The `streamops` command. Components add subcommands with a `register(subparsers)` in their `cli.py`."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__

_LOGGER = logging.getLogger("streamops")


def _add_dirs(parser: argparse.ArgumentParser, *, config_required: bool = False) -> None:
    parser.add_argument(
        "-c", "--config", type=Path, required=config_required, help="configuration directory (configuration.yaml)"
    )
    parser.add_argument("--data", type=Path, help="data directory (database, logs, thumbs); env STREAMOPS_DATA")


def data_dir_from(args: argparse.Namespace) -> Path:
    from .bootstrap import default_data_dir

    return (args.data or default_data_dir()).resolve()


def _cmd_run(args: argparse.Namespace) -> int:
    from .bootstrap import async_setup_hub, ensure_config_dir
    from .logs import setup_logging

    data_dir = data_dir_from(args)
    data_dir.mkdir(parents=True, exist_ok=True)
    setup_logging(data_dir, verbose=args.verbose)
    config_dir = ensure_config_dir(args.config.resolve() if args.config else None, data_dir)
    _LOGGER.info("StreamOps %s: config %s, data %s", __version__, config_dir, data_dir)
    _apply_staged_restore(data_dir, config_dir)

    async def main() -> int:
        hub = await async_setup_hub(config_dir, data_dir, os.environ)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, lambda: hub.async_create_background_task(hub.async_stop(), "stop"))
        await hub.stopped.wait()
        return 0

    try:
        return asyncio.run(main())
    except KeyboardInterrupt:
        return 130


def _apply_staged_restore(data_dir: Path, config_dir: Path) -> None:
    """A restore staged through the API is applied here, before anything opens the database."""
    from .backup.archive import locations_for
    from .backup.restore import RestoreError, apply_pending

    try:
        done = apply_pending(locations_for(data_dir, config_dir))
    except RestoreError as err:
        _LOGGER.error("Staged restore not applied: %s", err)
        return
    if done:
        _LOGGER.warning(
            "Applied staged restore %s (the previous state is in backup/%s)", done["restored"], done["safety_copy"]
        )


def _cmd_check_config(args: argparse.Namespace) -> int:
    from .bootstrap import check_config

    config_dir = args.config.resolve()
    checked = check_config(config_dir, os.environ)
    for error in checked.errors:
        print(error)
    if checked.errors:
        print(f"{len(checked.errors)} error(s) in {config_dir}", file=sys.stderr)
        return 1
    print(f"Configuration valid: {config_dir}")
    return 0


def _discover_cli_modules() -> list[str]:
    roots = (
        ("streamops", Path(__file__).resolve().parent),
        ("integrations", Path(__file__).resolve().parent.parent / "integrations"),
    )
    found = []
    for package, folder in roots:
        for cli_file in sorted(folder.glob("*/cli.py")):
            found.append(f"{package}.{cli_file.parent.name}.cli")
    return found


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="streamops", description="Automation hub for streamers")
    parser.add_argument("--version", action="version", version=f"streamops {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the hub")
    _add_dirs(run)
    run.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    run.set_defaults(func=_cmd_run)

    check = sub.add_parser("check-config", help="validate a configuration directory; errors as FILE:LINE")
    _add_dirs(check, config_required=True)
    check.set_defaults(func=_cmd_check_config)

    for module_name in _discover_cli_modules():
        try:
            module = importlib.import_module(module_name)
        except Exception as err:  # one broken component must not break the whole command
            print(f"warning: subcommands of {module_name} unavailable: {err}", file=sys.stderr)
            continue
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
