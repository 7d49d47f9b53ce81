"""``load_spec``: one YAML file (or a dict) -> a validated, normalized spec object."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from . import kinds
from .batch import build_batch_deployment, build_batch_endpoint
from .errors import Problem, SpecError
from .model import (
    BatchDeploymentSpec,
    BatchEndpointSpec,
    OnlineDeploymentSpec,
    OnlineEndpointSpec,
    Spec,
)
from .online import build_online_deployment, build_online_endpoint
from .reader import Reader
from .yamlio import parse_yaml, read_text, schema_comment

if TYPE_CHECKING:
    from typing_extensions import Unpack

_CLASS_KINDS: dict[type, str] = {
    BatchEndpointSpec: kinds.BATCH_ENDPOINT,
    BatchDeploymentSpec: kinds.BATCH_DEPLOYMENT,
    OnlineEndpointSpec: kinds.ONLINE_ENDPOINT,
    OnlineDeploymentSpec: kinds.ONLINE_DEPLOYMENT,
}
KindArg = str | type | None


class LoadOptions(TypedDict, total=False):
    """The keyword arguments of :func:`load_spec`, each as :func:`load_specs` takes it (there with
    its default)."""

    kind: KindArg
    base_dir: str | os.PathLike[str] | None
    require_local_paths: bool
    file: str | None


def load_spec(path_or_dict: str | os.PathLike[str] | Mapping[str, Any], **options: Unpack[LoadOptions]) -> Spec:
    """Load, validate and normalize one endpoint or deployment spec.

    ``path_or_dict`` is a YAML file (any of the three Azure generations) or an
    already-parsed mapping. ``kind`` forces the kind: ``"batch_deployment"``,
    ``"online_endpoint"``..., Azure's schema names (``"modelBatchDeployment"``)
    or a spec class; otherwise it comes from ``$schema`` or from the content.
    Relative paths resolve against the file's folder (or ``base_dir``, default
    the current folder for a dict). With ``require_local_paths`` (default False) a
    local model, code folder or conda file that does not exist is a problem too.
    ``file`` is the name problems give (default: the path, or ``<dict>``).

    Raises :class:`SpecError` listing every problem found in the file.
    """
    specs = load_specs(path_or_dict, **options)
    if len(specs) != 1:
        name = options.get("file") or (str(path_or_dict) if not isinstance(path_or_dict, Mapping) else "<dict>")
        raise SpecError([Problem(name, "", message=f"expected one YAML document, found {len(specs)}")])
    return specs[0]


def load_specs(
    path_or_dict: str | os.PathLike[str] | Mapping[str, Any],
    *,
    kind: KindArg = None,
    base_dir: str | os.PathLike[str] | None = None,
    require_local_paths: bool = False,
    file: str | None = None,
) -> list[Spec]:
    """Like :func:`load_spec`, for files holding several ``---``-separated documents."""
    comment_schema = None
    parse_problems: list[Problem] = []
    if isinstance(path_or_dict, Mapping):
        name = file or "<dict>"
        docs: list[Any] = [dict(path_or_dict)]
        folder = os.path.abspath(base_dir or os.getcwd())
        source = None
    else:
        path = Path(path_or_dict)
        name = file or str(path_or_dict)
        text, problems = read_text(path, name)
        if text is None:
            raise SpecError(problems)
        docs, parse_problems = parse_yaml(text, name)
        if parse_problems and not docs:
            raise SpecError(parse_problems)
        if not docs:
            raise SpecError([Problem(name, "", message="the file is empty")])
        comment_schema = schema_comment(text)
        folder = os.path.abspath(base_dir or path.resolve().parent)
        source = str(path.resolve())
    problems = list(parse_problems)  # keys given twice
    specs: list[Spec] = []
    for index, doc in enumerate(docs):
        shown = name if len(docs) == 1 else f"{name} (document {index + 1})"
        spec, doc_problems = build_document(
            doc, file=shown, base_dir=folder, source=source, kind=kind, comment_schema=comment_schema
        )
        if spec is not None and require_local_paths and not doc_problems:
            from .paths import check_paths

            doc_problems = check_paths(spec, file=shown)
        problems.extend(doc_problems)
        if spec is not None:
            specs.append(spec)
    if problems:
        raise SpecError(problems)
    return specs


def _resolve_kind(
    doc: dict[str, Any], kind: KindArg, comment_schema: str | None, reader: Reader
) -> tuple[str, str | None] | None:
    if kind is not None:
        forced = _CLASS_KINDS.get(kind) if isinstance(kind, type) else kinds.normalize_kind(str(kind))
        if forced is None:
            choices = ", ".join(kinds.KINDS)
            reader.add("", message=f"unknown kind {kind!r}; use one of {choices}")
            return None
        return (forced, None) if isinstance(forced, str) else forced
    schema = doc.get("$schema") or comment_schema
    if schema is not None:
        if not isinstance(schema, str):
            reader.add("$schema", "a schema URL", schema)
            return None
        short = kinds.schema_name(schema)
        if short in kinds.UNSUPPORTED_SCHEMAS:
            reader.add("$schema", message=f"{kinds.UNSUPPORTED_SCHEMAS[short]} are not supported")
            return None
        found = kinds.SCHEMA_NAMES.get(short)
        if found is None:
            known = ", ".join(kinds.KNOWN_SCHEMAS)
            reader.add("$schema", message=f"unknown kind {short!r} (known: {known})")
            return None
        if found[0] == kinds.ONLINE_ENDPOINT and kinds.looks_like_online_deployment(doc):
            return kinds.ONLINE_DEPLOYMENT, found[1]
        if found[0] == kinds.BATCH_ENDPOINT and kinds.looks_like_batch_deployment(doc):
            return kinds.BATCH_DEPLOYMENT, None
        return found
    guessed = kinds.from_content(doc)
    if guessed is None:
        reader.add(
            "",
            message="unknown kind: add $schema (for example https://azuremlschemas.azureedge.net/"
            "latest/modelBatchDeployment.schema.json) or pass kind=",
        )
    return guessed


def build_document(
    doc: Any,
    *,
    file: str,
    base_dir: str,
    source: str | None = None,
    kind: KindArg = None,
    comment_schema: str | None = None,
) -> tuple[Spec | None, list[Problem]]:
    """Build one parsed document; returns the spec (None if hopeless) and all problems found."""
    reader = Reader(file, base_dir, source)
    if not isinstance(doc, dict):
        reader.add("", "a mapping of fields", doc)
        return None, reader.problems
    resolved = _resolve_kind(doc, kind, comment_schema, reader)
    if resolved is None:
        return None, reader.problems
    kind_name, compute_hint = resolved
    spec: Spec | None
    if kind_name == kinds.BATCH_ENDPOINT:
        spec = build_batch_endpoint(reader, doc)
    elif kind_name == kinds.BATCH_DEPLOYMENT:
        spec = build_batch_deployment(reader, doc)
    elif kind_name == kinds.ONLINE_ENDPOINT:
        spec = build_online_endpoint(reader, doc, compute_type=compute_hint)
    else:
        spec = build_online_deployment(reader, doc, compute_type=compute_hint)
    from .schema_check import schema_problems

    problems = merge_problems(reader.problems, schema_problems(kind_name, doc, file))
    return spec, _in_file_order(problems, doc)


def _in_file_order(problems: list[Problem], doc: dict[str, Any]) -> list[Problem]:
    """Sort problems by where their top-level field appears in the document (missing fields first)."""
    order = {str(key): index for index, key in enumerate(doc)}

    def position(problem: Problem) -> int:
        head = problem.path.split(".", 1)[0].split("[", 1)[0]
        return order.get(head, -1)

    return sorted(problems, key=position)


def merge_problems(own: list[Problem], from_schema: list[Problem]) -> list[Problem]:
    """Our problems first, then schema problems about fields we did not already report on."""

    def related(a: str, b: str) -> bool:
        return a == b or a.startswith((b + ".", b + "[")) or b.startswith((a + ".", a + "["))

    merged = list(own)
    for problem in from_schema:
        if not any(related(problem.path, seen.path) for seen in own if seen.path):
            merged.append(problem)
    seen: set[str] = set()
    unique = []
    for problem in merged:
        if str(problem) not in seen:
            seen.add(str(problem))
            unique.append(problem)
    return unique
