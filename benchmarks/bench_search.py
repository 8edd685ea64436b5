"""Asset search: p50/p99 latency of as-you-type prefix queries over 100,000 indexed assets,
through the real HTTP API (aiohttp server of the `http` component, token auth, loopback TCP).

Rows are written straight into so_assets (the FTS triggers index them exactly as the indexer's
rows are), with names drawn from a vocabulary of game and stream words plus numbers and dates.
Queries are 3-letter prefixes of those words, two-word prefixes, and prefixes with filters.
Baseline measured in the same run: the same queries through `AssetIndex.search` directly (no HTTP),
so the ratio shows what the HTTP layer adds.
Run: .venv/bin/python benchmarks/bench_search.py [--rows 100000] [--queries 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from streamops.api import CONFIG_SCHEMA as HTTP_SCHEMA
from streamops.api import HTTP
from streamops.api import async_setup as http_setup
from streamops.api.auth import KIND_OWNER, create_token
from streamops.assets import ASSETS, CONFIG_SCHEMA, register_drive_root
from streamops.assets import async_setup as assets_setup
from streamops.core import Hub
from streamops.recorder import CONFIG_SCHEMA as RECORDER_SCHEMA
from streamops.recorder import DATABASE
from streamops.recorder import async_setup as recorder_setup

WORDS = (
    "elden ring malenia speedrun celeste tetris minecraft fortnite valorant apex legends zelda hyrule "
    "mario kart smash bros hollow knight silksong hades dead cells stardew valley terraria factorio "
    "satisfactory overwatch dota league legends counter strike rocket league fall guys among portal "
    "half life cyberpunk witcher skyrim oblivion fallout starfield baldur gate divinity diablo path exile "
    "stream highlight clutch boss fight victory defeat funny moment collab charity marathon subathon "
    "tournament finals qualifier ranked casual chill cozy horror retro indie sponsor giveaway raid"
).split()
CODECS = [("h264", "aac"), ("hevc", "aac"), ("av1", "opus"), ("h264", "mp3")]


def rows(count: int, root: str, rng: random.Random) -> list[tuple[object, ...]]:
    out = []
    now = time.time()
    for index in range(count):
        words = rng.sample(WORDS, 3)
        name = f"{words[0].title()} {words[1]} {words[2]} {index:06d}.mkv"
        folder = f"{root}/{rng.choice(WORDS).title()}/{2020 + index % 5}/{1 + index % 12:02d}"
        video, audio = rng.choice(CODECS)
        tags = json.dumps(rng.sample(WORDS, 2))
        mtime = now - rng.uniform(0, 5 * 365 * 86400)
        out.append((
            f"{folder}/{name}", name, folder, "mkv", "bench", rng.randint(10**6, 10**10), mtime, int(mtime * 1e9),
            "ok", rng.uniform(10, 14400), "matroska", video, audio, 1920, 1080, 60.0, 6000000, 2, "[]",
            f"{rng.getrandbits(64):016x}", tags, "", "", now, now,
        ))  # fmt: skip
    return out


INSERT = (
    "INSERT INTO so_assets (path, name, folder, ext, drive, size, mtime, mtime_ns, status, duration, container,"
    " video_codec, audio_codec, width, height, fps, bit_rate, stream_count, streams, xxh64, tags, sidecar, captions,"
    " created, indexed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def queries(count: int, rng: random.Random) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for index in range(count):
        kind = index % 4
        if kind == 0 or kind == 1:
            out.append({"q": rng.choice(WORDS)[:3]})
        elif kind == 2:
            first, second = rng.sample(WORDS, 2)
            out.append({"q": f"{first[:3]} {second[:2]}"})
        else:
            out.append({"q": rng.choice(WORDS)[:3], "codec": "h264", "min_duration": "600", "since": "2022-01-01"})
    return out


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


async def main(row_count: int, query_count: int) -> None:
    rng = random.Random(42)
    with tempfile.TemporaryDirectory(prefix="bench-search-") as tmp:
        root = Path(tmp)
        (root / "config").mkdir()
        drive = (root / "drive").resolve()
        drive.mkdir()
        hub = Hub(root / "config", root / "data")
        assert await recorder_setup(hub, RECORDER_SCHEMA({}))
        db = hub.data[DATABASE]
        token = await create_token(db, "bench", KIND_OWNER)
        assert await http_setup(hub, HTTP_SCHEMA({"server_port": 0}))
        hub.config.allowed_dirs.append(drive)
        register_drive_root(hub, "bench", drive)
        assert await assets_setup(hub, CONFIG_SCHEMA({}))
        await hub.async_start()
        start = time.perf_counter()
        data = rows(row_count, str(drive), rng)
        for offset in range(0, len(data), 10_000):
            await db.executemany(INSERT, data[offset : offset + 10_000])
        await db.execute("INSERT INTO so_assets_fts (so_assets_fts) VALUES ('optimize')")
        await db.execute("INSERT INTO so_assets_words (so_assets_words) VALUES ('optimize')")
        print(f"inserted {row_count} asset rows (with FTS) in {time.perf_counter() - start:.1f} s")
        plan = queries(query_count, rng)
        index = hub.data[ASSETS]

        for params in plan[:50]:  # warm-up: page cache, FTS structures
            await index.search(dict(params))
        direct: list[float] = []
        for params in plan:
            t0 = time.perf_counter()
            await index.search(dict(params))
            direct.append(time.perf_counter() - t0)

        http: list[float] = []
        hits = 0
        url = hub.data[HTTP].url
        async with aiohttp.ClientSession(url, headers={"Authorization": f"Bearer {token}"}) as session:
            for params in plan[:20]:  # warm-up: connection, caches
                async with session.get("/api/assets", params=params) as response:
                    await response.read()
            for params in plan:
                t0 = time.perf_counter()
                async with session.get("/api/assets", params=params) as response:
                    body = await response.json()
                http.append(time.perf_counter() - t0)
                assert response.status == 200, body
                hits += body["total"] > 0
        await hub.async_stop()
        print(f"{query_count} queries ({hits} with results), 50 rows per page, total count included")
        print(f"direct AssetIndex.search: p50 {pct(direct, 50):6.2f} ms  p99 {pct(direct, 99):6.2f} ms")
        print(f"HTTP GET /api/assets:     p50 {pct(http, 50):6.2f} ms  p99 {pct(http, 99):6.2f} ms")
        print(f"ratio HTTP / direct (p50): {statistics.median(http) / statistics.median(direct):.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=1000)
    args = parser.parse_args()
    asyncio.run(main(args.rows, args.queries))
