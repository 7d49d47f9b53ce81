"""A JSON reader as lenient as the Azure ML service's, and as strict where it must be.

The service (ASP.NET / Newtonsoft) takes bodies that Python's ``json`` refuses,
and Microsoft's own REST walkthroughs send them:

- trailing commas before ``}`` or ``]`` (``{"miniBatchSize": "5",}``);
- raw control characters inside strings (a conda file pasted into ``condaFile``
  with its newlines and tabs unescaped);
- a UTF-8 byte order mark.

What it refuses, each as a :class:`JsonReadError` (the emulator answers 400 and
stores nothing): anything else that is not JSON, ``NaN`` / ``Infinity`` (they
cannot be written back as JSON), and nesting deeper than :data:`MAX_DEPTH`.
"""

from __future__ import annotations

import json
from typing import Any

#: Deepest nesting of objects and arrays accepted (Newtonsoft's default MaxDepth is 64).
MAX_DEPTH = 64


class JsonReadError(ValueError):
    """The body is not JSON the service would take (the message says where and why)."""


def _strip_trailing_commas(text: str) -> str:
    """``text`` without the commas that directly precede ``}`` or ``]`` (outside strings);
    JsonReadError when objects and arrays nest deeper than :data:`MAX_DEPTH`."""
    out: list[str] = []
    depth = 0
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == '"':  # a string is copied whole: its commas and brackets are text
            end = _string_end(text, i)
            out.append(text[i:end])
            i = end
            continue
        if ch in "{[":
            depth += 1
            if depth > MAX_DEPTH:
                raise JsonReadError(f"The request body is not valid JSON: it nests deeper than {MAX_DEPTH} levels (at character {i}).")
        elif ch in "}]":
            depth -= 1
        elif ch == "," and _closes_next(text, i + 1):
            i += 1  # drop the trailing comma, keep the whitespace
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _string_end(text: str, start: int) -> int:
    """The index just past the string literal whose opening quote is at ``start`` (``len(text)`` if unclosed)."""
    i, n = start + 1, len(text)
    while i < n:
        if text[i] == "\\":
            i += 2  # the escaped character, whatever it is
        elif text[i] == '"':
            return i + 1
        else:
            i += 1
    return n


def _closes_next(text: str, start: int) -> bool:
    """Whether the first character from ``start`` that is not white space closes an object or array."""
    i, n = start, len(text)
    while i < n and text[i] in " \t\r\n":
        i += 1
    return i < n and text[i] in "}]"


def _refuse_constant(name: str) -> Any:
    raise JsonReadError(f"The request body is not valid JSON: '{name}' is not a JSON number; send a number or null.")


def _parse_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise JsonReadError(f"The request body is not valid JSON: the number {text} is out of range.")
    return value


def loads(raw: bytes | str) -> Any:
    """Parse a request body leniently (see the module docstring); JsonReadError when it is not JSON."""
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise JsonReadError(f"The request body is not valid JSON: it is not UTF-8 text (byte {exc.start}).") from exc
    else:
        text = raw.removeprefix("\ufeff")
    cleaned = _strip_trailing_commas(text)
    try:
        return json.loads(cleaned, strict=False, parse_constant=_refuse_constant, parse_float=_parse_float)
    except JsonReadError:
        raise
    except RecursionError as exc:
        raise JsonReadError(f"The request body is not valid JSON: it nests deeper than {MAX_DEPTH} levels.") from exc
    except ValueError as exc:
        raise JsonReadError(f"The request body is not valid JSON: {exc}.") from exc


def dumps(value: Any) -> bytes:
    """Strict JSON bytes of ``value`` (what the routes downstream read)."""
    return json.dumps(value, allow_nan=False, ensure_ascii=False).encode("utf-8")
