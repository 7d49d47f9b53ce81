"""Value coercion shared by the YAML loader and by overrides.

Each function takes a value as found in YAML (or a string from the command
line), returns the normalized value, or raises :class:`~.errors.Invalid`
saying what was expected. No function here knows about files or paths.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import Invalid

# Same units as the engine (engine/minibatch.py): KB/MB/GB/TB decimal, KiB/MiB/GiB/TiB binary.
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|[KMGT]I?B)\s*$", re.IGNORECASE)
_ISO_SECONDS = re.compile(
    r"^P(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$", re.IGNORECASE
)
_UNITS = {
    "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
    "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40,
}  # fmt: skip

OUTPUT_ACTIONS = {"appendrow": "append_row", "summaryonly": "summary_only"}
LOGGING_LEVELS = {"warning": "warning", "warn": "warning", "info": "info", "debug": "debug"}
AUTH_MODES = {"key": "key", "amltoken": "aml_token", "aadtoken": "aad_token"}
SCALE_TYPES = {
    "default": "default",
    "manual": "default",
    "targetutilization": "target_utilization",
    "auto": "target_utilization",
}


def _squash(text: str) -> str:
    return text.strip().lower().replace("_", "").replace("-", "")


def integer(value: Any, *, minimum: int | None = None, expected: str | None = None) -> int:
    """An integer (or a string of digits), at least ``minimum``."""
    want = expected or ("an integer" if minimum is None else f"an integer >= {minimum}")
    if isinstance(value, bool):
        raise Invalid(want)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
        value = int(value)
    if not isinstance(value, int):
        raise Invalid(want)
    if minimum is not None and value < minimum:
        raise Invalid(want)
    return value


def positive_int(value: Any) -> int:
    """An integer >= 1."""
    return integer(value, minimum=1, expected="a positive integer")


def non_negative_int(value: Any) -> int:
    """An integer >= 0."""
    return integer(value, minimum=0, expected="a non-negative integer")


def error_threshold(value: Any) -> int:
    """-1 (never fail) or a count of failed items >= 0."""
    return integer(value, minimum=-1, expected="an integer >= -1 (-1 means no limit)")


MINI_BATCH_EXPECTED = 'a positive integer or a size like "10MB"'


def mini_batch_size(value: Any) -> int | str:
    """Files per mini-batch (an int), or a size string for tabular input, kept as given."""
    if isinstance(value, str) and _SIZE.match(value):
        if size_in_bytes(value) <= 0:
            raise Invalid(MINI_BATCH_EXPECTED)
        return value.strip()
    return integer(value, minimum=1, expected=MINI_BATCH_EXPECTED)


def size_in_bytes(value: int | str) -> int:
    """Bytes of a size string like "10MB" (10**7) or "1MiB" (2**20); an int is returned unchanged."""
    if isinstance(value, int):
        return value
    match = _SIZE.match(value)
    if not match:
        raise Invalid(MINI_BATCH_EXPECTED)
    return int(float(match.group(1)) * _UNITS[match.group(2).upper()])


def seconds(value: Any) -> int:
    """A positive number of seconds: an integer, a string of digits, or ISO 8601 ("PT30S")."""
    want = 'a positive number of seconds (or ISO 8601 like "PT30S")'
    if isinstance(value, str):
        match = _ISO_SECONDS.match(value.strip())
        if match and any(match.groupdict().values()):
            parts = {k: float(v or 0) for k, v in match.groupdict().items()}
            total = parts["d"] * 86400 + parts["h"] * 3600 + parts["m"] * 60 + parts["s"]
            if total <= 0:
                raise Invalid(want)
            return int(round(total))
    return integer(value, minimum=1, expected=want)


def iso_duration(total_seconds: float) -> str:
    """ISO 8601 duration for a number of seconds: 30 -> "PT30S", 0.5 -> "PT0.5S"."""
    if float(total_seconds).is_integer():
        return f"PT{int(total_seconds)}S"
    return f"PT{total_seconds:g}S"


def _choice(value: Any, table: dict[str, str], expected: str) -> str:
    if not isinstance(value, str) or _squash(value) not in table:
        raise Invalid(expected)
    return table[_squash(value)]


def output_action(value: Any) -> str:
    """append_row or summary_only (accepts AppendRow, append-row, ...)."""
    return _choice(value, OUTPUT_ACTIONS, "one of append_row, summary_only")


def logging_level(value: Any) -> str:
    """warning, info or debug, any case."""
    return _choice(value, LOGGING_LEVELS, "one of warning, info, debug")


def auth_mode(value: Any) -> str:
    """key, aml_token or aad_token (accepts Key, AMLToken, AADToken)."""
    return _choice(value, AUTH_MODES, "one of key, aml_token, aad_token")


def scale_type(value: Any) -> str:
    """default or target_utilization (2021-05 "manual" means default)."""
    return _choice(value, SCALE_TYPES, "one of default, target_utilization")


def text(value: Any, *, expected: str = "a string") -> str:
    """A non-empty string; numbers are accepted and turned into strings."""
    if isinstance(value, bool) or value is None:
        raise Invalid(expected)
    if isinstance(value, int | float):
        return str(value)
    if not isinstance(value, str) or not value.strip():
        raise Invalid(expected)
    return value


def version(value: Any) -> str:
    """An asset version: a string or a number, kept as a string."""
    return text(value, expected="a version (a string or a number)")


def file_name(value: Any) -> str:
    """A plain file name, no folders."""
    want = 'a file name like "predictions.csv" (no folders)'
    name = text(value, expected=want)
    if "/" in name or "\\" in name or name in (".", ".."):
        raise Invalid(want)
    return name


def scalar_text(value: Any) -> str:
    """A scalar as the string Azure would see (true/false for booleans)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise Invalid("a string, a number or a boolean")


def boolean(value: Any) -> bool:
    """true/false, also from the strings "true", "false", "yes", "no", "1", "0"."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "yes", "1", "false", "no", "0"):
        return value.strip().lower() in ("true", "yes", "1")
    raise Invalid("true or false")
