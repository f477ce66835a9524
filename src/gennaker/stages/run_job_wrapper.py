"""The launcher of a local job: ``python -I run_job_wrapper.py <job dir>`` (run as a script, standard
library only, so it works whatever the job's environment).

The worker starts it in a new session; it forks at once and the first process exits, so the job
is not a child of the worker (a worker restart neither kills it nor leaves a zombie) and keeps the
session's process group, which cancel and the runtime limit kill as a whole. The second process
writes ``pid.json``, runs ``spec.json``'s argv with the files it was given as stdin/stdout/stderr,
and writes ``result.json`` (``{exitCode, signal?, error?}``) atomically when the command ends.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def _write(path: Path, data: dict[str, Any]) -> None:
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(data))
    os.replace(partial, path)


def run(job_dir: Path) -> None:
    """Run the job described in ``job_dir/spec.json``; the exit code goes to result.json."""
    spec = json.loads((job_dir / "spec.json").read_text())
    _write(job_dir / "pid.json", {"pid": os.getpid(), "pgid": os.getpgrp()})
    stdin_path = spec.get("stdin")
    try:
        with open(stdin_path or os.devnull, "rb") as stdin:
            process = subprocess.Popen(spec["argv"], cwd=spec.get("cwd"), stdin=stdin)
    except OSError as exc:
        code = 127 if isinstance(exc, FileNotFoundError) else 126
        reason = exc.strerror or str(exc)
        _write(
            job_dir / "result.json", {"exitCode": code, "error": f"Cannot run {spec['argv'][0]!r}: {reason}"}
        )
        return
    code = process.wait()
    result: dict[str, Any] = {"exitCode": code}
    if code < 0:
        result = {"exitCode": 128 - code, "signal": -code}
    _write(job_dir / "result.json", result)


def main() -> None:
    """Detach (fork, first process exits), then run."""
    job_dir = Path(sys.argv[1])
    if os.fork() > 0:
        os._exit(0)
    try:
        run(job_dir)
    except BaseException as exc:  # record why, so the stage fails with a reason
        try:
            _write(job_dir / "result.json", {"exitCode": 1, "error": f"The job launcher failed: {exc!r}"})
        except OSError:
            pass
    os._exit(0)


if __name__ == "__main__":
    main()
