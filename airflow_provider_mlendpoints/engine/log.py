"""A tiny leveled logger over a ``log(str)`` callable (print, or an Airflow task logger's info)."""

from __future__ import annotations

from collections.abc import Callable

from .storage.base import display_key

LEVELS = {"debug": 10, "info": 20, "warning": 30}


class EngineLog:
    """Send messages at or above the deployment's ``logging_level`` to ``sink``."""

    def __init__(self, sink: Callable[[str], None] = print, level: str = "info") -> None:
        self.sink = sink
        self.level = LEVELS.get(str(level).lower(), 20)

    def _emit(self, level: int, message: str) -> None:
        if level >= self.level:
            self.sink(display_key(message))  # a file name that is not UTF-8 never breaks a log line

    def debug(self, message: str) -> None:
        self._emit(10, message)

    def info(self, message: str) -> None:
        self._emit(20, message)

    def warning(self, message: str) -> None:
        self._emit(30, message)
