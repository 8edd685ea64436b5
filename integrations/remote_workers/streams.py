"""Creating the JetStream streams and consumers (idempotent: hub and workers both call it).

Whoever connects first creates them; an existing stream or consumer is used as it is, so a hub and
a worker with different `ack_wait` settings do not fight (the first one's value stays; the log says so).
"""

from __future__ import annotations

import logging

from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from .const import (
    HUB_RESULTS_DURABLE,
    JOBS_SUBJECT,
    RESULTS_SUBJECT,
    STREAM_JOBS,
    STREAM_RESULTS,
    consumer_name,
    job_subject,
)

_LOGGER = logging.getLogger(__name__)

DUPLICATE_WINDOW = 600.0  # seconds: a re-published attempt within this window is stored once
RESULTS_MAX_AGE = 7 * 86400.0


async def ensure_streams(js: JetStreamContext) -> None:
    """The work-queue stream for jobs and the stream the hub reads results from."""
    wanted = (
        StreamConfig(
            name=STREAM_JOBS,
            subjects=[f"{JOBS_SUBJECT}.>"],
            retention=RetentionPolicy.WORK_QUEUE,
            storage=StorageType.FILE,
            duplicate_window=DUPLICATE_WINDOW,
        ),
        StreamConfig(
            name=STREAM_RESULTS,
            subjects=[f"{RESULTS_SUBJECT}.>"],
            retention=RetentionPolicy.WORK_QUEUE,
            storage=StorageType.FILE,
            duplicate_window=DUPLICATE_WINDOW,
            max_age=RESULTS_MAX_AGE,
        ),
    )
    for config in wanted:
        try:
            await js.stream_info(config.name or "")
        except NotFoundError:
            await js.add_stream(config)
            _LOGGER.info("Created JetStream stream %s", config.name)


async def ensure_job_consumer(js: JetStreamContext, job_type: str, ack_wait: float) -> str:
    """The durable pull consumer every worker accepting `job_type` shares; returns its name."""
    durable = consumer_name(job_type)
    try:
        info = await js.consumer_info(STREAM_JOBS, durable)
        if info.config.ack_wait is not None and abs(float(info.config.ack_wait) - ack_wait) > 0.01:
            _LOGGER.info(
                "Consumer %s exists with ack_wait %.1f s (configured %.1f s): keeping the existing one",
                durable,
                info.config.ack_wait,
                ack_wait,
            )
    except NotFoundError:
        await js.add_consumer(
            STREAM_JOBS,
            ConsumerConfig(
                durable_name=durable,
                filter_subject=job_subject(job_type),
                ack_policy=AckPolicy.EXPLICIT,
                deliver_policy=DeliverPolicy.ALL,
                ack_wait=ack_wait,
                max_deliver=-1,
                max_ack_pending=10_000,
            ),
        )
    return durable


async def ensure_results_consumer(js: JetStreamContext) -> str:
    try:
        await js.consumer_info(STREAM_RESULTS, HUB_RESULTS_DURABLE)
    except NotFoundError:
        await js.add_consumer(
            STREAM_RESULTS,
            ConsumerConfig(
                durable_name=HUB_RESULTS_DURABLE,
                filter_subject=f"{RESULTS_SUBJECT}.>",
                ack_policy=AckPolicy.EXPLICIT,
                deliver_policy=DeliverPolicy.ALL,
                ack_wait=30.0,
                max_deliver=-1,
            ),
        )
    return HUB_RESULTS_DURABLE
