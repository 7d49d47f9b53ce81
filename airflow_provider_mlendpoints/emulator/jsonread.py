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
    in_string = False
    escaped = False
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if in_string:
            out.append(ch)
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
            i += 1
            continue
        if ch == '"':
            in_string = True
        elif ch in "{[":
            depth += 1
            if depth > MAX_DEPTH:
                raise JsonReadError(f"The request body is not valid JSON: it nests deeper than {MAX_DEPTH} levels (at character {i}).")
        elif ch in "}]":
            depth -= 1
        elif ch == ",":
            j = i + 1
            while j < n and text[j] in " \t\r\n":
                j += 1
            if j < n and text[j] in "}]":
                i += 1  # drop the trailing comma, keep the whitespace
                continue
        out.append(ch)
        i += 1
    return "".join(out)


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
