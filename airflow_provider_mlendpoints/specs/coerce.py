"""Value coercion shared by the YAML loader and by overrides.

Each function takes a value as found in YAML (or a string from the command
line), returns the normalized value, or raises :class:`~.errors.Invalid`
saying what was expected. No function here knows about files or paths.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

from .errors import Invalid
from .model import AuthMode, LoggingLevel, OutputAction

Choice = TypeVar("Choice", bound=str)

# Same units as the engine (engine/minibatch.py): KB/MB/GB/TB decimal, KiB/MiB/GiB/TiB binary.
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|[KMGT]I?B)\s*$", re.IGNORECASE)
_ISO_SECONDS = re.compile(
    r"^P(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$", re.IGNORECASE
)
_UNITS = {
    "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
    "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40,
}  # fmt: skip

INT32_MAX = 2**31 - 1
"""Largest integer Azure's REST API takes in these fields (they are 32-bit)."""
MAX_CONCURRENCY = 1000
"""Most scoring processes per instance (each one is a process running ``init()``)."""
MAX_TIMEOUT_SECONDS = 7 * 24 * 3600
"""Longest mini-batch timeout accepted (a week)."""
MAX_FILE_NAME_BYTES = 255
"""Longest output file name (file systems store at most 255 bytes per name)."""
RESERVED_FILE_NAMES = ("_mlendpoints",)
"""Names the engine keeps for itself below the output (engine/layout.py ``STATE_DIR``)."""
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Azure's rule for endpoint names (azure-ai-ml validate_endpoint_or_deployment_name): 3-32
# characters, a letter first, letters, digits and hyphens, a letter or digit last.
_ENDPOINT_NAME = re.compile(r"^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$")
# The REST API's rule for deployment names (path parameter pattern of the 2024-04-01 spec).
_DEPLOYMENT_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9\-_]{0,254}$")

OUTPUT_ACTIONS: dict[str, OutputAction] = {"appendrow": "append_row", "summaryonly": "summary_only"}
LOGGING_LEVELS: dict[str, LoggingLevel] = {"warning": "warning", "warn": "warning", "info": "info", "debug": "debug"}
AUTH_MODES: dict[str, AuthMode] = {"key": "key", "amltoken": "aml_token", "aadtoken": "aad_token"}
SCALE_TYPES = {
    "default": "default",
    "manual": "default",
    "targetutilization": "target_utilization",
    "auto": "target_utilization",
}


def _squash(text: str) -> str:
    return text.strip().lower().replace("_", "").replace("-", "")


def integer(
    value: Any, *, minimum: int | None = None, maximum: int = INT32_MAX, expected: str | None = None
) -> int:
    """An integer (or a string of digits), at least ``minimum`` and at most ``maximum``."""
    want = expected or ("an integer" if minimum is None else f"an integer >= {minimum}")
    if isinstance(value, bool):
        raise Invalid(want)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d{1,30}\s*", value):
        value = int(value)
    if not isinstance(value, int):
        raise Invalid(want)
    if minimum is not None and value < minimum:
        raise Invalid(want)
    if value > maximum:
        raise Invalid(f"{want} of at most {maximum}")
    return value


def positive_int(value: Any) -> int:
    """An integer >= 1."""
    return integer(value, minimum=1, expected="a positive integer")


def concurrency(value: Any) -> int:
    """Scoring processes per instance: 1 to :data:`MAX_CONCURRENCY`."""
    return integer(value, minimum=1, maximum=MAX_CONCURRENCY, expected="a positive integer")


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
    if isinstance(value, str) and len(value) <= 40:
        match = _ISO_SECONDS.match(value.strip())
        if match and any(match.groupdict().values()):
            parts = {k: float(v or 0) for k, v in match.groupdict().items()}
            total = parts["d"] * 86400 + parts["h"] * 3600 + parts["m"] * 60 + parts["s"]
            if total <= 0:
                raise Invalid(want)
            if total < 1:
                raise Invalid(want, f"expected at least 1 second, found {value.strip()!r} (sub-second durations are not supported)")
            if total > MAX_TIMEOUT_SECONDS:
                raise Invalid(f"{want} of at most {MAX_TIMEOUT_SECONDS}")
            return int(round(total))
    if isinstance(value, float) and 0 < value < 1:
        raise Invalid(want, f"expected at least 1 second, found {value!r} (sub-second durations are not supported)")
    return integer(value, minimum=1, maximum=MAX_TIMEOUT_SECONDS, expected=want)


def iso_duration(total_seconds: float) -> str:
    """ISO 8601 duration for a number of seconds: 30 -> "PT30S", 0.5 -> "PT0.5S"."""
    if float(total_seconds).is_integer():
        return f"PT{int(total_seconds)}S"
    return f"PT{total_seconds:g}S"


def _choice(value: Any, table: dict[str, Choice], expected: str) -> Choice:
    if not isinstance(value, str) or _squash(value) not in table:
        raise Invalid(expected)
    return table[_squash(value)]


def output_action(value: Any) -> OutputAction:
    """append_row or summary_only (accepts AppendRow, append-row, ...)."""
    return _choice(value, OUTPUT_ACTIONS, "one of append_row, summary_only")


def logging_level(value: Any) -> LoggingLevel:
    """warning, info or debug, any case."""
    return _choice(value, LOGGING_LEVELS, "one of warning, info, debug")


def auth_mode(value: Any) -> AuthMode:
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
    if "/" in name or "\\" in name or name in (".", "..") or _CONTROL.search(name):
        raise Invalid(want)
    if name.strip().lower() in RESERVED_FILE_NAMES:
        raise Invalid(want, f"{name!r} is reserved for the engine's own files; choose another name")
    if len(name.encode("utf-8")) > MAX_FILE_NAME_BYTES:
        raise Invalid(want, f"expected a file name of at most {MAX_FILE_NAME_BYTES} bytes, found {len(name.encode('utf-8'))}")
    return name


def _is_placeholder(value: str) -> bool:
    """``{{ENDPOINT_NAME}}`` or ``<endpoint_name>``: filled in later (published examples use both)."""
    return "{{" in value or bool(re.fullmatch(r"<[^<>]+>", value.strip()))


def endpoint_name(value: Any) -> str:
    """An endpoint name as Azure accepts it: 3-32 characters, a letter first, letters, digits, hyphens."""
    want = "an endpoint name of 3-32 letters, digits and hyphens, starting with a letter and not ending with a hyphen"
    name = text(value, expected=want)
    if not _is_placeholder(name) and (not 3 <= len(name) <= 32 or not _ENDPOINT_NAME.match(name)):
        raise Invalid(want)
    return name


def deployment_name(value: Any) -> str:
    """A deployment name as Azure's REST API accepts it: up to 255 letters, digits, ``-`` and ``_``."""
    want = "a deployment name of up to 255 letters, digits, hyphens and underscores, starting with a letter or digit"
    name = text(value, expected=want)
    if not _is_placeholder(name) and not _DEPLOYMENT_NAME.match(name):
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
