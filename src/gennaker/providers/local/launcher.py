"""Starts one instance detached: ``python -I launcher.py <spec.json>`` (standard library only).

Gennaker starts it in a new session; it forks, the first process prints the child's pid and
exits, so the instance is no child of Gennaker (stopping or restarting Gennaker neither stops it
nor leaves a zombie) and leads nothing but its own process group. The child writes ``pid.json``
(pid and kernel start time) before it execs the command, with stdout and stderr appended to the
instance's log files, so a Gennaker that died right after the spawn still finds the process.
"""

from __future__ import annotations

import json
import os
import sys


def _start_time(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as handle:
        text = handle.read()
    return int(text[text.rfind(")") + 2 :].split()[19])


def main() -> None:
    """Fork; the child records itself and execs the instance's command."""
    with open(sys.argv[1]) as handle:
        spec = json.load(handle)
    child = os.fork()
    if child > 0:
        print(child, flush=True)
        os._exit(0)
    try:
        os.setpgid(0, 0)
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
        out = os.open(spec["stdout"], flags, 0o644)
        err = os.open(spec["stderr"], flags, 0o644)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out, 1)
        os.dup2(err, 2)
        os.chdir(spec["cwd"])
        pid = os.getpid()
        partial = spec["pidFile"] + ".partial"
        with open(partial, "w") as handle:
            json.dump({"pid": pid, "pidStart": _start_time(pid)}, handle)
        os.replace(partial, spec["pidFile"])
        os.execvpe(spec["argv"][0], spec["argv"], spec["env"])
    except BaseException as exc:  # the reason lands in the instance's stderr log
        os.write(2, f"gennaker: cannot start {spec['argv'][0]!r}: {exc}\n".encode())
        os._exit(127)


if __name__ == "__main__":
    main()
