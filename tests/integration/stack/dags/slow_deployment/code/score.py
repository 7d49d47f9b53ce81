"""Scoring script of the stack tests: one row ``<file name> <content>`` per file, slowly.

With ``BARRIER_DIR`` set, init() also waits until ``BARRIER_PROCESSES`` scoring processes
have started (each leaves a file named by its pid there), and raises after
``BARRIER_SECONDS``: the run then succeeds only if that many processes ran at the same time.
"""

import os
import time

DELAY = 0.0


def _barrier(folder, processes, seconds):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, str(os.getpid())), "w", encoding="utf-8") as handle:
        handle.write("started\n")
    deadline = time.monotonic() + seconds
    while len(os.listdir(folder)) < processes:
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"only {len(os.listdir(folder))} of {processes} scoring processes started within "
                f"{seconds:g} s: the score tasks did not run at the same time"
            )
        time.sleep(0.1)


def init():
    global DELAY
    DELAY = float(os.environ.get("SLOW_SECONDS_PER_FILE", "0.4"))
    if os.environ.get("BARRIER_DIR"):
        _barrier(os.environ["BARRIER_DIR"], int(os.environ.get("BARRIER_PROCESSES", "2")),
                 float(os.environ.get("BARRIER_SECONDS", "120")))


def run(mini_batch):
    rows = []
    for path in mini_batch:
        time.sleep(DELAY)
        with open(path, encoding="utf-8") as handle:
            rows.append(f"{os.path.basename(path)} {handle.read().strip()}")
    return rows
