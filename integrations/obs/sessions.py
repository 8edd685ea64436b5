"""Recording sessions (`so_sessions`) and the files they produced (`so_obs_files`).

A session is one press of Record: when, which scene/profile/collection/game, the markers dropped
during it and a summary of OBS's stats. Each finished file (the final one, every split part, every
saved replay) is a `so_obs_files` row pointing at its session, so `{Game}/{Scene}/{Profile}` for a
file resolve from what OBS was doing when that file was written.

A database failure is logged and never stops the events: the file hand-off to the drives and the
automations matters more than the bookkeeping.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePath
from typing import Any

from streamops.core import Hub
from streamops.recorder import DATABASE, Database

_LOGGER = logging.getLogger(__name__)

# Recently finished files, for path placeholders without a query (bounded).
_INDEX_SIZE = 2048


@dataclass
class Session:
    """The recording in progress (one per OBS instance)."""

    instance: str
    started: float
    scene: str | None
    profile: str | None
    collection: str | None
    game: str | None
    id: int | None = None
    markers: list[dict[str, Any]] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    current_file: str | None = None
    current_file_obs: str | None = None
    current_file_started: float | None = None
    metrics: dict[str, Any] = field(default_factory=dict)

    def variables(self) -> dict[str, Any]:
        return variables_for(self.game, self.scene, self.profile, self.started)


def variables_for(game: str | None, scene: str | None, profile: str | None, started: float | None) -> dict[str, Any]:
    """{Game} {Scene} {Profile} and the dates of the session start (local time, like OBS's names)."""
    result: dict[str, Any] = {"Game": game, "Scene": scene, "Profile": profile}
    if started:
        when = datetime.fromtimestamp(started)
        result |= {
            "YYYY": f"{when.year:04d}",
            "MM": f"{when.month:02d}",
            "DD": f"{when.day:02d}",
            "HH": f"{when.hour:02d}",
            "mm": f"{when.minute:02d}",
        }
    return {key: value for key, value in result.items() if value not in (None, "")}


class SessionStore:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self._index: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._by_stem: dict[str, dict[str, Any]] = {}
        self._warned: set[str] = set()

    @property
    def db(self) -> Database | None:
        return self.hub.data.get(DATABASE)

    async def _run(self, what: str, sql: str, params: tuple[Any, ...] | dict[str, Any]) -> int | None:
        db = self.db
        if db is None:
            return None
        try:
            return await db.execute(sql, params)
        except Exception as err:
            # Logged once per kind of statement, so a missing table does not flood the log.
            level = logging.DEBUG if what in self._warned else logging.ERROR
            self._warned.add(what)
            _LOGGER.log(level, "Could not %s in the database: %s", what, err)
            return None

    # -- sessions --------------------------------------------------------------------------------
    async def create(self, session: Session) -> None:
        session.id = await self._run(
            "create a session",
            "INSERT INTO so_sessions (obs_instance, started, scene, profile, collection, game, markers, metrics)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                session.instance,
                session.started,
                session.scene,
                session.profile,
                session.collection,
                session.game,
                json.dumps(session.markers),
                json.dumps(session.metrics),
            ),
        )

    async def save_progress(self, session: Session) -> None:
        """Markers, game and metrics so far (a crash mid-recording keeps them)."""
        if session.id is None:
            return
        await self._run(
            "update a session",
            "UPDATE so_sessions SET game = ?, markers = ?, metrics = ?, output_path = ? WHERE id = ?",
            (
                session.game,
                json.dumps(session.markers),
                json.dumps(session.metrics),
                session.current_file or (session.files[-1] if session.files else None),
                session.id,
            ),
        )

    async def finish(self, session: Session, ended: float, output_path: str | None) -> None:
        if session.id is None:
            return
        await self._run(
            "finish a session",
            "UPDATE so_sessions SET ended = ?, output_path = ?, game = ?, markers = ?, metrics = ? WHERE id = ?",
            (
                ended,
                output_path,
                session.game,
                json.dumps(session.markers),
                json.dumps(session.metrics),
                session.id,
            ),
        )

    async def open_session(self, instance: str) -> Session | None:
        """The newest unfinished session of an instance (hub restarted or OBS lost mid-recording)."""
        db = self.db
        if db is None:
            return None
        try:
            row = await db.fetchone(
                "SELECT id, started, scene, profile, collection, game, markers, metrics, output_path"
                " FROM so_sessions WHERE obs_instance = ? AND ended IS NULL ORDER BY started DESC LIMIT 1",
                (instance,),
            )
        except Exception as err:
            _LOGGER.debug("Could not look for an open session: %s", err)
            return None
        if row is None:
            return None
        session = Session(
            instance=instance,
            started=float(row["started"]),
            scene=row["scene"],
            profile=row["profile"],
            collection=row["collection"],
            game=row["game"],
            id=int(row["id"]),
            markers=_json_list(row["markers"]),
            metrics=_json_dict(row["metrics"]),
            current_file=row["output_path"],
        )
        session.files = [
            r["path"]
            for r in await self._fetchall(
                "SELECT path FROM so_obs_files WHERE session_id = ? ORDER BY id", (session.id,)
            )
        ]
        return session

    async def _fetchall(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        db = self.db
        if db is None:
            return []
        try:
            return await db.fetchall(sql, params)
        except Exception as err:
            _LOGGER.debug("Query failed: %s", err)
            return []

    # -- files -----------------------------------------------------------------------------------
    async def add_file(
        self,
        *,
        path: str,
        obs_path: str | None,
        kind: str,
        instance: str,
        session: Session | None,
        started: float | None,
        ended: float,
        scene: str | None,
        profile: str | None,
        collection: str | None,
        game: str | None,
    ) -> None:
        variables = variables_for(game, scene, profile, started or (session.started if session else None))
        self._remember(path, variables)
        await self._run(
            "record a file",
            "INSERT INTO so_obs_files (path, stem, obs_path, kind, obs_instance, session_id, started, ended,"
            " scene, profile, collection, game) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                path,
                _stem(path),
                obs_path,
                kind,
                instance,
                session.id if session else None,
                started,
                ended,
                scene,
                profile,
                collection,
                game,
            ),
        )

    def _remember(self, path: str, variables: dict[str, Any]) -> None:
        key = _key(path)
        self._index[key] = variables
        self._index.move_to_end(key)
        self._by_stem[_stem(path)] = variables
        while len(self._index) > _INDEX_SIZE:
            old_key, _ = self._index.popitem(last=False)
            self._by_stem.pop(_stem(old_key), None)

    async def path_variables(self, path: str) -> dict[str, Any] | None:
        """{Game}/{Scene}/{Profile}/{YYYY}… for a file OBS wrote, or a remux of it (same stem)."""
        hit = self._index.get(_key(path))
        if hit is not None:
            return hit
        select = (
            "SELECT f.game AS game, f.scene AS scene, f.profile AS profile, f.started AS started,"
            " s.started AS session_started, s.game AS session_game"
            " FROM so_obs_files f LEFT JOIN so_sessions s ON s.id = f.session_id"
        )
        rows = await self._fetchall(select + " WHERE f.path = ? ORDER BY f.id DESC LIMIT 1", (path,))
        if not rows:
            # A derived file (x.mkv → x.mov, or moved elsewhere) keeps the name OBS gave it.
            hit = self._by_stem.get(_stem(path))
            if hit is not None:
                return hit
            rows = await self._fetchall(select + " WHERE f.stem = ? ORDER BY f.id DESC LIMIT 1", (_stem(path),))
        if not rows:
            return None
        row = rows[0]
        return variables_for(
            row["game"] or row["session_game"], row["scene"], row["profile"], row["started"] or row["session_started"]
        )


def _key(path: str) -> str:
    return os.path.normcase(os.path.normpath(path))


def _stem(path: str) -> str:
    return PurePath(path.replace("\\", "/")).stem


def _json_list(text: Any) -> list[dict[str, Any]]:
    try:
        value = json.loads(text or "[]")
    except (TypeError, ValueError):
        return []
    return value if isinstance(value, list) else []


def _json_dict(text: Any) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def now() -> float:
    return time.time()
