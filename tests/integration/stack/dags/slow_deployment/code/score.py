"""Scoring script of the stack tests: one row ``<file name> <content>`` per file, slowly."""

import os
import time

DELAY = 0.0


def init():
    global DELAY
    DELAY = float(os.environ.get("SLOW_SECONDS_PER_FILE", "0.4"))


def run(mini_batch):
    rows = []
    for path in mini_batch:
        time.sleep(DELAY)
        with open(path, encoding="utf-8") as handle:
            rows.append(f"{os.path.basename(path)} {handle.read().strip()}")
    return rows
