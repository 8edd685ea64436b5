"""Names on the wire: streams, subjects, durable consumers, the broker port."""

from __future__ import annotations

PROTOCOL_VERSION = 1

# Jobs: work-queue retention, one subject per job type (`jobs.media.thumbnail`).
STREAM_JOBS = "STREAMOPS_JOBS"
JOBS_SUBJECT = "jobs"
# Results (started / done / error) from workers to the hub: durable, so a restarting hub misses nothing.
STREAM_RESULTS = "STREAMOPS_RESULTS"
RESULTS_SUBJECT = "results"
HUB_RESULTS_DURABLE = "hub"
# Plain NATS (losing one is harmless): progress, worker heartbeats, cancel requests.
PROGRESS_SUBJECT = "streamops.progress"
HEARTBEAT_SUBJECT = "streamops.workers"
CONTROL_SUBJECT = "streamops.control"

BROKER_PORT = 7768
DEFAULT_URL = f"nats://127.0.0.1:{BROKER_PORT}"

# The media types worth sending to another machine by default: CPU/GPU heavy, small outputs or
# long runs. Remux and file moves stay local (they are disk-bound next to the recording).
DEFAULT_REMOTE_TYPES = (
    "media.proxy",
    "media.thumbnail",
    "media.sprite",
    "media.hover",
    "media.waveform",
    "media.transcode",
    "media.transcode_gpu",
    "media.clip_accurate",
    "media.social_export",
    "media.scenes",
)

SENSOR_STATUS = "sensor.remote_workers"
RESOURCE_REMOTE = "remote"


def job_subject(job_type: str) -> str:
    return f"{JOBS_SUBJECT}.{job_type}"


def consumer_name(job_type: str) -> str:
    """Durable consumer per job type (JetStream names may not contain dots)."""
    return "jobs_" + job_type.replace(".", "_").replace("-", "_")


def result_subject(job_id: int) -> str:
    return f"{RESULTS_SUBJECT}.{job_id}"


def worker_entity_id(name: str) -> str:
    return f"sensor.worker_{name}"
