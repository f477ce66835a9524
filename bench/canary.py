"""Judge speed: NetflixACAJudge-v1.0 on 100 metrics of 1,440 points per side (a day at one-minute
steps), the target being under 100 ms. Three mixes of data: continuous (latency-like), integer counts
with heavy ties (request and error counts) and half of the metrics shifted (a bad canary).
Run: .venv/bin/python bench/canary.py"""

from __future__ import annotations

import platform
import statistics
import sys
import time
from typing import Any

import numpy as np

from gennaker.canary.judge import judge

METRICS = 100
POINTS = 1_440
ROUNDS = 7


def _case(kind: str, seed: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    rng = np.random.default_rng(seed)
    metrics, pairs = [], []
    for i in range(METRICS):
        name = f"metric-{i}"
        if kind == "counts":
            control = rng.poisson(4, POINTS).astype(float)
            experiment = rng.poisson(4, POINTS).astype(float)
        else:
            control = rng.normal(100, 15, POINTS)
            shift = 8.0 if kind == "shifted" and i % 2 else 0.0
            experiment = rng.normal(100 + shift, 15, POINTS)
        metrics.append({"name": name, "query": {"type": "memory"}, "groups": [f"g{i % 4}"]})
        pairs.append(
            {
                "name": name,
                "id": str(i),
                "tags": {},
                "values": {"control": control.tolist(), "experiment": experiment.tolist()},
            }
        )
    return {"name": "bench", "metrics": metrics, "classifier": {"groupWeights": {}}}, pairs


def main() -> None:
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, {platform.machine()}")
    print(f"{METRICS} metrics x {POINTS} points per side, best and median of {ROUNDS} runs")
    for kind in ("continuous", "counts", "shifted"):
        config, pairs = _case(kind, 42)
        times, cpu = [], []
        for _ in range(ROUNDS):
            started, started_cpu = time.perf_counter(), time.process_time()
            result = judge(config, pairs, 75, 50)
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
        # CPU time next to wall time: on a shared machine the wall clock also counts other processes.
        print(
            f"  {kind:<11} wall best {min(times):6.1f} ms, median {statistics.median(times):6.1f} ms;"
            f" cpu best {min(cpu):6.1f} ms   score {result['score']['score']}"
        )


if __name__ == "__main__":
    main()
