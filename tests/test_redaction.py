"""Secrets in service data never reach stored history or traces; odd paths never crash the path check."""

from __future__ import annotations

from streamops.core import Hub, ServiceCall
from streamops.helpers.redact import REDACTED, redact
from streamops.recorder import DATABASE, RECORDER


def test_redact_masks_secret_looking_keys_at_any_depth() -> None:
    data = {"url": "rtmp://x", "stream_key": "live_123", "nested": [{"password": "pw", "api_key": "k"}], "token": ""}
    assert redact(data) == {
        "url": "rtmp://x",
        "stream_key": REDACTED,
        "nested": [{"password": REDACTED, "api_key": REDACTED}],
        "token": "",
    }


async def test_call_service_history_and_traces_are_stored_without_secrets(db_hub: Hub) -> None:
    async def hook(call: ServiceCall) -> None:
        return None

    db_hub.services.async_register("shell", "run", hook)
    await db_hub.services.async_call("shell", "run", {"command": "upload", "variables": {"token": "s3cr3t-value"}})
    recorder = db_hub.data[RECORDER]
    await recorder.save_trace("a", "run1", 1.0, 2.0, "finished", {"platform": "event"},
                              {"steps": [{"data": {"password": "s3cr3t-value"}}]})  # fmt: skip
    await db_hub.async_block_till_done()
    await recorder.flush()
    db = db_hub.data[DATABASE]
    events = await db.fetchall("SELECT data FROM so_events WHERE event_type = 'call_service'")
    traces = await db.fetchall("SELECT trace FROM so_traces")
    assert events and traces
    stored = "".join(row["data"] for row in events) + "".join(row["trace"] for row in traces)
    assert "s3cr3t-value" not in stored and REDACTED in stored


def test_nul_byte_is_simply_not_allowed(hub: Hub, tmp_path) -> None:
    hub.config.allowed_dirs.append(tmp_path)
    assert not hub.config.is_allowed_path(f"{tmp_path}/a\x00b.mkv")
