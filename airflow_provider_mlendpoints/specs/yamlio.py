"""Reading spec files: YAML with unquoted ``{{ placeholders }}``, as published.

Azure's example files contain lines like ``endpoint_name: {{ENDPOINT_NAME}}``
that plain YAML parses as a flow mapping (or rejects). They are quoted before
parsing, on the same line, so line numbers in syntax errors stay right and the
placeholder is kept verbatim as a string.

Parsing is bounded, so a hostile file gets one clear problem in well under a
second instead of a traceback, a hang or gigabytes of memory: files past
:data:`MAX_FILE_BYTES`, control characters, nesting past :data:`MAX_DEPTH`
and documents whose aliases expand past :data:`MAX_NODES` nodes are refused.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from .errors import Problem

MAX_FILE_BYTES = 1024 * 1024
"""Largest spec file read (Azure's deployment files are a few KB)."""
MAX_DEPTH = 64
"""Deepest nesting of mappings and lists in a document."""
MAX_NODES = 20_000
"""Most nodes a document may hold once every alias is expanded (what code walking it sees)."""

_KEY_VALUE = re.compile(
    r"^(?P<lead>\s*(?:-\s+)?(?:[^\s#'\"{\[-][^#]*?|\"[^\"]*\"|'[^']*')\s*:[ \t]+)(?P<value>\{\{.*)$"
)
_LIST_ITEM = re.compile(r"^(?P<lead>\s*-[ \t]+)(?P<value>\{\{.*)$")
_SCHEMA_COMMENT = re.compile(r"^\s*#\s*yaml-language-server:\s*\$schema=(\S+)", re.MULTILINE)
# What YAML 1.1 allows in a stream (PyYAML's Reader.NON_PRINTABLE), found before parsing.
_NON_PRINTABLE = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class _TooLarge(yaml.MarkedYAMLError):
    """A document past one of the parsing bounds (raised while composing, with its place)."""


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps dates as strings (``2023-03-15`` is a version here, not a date)
    and remembers keys given twice in one mapping (plain YAML silently keeps the last)."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self.duplicates: list[tuple[str, int]] = []
        self._depth = 0
        self._composed = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        """Compose one node, refusing nesting past :data:`MAX_DEPTH` and streams past :data:`MAX_NODES`."""
        self._depth += 1
        self._composed += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _TooLarge(
                    problem=f"nested more than {MAX_DEPTH} levels deep", problem_mark=self._next_mark()
                )
            if self._composed > MAX_NODES:
                raise _TooLarge(
                    problem=f"holds more than {MAX_NODES} values", problem_mark=self._next_mark()
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def _next_mark(self) -> yaml.Mark | None:
        """Where the next event starts (types-PyYAML leaves ``Parser.peek_event`` untyped)."""
        event: yaml.Event = self.peek_event()  # type: ignore[no-untyped-call]
        return event.start_mark if isinstance(event.start_mark, yaml.Mark) else None

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
        if "{{" not in line:
            out.append(line)
            continue
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


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _check_budget(frame: list[Any]) -> None:
    if frame[2] > MAX_NODES:
        raise _TooLarge(
            problem=f"expands to more than {MAX_NODES} values (aliases repeated too often?)",
            problem_mark=frame[0].start_mark,
        )


def _expanded_size(root: yaml.Node) -> int:
    """How many nodes ``root`` holds with every alias expanded; raises _TooLarge past MAX_NODES.

    Shared (aliased) nodes are counted once per use, as code walking the
    constructed data would meet them; each node is sized once, so this is
    linear in the file, not in the expansion.
    """
    sizes: dict[int, int] = {}
    on_path = {id(root)}
    stack: list[list[Any]] = [[root, iter(_children(root)), 1]]
    while stack:
        frame = stack[-1]
        child = next(frame[1], None)
        if child is None:
            stack.pop()
            on_path.discard(id(frame[0]))
            sizes[id(frame[0])] = frame[2]
            if stack:
                stack[-1][2] += frame[2]
                _check_budget(stack[-1])
            continue
        if id(child) in sizes:
            frame[2] += sizes[id(child)]
            _check_budget(frame)
        elif id(child) in on_path:
            raise _TooLarge(problem="an alias refers to a value that holds it", problem_mark=child.start_mark)
        else:
            on_path.add(id(child))
            stack.append([child, iter(_children(child)), 1])
    return sizes[id(root)]


def _control_character(text: str, file: str) -> Problem | None:
    """A problem naming the first character a YAML file may not hold (NUL, escape...), if any."""
    found = _NON_PRINTABLE.search(text)
    if found is None:
        return None
    line = text.count("\n", 0, found.start()) + 1
    column = found.start() - (text.rfind("\n", 0, found.start()) + 1) + 1
    return Problem(
        file,
        "",
        message=f"control character U+{ord(found.group()):04X} at line {line}, column {column}: "
        "a YAML file holds printable text only",
    )


def parse_yaml(text: str, file: str) -> tuple[list[Any], list[Problem]]:
    """All documents in ``text`` (placeholders quoted), or a syntax problem with its line.

    Bounded: control characters, nesting past :data:`MAX_DEPTH` and aliases
    expanding past :data:`MAX_NODES` give one problem, never a traceback.
    """
    bad = _control_character(text, file)
    if bad is not None:
        return [], [bad]
    loader = _Loader(quote_placeholders(text))
    try:
        docs = []
        while loader.check_node():
            node = loader.get_node()
            if node is None:  # check_node() said a document follows
                break
            _expanded_size(node)
            docs.append(loader.construct_document(node))
    except _TooLarge as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}" if mark else ""
        return [], [Problem(file, "", message=f"YAML refused{where}: {exc.problem}")]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = exc.problem or exc.context or "invalid YAML"
        return [], [Problem(file, "", message=f"YAML syntax error{where}: {reason}")]
    except yaml.YAMLError as exc:
        return [], [Problem(file, "", message=f"YAML syntax error: {exc}")]
    except ValueError as exc:  # a value YAML cannot build, e.g. an integer of 5000 digits
        return [], [Problem(file, "", message=f"YAML value refused: {exc}")]
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
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return None, [
                Problem(file, "", message=f"is {size} bytes; a spec file may hold at most {MAX_FILE_BYTES}")
            ]
        return path.read_text(encoding="utf-8-sig"), []
    except UnicodeDecodeError:
        return None, [Problem(file, "", message="is not UTF-8 text")]
    except OSError as exc:
        return None, [Problem(file, "", message=f"cannot be read: {exc.strerror or exc}")]
