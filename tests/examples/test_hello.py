"""The example service as a real process: its version, its switches for a bad version, and its
Prometheus metrics labelled with the version and server group."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "examples" / "hello" / "app.py"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _service(**env: str) -> Iterator[str]:
    port = _free_port()
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "PORT": str(port),
        "GENNAKER_SERVER_GROUP": "hello-web-v003",
        **env,
    }
    process = subprocess.Popen([sys.executable, str(APP)], env=environment, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(url + "/health", timeout=2).read()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(10)


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def _metrics(url: str) -> str:
    with urllib.request.urlopen(url + "/metrics", timeout=5) as response:
        return str(response.read().decode())


def test_a_good_version_answers_and_counts_per_version_and_server_group() -> None:
    with _service(VERSION="7") as url:
        codes = [_status(url + "/") for _ in range(5)]
        metrics = _metrics(url)
    assert codes == [200] * 5
    assert 'hello_requests_total{version="7",server_group="hello-web-v003",code="200"} 5' in metrics
    assert 'hello_request_duration_seconds_count{version="7",server_group="hello-web-v003"} 5' in metrics


def test_fail_percent_answers_500_to_that_share_but_health_stays_up() -> None:
    with _service(VERSION="2", FAIL_PERCENT="100") as url:
        codes = [_status(url + "/") for _ in range(4)]
        health = _status(url + "/health")
        metrics = _metrics(url)
    assert codes == [500] * 4
    assert health == 200
    assert 'code="500"} 4' in metrics


def test_delay_ms_makes_requests_slow_and_shows_in_the_histogram() -> None:
    with _service(VERSION="3", DELAY_MS="60") as url:
        _status(url + "/")
        metrics = _metrics(url)
    # A 60 ms wait cannot fit the 0.05 s bucket (however fast the machine): counted above it only.
    assert 'le="0.05"} 0' in metrics
    assert 'le="+Inf"} 1' in metrics


def test_a_bad_switch_value_stops_the_service_with_a_message() -> None:
    result = subprocess.run(
        [sys.executable, str(APP)],
        env={"PATH": os.environ.get("PATH", ""), "PORT": "0", "FAIL_PERCENT": "lots"},
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert result.returncode != 0
    assert "FAIL_PERCENT must be a percentage 0-100, got 'lots'" in result.stderr
