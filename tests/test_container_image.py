"""The real image: build container/Dockerfile and run it (podman + runc, host network), then check what
a user relies on — /health/live answers, the HEALTHCHECK passes, the hub runs as uid 1000, nats-server
runs with NATS_ENABLE=true, `streamops backup` works inside, `docker stop` ends cleanly.

Slow (minutes for a cold build), so it runs only with STREAMOPS_CONTAINER_TESTS=1 and when podman and
the build recipe are there: STREAMOPS_OCI (default /work/shared/recipes/oci.sh) is a script with the
interface `build CONTEXT TAG DOCKERFILE`, `run TAG NAME ARGS...`, `stop NAME`, `podman ARGS...`
(it supplies the base image: `--build-arg BASE=...`). See docs/container.md.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OCI = Path(os.environ.get("STREAMOPS_OCI", "/work/shared/recipes/oci.sh"))
TAG = "localhost/streamops:citest"
NAME = "streamops-citest"

pytestmark = [
    pytest.mark.timeout(1800),
    pytest.mark.skipif(
        os.environ.get("STREAMOPS_CONTAINER_TESTS") != "1",
        reason="container image test: set STREAMOPS_CONTAINER_TESTS=1 (builds the image: minutes)",
    ),
    pytest.mark.skipif(shutil.which("podman") is None or not OCI.exists(), reason=f"needs podman and {OCI}"),
]


def oci(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BUILDAH_FORMAT": "docker"}  # docker format keeps HEALTHCHECK
    result = subprocess.run([str(OCI), *args], capture_output=True, text=True, env=env, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"oci.sh {' '.join(args)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _wait_http(url: str, timeout: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return time.monotonic() - start
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"{url} did not answer within {timeout} s:\n{oci('podman', 'logs', NAME, check=False).stdout}")


@pytest.fixture(scope="module")
def image() -> Iterator[str]:
    start = time.monotonic()
    oci("build", str(ROOT), TAG, str(ROOT / "container" / "Dockerfile"), timeout=1700)
    print(f"image built in {time.monotonic() - start:.0f} s")
    yield TAG


def test_image_runs_hub_and_broker_answers_health_and_stops_cleanly(image: str, tmp_path: Path) -> None:
    if not (_port_free(7767) and _port_free(7768)):
        pytest.skip("ports 7767/7768 are in use on this host (the container uses host networking)")
    data = tmp_path / "data"
    data.mkdir()
    try:
        oci("run", image, NAME, "-v", f"{data}:/data", "-e", "NATS_ENABLE=true")
        print(f"/health/live after {_wait_http('http://127.0.0.1:7767/health/live', 120):.1f} s")
        assert oci("podman", "healthcheck", "run", NAME, check=False).returncode == 0
        top = oci("podman", "top", NAME, "user", "args").stdout
        assert any(line.startswith("streamops") and "streamops run" in line for line in top.splitlines()), top
        assert "nats-server" in top, top
        with socket.create_connection(("127.0.0.1", 7768), timeout=5):
            pass
        backup = oci("podman", "exec", "-u", "1000", NAME, "streamops", "backup", "--json").stdout
        assert '"path": "/data/backup/' in backup
        assert {"config", "db", "logs", "cache", "thumbs", "backup"} <= {p.name for p in data.iterdir()}
        assert (data / "db" / "streamops.db").stat().st_uid == 1000
        start = time.monotonic()
        oci("podman", "stop", "-t", "30", NAME)  # docker stop: SIGTERM, then 30 s grace
        print(f"stopped in {time.monotonic() - start:.1f} s")
        logs = oci("podman", "logs", NAME, check=False)
        state = oci("podman", "inspect", NAME, "--format", "{{.State.ExitCode}}").stdout.strip()
        assert state == "0", state
    finally:
        oci("stop", NAME, check=False)
    text = logs.stdout + logs.stderr
    assert "stopped: hub (exit status 0)" in text, text[-4000:]
    assert not (data / "db" / "streamops.db-wal").exists()
