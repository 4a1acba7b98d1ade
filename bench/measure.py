"""Run one stage for the benchmark and note its times and peak memory.

    python bench/measure.py LOG stages/<stage>.py ARGS...

bench/run.py runs `make report` with PY="python bench/measure.py LOG", so every recipe of
the Makefile calls this instead of the interpreter: the stage runs as its own child
process with the recipe's arguments, its exit status is passed on, and one JSON line
(stage, start, wall, CPU, peak RSS of that process) is appended to LOG.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path


def main() -> int:
    log, argv = sys.argv[1], [sys.executable, *sys.argv[2:]]
    started, clock = time.time(), time.perf_counter()
    pid = os.posix_spawn(sys.executable, argv, os.environ)
    with open(f"{log}.pids", "a", encoding="utf-8") as out:  # for bench/run.py's sampler
        out.write(f"{pid}\n")
    _, status, usage = os.wait4(pid, 0)
    record = {
        "stage": Path(argv[1]).stem,
        "started": started,
        "wall_seconds": time.perf_counter() - clock,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024,  # ru_maxrss is in KiB
        "exit_status": os.waitstatus_to_exitcode(status),
    }
    # One short write in append mode: lines of stages running at once do not mix.
    with open(log, "a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\n")
    code = record["exit_status"]
    return code if code >= 0 else 128 - code  # killed by a signal: as a shell reports it


if __name__ == "__main__":
    sys.exit(main())
