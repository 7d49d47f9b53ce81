"""Reading spec files: YAML with unquoted ``{{ placeholders }}``, as published.

Azure's example files contain lines like ``endpoint_name: {{ENDPOINT_NAME}}``
that plain YAML parses as a flow mapping (or rejects). They are quoted before
parsing, on the same line, so line numbers in syntax errors stay right and the
placeholder is kept verbatim as a string.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from .errors import Problem

_KEY_VALUE = re.compile(
    r"^(?P<lead>\s*(?:-\s+)?(?:[^\s#'\"{\[-][^#]*?|\"[^\"]*\"|'[^']*')\s*:[ \t]+)(?P<value>\{\{.*)$"
)
_LIST_ITEM = re.compile(r"^(?P<lead>\s*-[ \t]+)(?P<value>\{\{.*)$")
_SCHEMA_COMMENT = re.compile(r"^\s*#\s*yaml-language-server:\s*\$schema=(\S+)", re.MULTILINE)


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps dates as strings (``2023-03-15`` is a version here, not a date)
    and remembers keys given twice in one mapping (plain YAML silently keeps the last)."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self.duplicates: list[tuple[str, int]] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[str] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                if key_node.value in seen:
                    self.duplicates.append((key_node.value, key_node.start_mark.line + 1))
                seen.add(key_node.value)
        return super().construct_mapping(node, deep)


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def quote_placeholders(text: str) -> str:
    """Quote values that start with ``{{`` so YAML reads them as strings, verbatim."""
    out = []
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        ending = line[len(body) :]
        match = _KEY_VALUE.match(body) or _LIST_ITEM.match(body)
        if match:
            value = match["value"]
            comment = ""
            hash_at = value.find(" #")
            if hash_at >= 0:
                value, comment = value[:hash_at], value[hash_at:]
            value = value.rstrip()
            body = match["lead"] + "'" + value.replace("'", "''") + "'" + comment
        out.append(body + ending)
    return "".join(out)


def schema_comment(text: str) -> str | None:
    """The ``$schema`` given in a ``# yaml-language-server: $schema=...`` comment."""
    match = _SCHEMA_COMMENT.search(text)
    return match.group(1) if match else None


def parse_yaml(text: str, file: str) -> tuple[list[Any], list[Problem]]:
    """All documents in ``text`` (placeholders quoted), or a syntax problem with its line."""
    loader = _Loader(quote_placeholders(text))
    try:
        docs = []
        while loader.check_data():
            docs.append(loader.get_data())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = exc.problem or exc.context or "invalid YAML"
        return [], [Problem(file, "", message=f"YAML syntax error{where}: {reason}")]
    except yaml.YAMLError as exc:
        return [], [Problem(file, "", message=f"YAML syntax error: {exc}")]
    finally:
        loader.dispose()
    duplicates = [
        Problem(
            file, key, message=f"given twice (again at line {line}); YAML would silently keep the last one"
        )
        for key, line in loader.duplicates
    ]
    return [d for d in docs if d is not None], duplicates


def read_text(path: Path, file: str) -> tuple[str | None, list[Problem]]:
    """The file's text, or a problem saying why it cannot be read."""
    if not path.exists():
        return None, [Problem(file, "", message="no such file")]
    if path.is_dir():
        return None, [Problem(file, "", message="is a directory, expected a YAML file")]
    try:
        return path.read_text(encoding="utf-8-sig"), []
    except UnicodeDecodeError:
        return None, [Problem(file, "", message="is not UTF-8 text")]
    except OSError as exc:
        return None, [Problem(file, "", message=f"cannot be read: {exc.strerror or exc}")]
