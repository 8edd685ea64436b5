"""`streamops worker` (run job runners fed by NATS) and `streamops broker` (run nats-server for them)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

_LOGGER = logging.getLogger("streamops.worker")


def register(subparsers: Any) -> None:
    worker = subparsers.add_parser(
        "worker",
        help="run job runners for a hub, fed through NATS JetStream (no API, no automations)",
        description="Flags override the remote_workers: section of -c CONFIG_DIR (env NATS_URL too).",
    )
    worker.add_argument("--nats", metavar="URL", help="NATS server, e.g. nats://192.168.1.10:7768 (env NATS_URL)")
    worker.add_argument("-c", "--config", type=Path, help="configuration directory (its remote_workers: section)")
    worker.add_argument("--data", type=Path, help="data directory (a worker-<name>/ folder is used inside)")
    worker.add_argument("--name", help="worker name (sensor.worker_<name> on the hub); default: host name")
    worker.add_argument("--types", help="comma-separated job types this worker accepts")
    worker.add_argument("--concurrency", type=int, help="jobs run at once (default 1)")
    worker.add_argument(
        "--path-map", action="append", default=[], metavar="HUB=WORKER", help="hub path → local mount (repeatable)"
    )
    worker.add_argument("--plugin", action="append", default=[], metavar="MODULE", help="module adding job types")
    worker.add_argument("--ack-wait", type=float, help="seconds without a heartbeat before a job is redelivered")
    worker.add_argument("--heartbeat", type=float, help="seconds between worker heartbeats")
    worker.add_argument("--token", help="NATS token (prefer env NATS_TOKEN)")
    worker.add_argument("--user", help="NATS user (password from env NATS_PASSWORD)")
    worker.add_argument("-v", "--verbose", action="store_true")
    worker.set_defaults(func=_cmd_worker)

    broker = subparsers.add_parser("broker", help="run nats-server with JetStream for remote workers (port 7768)")
    broker.add_argument("--data", type=Path, help="data directory (<data>/nats holds the config and the store)")
    broker.add_argument("--port", type=int, help="port (default 7768, env NATS_PORT)")
    broker.add_argument("--print", action="store_true", help="write the config, print the command, do not run it")
    broker.set_defaults(func=_cmd_broker)


def settings_from_args(args: argparse.Namespace, environ: dict[str, str] | os._Environ[str]) -> Any:
    """Flags > configuration (-c) > environment > defaults, validated by the same schema as the hub's."""
    import voluptuous as vol

    from streamops.bootstrap import default_data_dir

    from .config import CONFIG_SCHEMA, WORKER_SCHEMA
    from .worker import WorkerSettings

    sections: dict[str, Any] = {}
    raw: dict[str, Any] = {}
    config_dir = args.config.resolve() if args.config else None
    if config_dir is not None:
        from streamops.bootstrap import check_config

        checked = check_config(config_dir, environ)
        if checked.errors:
            raise SystemExit("configuration errors:\n" + "\n".join(str(e) for e in checked.errors))
        sections = dict(checked.sections)
        raw = dict(sections.get("remote_workers") or {})
        raw["worker"] = dict(raw.get("worker") or {})
    else:
        raw = {"worker": {}}
        if environ.get("NATS_URL"):
            raw["url"] = environ["NATS_URL"]
    if args.nats:
        raw["url"] = args.nats
    if args.token or environ.get("NATS_TOKEN"):
        raw["token"] = args.token or environ["NATS_TOKEN"]
    if args.user:
        raw["user"] = args.user
        raw["password"] = environ.get("NATS_PASSWORD", "")
    if args.ack_wait is not None:
        raw["ack_wait"] = args.ack_wait
    if args.heartbeat is not None:
        raw["heartbeat_interval"] = args.heartbeat
    worker = raw["worker"]
    if args.name:
        worker["name"] = args.name
    if args.types:
        worker["job_types"] = [t.strip() for t in args.types.split(",") if t.strip()]
    if args.concurrency is not None:
        worker["concurrency"] = args.concurrency
    if args.path_map:
        mapping = dict(worker.get("path_map") or {})
        for item in args.path_map:
            hub_path, sep, worker_path = item.partition("=")
            if not sep:
                raise SystemExit(f"--path-map {item!r}: expected HUB_PATH=WORKER_PATH")
            mapping[hub_path] = worker_path
        worker["path_map"] = mapping
    if args.plugin:
        worker["plugins"] = [*worker.get("plugins", []), *args.plugin]
    try:
        config = CONFIG_SCHEMA({k: v for k, v in raw.items() if k != "worker"} | {"worker": WORKER_SCHEMA(worker)})
    except vol.Invalid as err:
        raise SystemExit(f"invalid worker settings: {err}") from None
    block = config["worker"]
    data_root = (args.data or default_data_dir()).resolve()
    return WorkerSettings(
        connection=config,
        name=block["name"],
        job_types=block["job_types"],
        concurrency=block["concurrency"],
        path_map=block["path_map"],
        allowed_dirs=block["allowed_dirs"],
        plugins=block["plugins"],
        data_dir=data_root / f"worker-{block['name']}",
        config_dir=config_dir,
        sections={k: v for k, v in sections.items() if k in ("media", "files", "jobs")},
    )


def _cmd_worker(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    settings = settings_from_args(args, os.environ)

    async def main() -> int:
        from .worker import Worker, build_runtime

        hub, types = await build_runtime(settings)
        worker = Worker(settings, types)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, worker.request_stop)
        try:
            return await worker.run()
        finally:
            await hub.async_stop()

    try:
        return asyncio.run(main())
    except KeyboardInterrupt:
        return 130


def _cmd_broker(args: argparse.Namespace) -> int:
    from streamops.bootstrap import default_data_dir

    from .broker import broker_command, write_broker_config

    data_dir = (args.data or default_data_dir()).resolve()
    conf = write_broker_config(data_dir, os.environ, args.port)
    argv = broker_command(conf)
    if args.print:
        print(" ".join(argv))
        return 0
    os.execv(argv[0], argv)
    return 1  # not reached
