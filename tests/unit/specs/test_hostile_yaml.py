"""Hostile YAML: bombs, deep nesting, huge files and control characters get one clear problem.

Each bounded case is refused by ``load_specs`` with a single problem naming the
file (and the line where one is known); ``mlendpoints validate`` and
``mlendpoints score`` answer a generated collection of hostile inputs with a
clean error, never a traceback or an "internal error".
"""

from __future__ import annotations

import argparse
import io
import random
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from airflow_provider_mlendpoints.specs import SpecError, load_specs
from airflow_provider_mlendpoints.specs.validate_cli import run_validate
from airflow_provider_mlendpoints.specs.yamlio import MAX_DEPTH, MAX_FILE_BYTES, MAX_NODES

from .conftest import BATCH_DEPLOYMENT_SCHEMA, CORPUS
from .test_validate_cli import run_validate as run_validate_process

HEAD = f"$schema: {BATCH_DEPLOYMENT_SCHEMA}\nname: d\nendpoint_name: ep-1\nmodel: azureml:m:1\n"


def alias_bomb(under: str, levels: int = 9) -> str:
    """The billion-laughs document: each level lists the previous one nine times."""
    lines = [HEAD, "anchors:\n", '  l0: &l0 "lol"\n']
    for level in range(1, levels + 1):
        refs = ", ".join([f"*l{level - 1}"] * 9)
        lines.append(f"  l{level}: &l{level} [{refs}]\n")
    lines.append(f"{under}:\n  bomb: *l{levels}\n")
    return "".join(lines)


def only_problem(path: Path) -> str:
    with pytest.raises(SpecError) as raised:
        load_specs(path)
    assert len(raised.value.problems) == 1, raised.value.problems
    text = str(raised.value.problems[0])
    assert text.startswith(f"{path}: ")
    return text


@pytest.mark.parametrize("under", ["tags", "environment_variables", "settings"])
def test_alias_bomb_is_refused_with_its_line(write_yaml: Callable[..., Path], under: str) -> None:
    path = write_yaml(alias_bomb(under))
    text = only_problem(path)
    assert f"expands to more than {MAX_NODES} values" in text
    assert " at line " in text


def test_an_alias_that_holds_itself_is_refused(write_yaml: Callable[..., Path]) -> None:
    path = write_yaml(HEAD + "tags: &loop\n  again: *loop\n")
    assert "an alias refers to a value that holds it" in only_problem(path)


def test_modest_aliases_still_work(write_yaml: Callable[..., Path]) -> None:
    path = write_yaml(HEAD + "tags: &t\n  team: a\nenvironment_variables: *t\n")
    (spec,) = load_specs(path)
    assert spec.tags == {"team": "a"}
    assert spec.environment_variables == {"team": "a"}


@pytest.mark.parametrize("style", ["flow", "block"])
def test_deep_nesting_is_refused_with_its_line(write_yaml: Callable[..., Path], style: str) -> None:
    if style == "flow":
        body = "tags: " + "[" * 5000 + "]" * 5000 + "\n"
    else:
        body = "tags:\n" + "".join(" " * level + "- \n" for level in range(1, 300))
    path = write_yaml(HEAD + body)
    text = only_problem(path)
    assert f"nested more than {MAX_DEPTH} levels deep" in text
    assert " at line " in text


def test_nesting_within_the_limit_parses(write_yaml: Callable[..., Path]) -> None:
    depth = MAX_DEPTH - 4
    path = write_yaml(HEAD + "tags: {x: " + "[" * depth + "]" * depth + "}\n")
    with pytest.raises(SpecError) as raised:  # parsed, then refused for what it is: not a string
        load_specs(path)
    assert "tags.x: expected a string, a number or a boolean" in str(raised.value)


def test_too_many_values_are_refused(write_yaml: Callable[..., Path]) -> None:
    path = write_yaml(HEAD + "tags:\n" + "".join(f"  k{i}: v\n" for i in range(MAX_NODES)))
    assert f"holds more than {MAX_NODES} values" in only_problem(path)


def test_a_file_past_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "big.yml"
    path.write_text(HEAD + "# " + "x" * MAX_FILE_BYTES + "\n")
    text = only_problem(path)
    assert f"a spec file may hold at most {MAX_FILE_BYTES}" in text


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x07", "\x7f"])
def test_control_characters_are_named_with_line_and_column(tmp_path: Path, char: str) -> None:
    path = tmp_path / "ctl.yml"
    path.write_text(HEAD + f"description: ab{char}c\n")
    text = only_problem(path)
    line = HEAD.count("\n") + 1
    assert f"control character U+{ord(char):04X} at line {line}, column 16" in text


def hostile_inputs(folder: Path) -> list[Path]:
    """Hand-written attacks plus seeded mutations of a valid deployment: over a hundred files."""
    cases = {
        "bomb-tags.yml": alias_bomb("tags"),
        "bomb-env.yml": alias_bomb("environment_variables"),
        "bomb-root.yml": alias_bomb("description"),
        "bomb-deep.yml": alias_bomb("tags", levels=30),
        "self-alias.yml": "a: &a [*a]\n",
        "undefined-alias.yml": HEAD + "tags: *nothing\n",
        "deep-flow.yml": "[" * 100_000,
        "deep-map.yml": "{a: " * 50_000,
        "deep-block.yml": "".join(" " * i + "- \n" for i in range(3000)),
        "nul.yml": HEAD + "tags:\n  a: \x00\n",
        "nul-only.yml": "\x00" * 100,
        "escape.yml": "\x1b[31mred\x1b[0m: 1\n",
        "bom-twice.yml": "\ufeff\ufeffname: x\n",
        "lone-surrogate-escape.yml": 'name: "\\ud800"\n',
        "tabs.yml": "name:\t\tx\n\tmodel: y\n",
        "long-line.yml": "name: " + "a" * 500_000 + "\n",
        "colons.yml": "x" + ": " * 200_000 + "{{v}}\n",
        "placeholder-storm.yml": "".join(f"k{i}: {{{{P{i}}}}}\n" for i in range(5000)),
        "many-docs.yml": "---\nname: a\n" * 5000,
        "binary-tag.yml": HEAD + "tags: !!binary aGVsbG8=\n",
        "python-tag.yml": "!!python/object/apply:os.system ['echo hi']\n",
        "merge-keys.yml": HEAD + "base: &b {x: 1}\ntags:\n  <<: *b\n  <<: [*b, *b]\n",
        "huge-int.yml": HEAD + "settings:\n  mini_batch_size: " + "9" * 5000 + "\n",
        "huge-float.yml": HEAD + "settings:\n  mini_batch_size: 1e999\n",
        "nan.yml": HEAD + "settings:\n  error_threshold: .nan\n",
        "list-root.yml": "- 1\n- 2\n",
        "scalar-root.yml": "just text\n",
        "empty.yml": "",
        "comments.yml": "# nothing\n",
        "key-mapping.yml": "? {a: 1}\n: x\n",
        "null-key.yml": HEAD + "tags:\n  ~: x\n",
    }
    valid = (
        f"$schema: {BATCH_DEPLOYMENT_SCHEMA}\nname: scorer\nendpoint_name: ep1\nmodel: azureml:m:1\n"
        "code_configuration:\n  code: ./src\n  scoring_script: score.py\n"
        "environment:\n  image: python:3.11\n  conda_file: ./env.yml\n"
        "compute: azureml:cpu\nresources:\n  instance_count: 2\n"
        "settings:\n  mini_batch_size: 10\n  output_action: append_row\n  output_file_name: out.csv\n"
        "  retry_settings:\n    max_retries: 3\n    timeout: 30\n  environment_variables:\n    A: b\n"
    )
    noise = ["\x00", "\x1b", "&a", "*a", "*b", "!!", "{", "[", "]", "}", ":", "- ", "'", '"', "%", "@", "`",
             "\t", "\n  ", "---", "...", "<<", "|", ">", "\\", "\u2028", "\ufffe", "{{", "}}", "~", "9" * 40]  # fmt: skip
    rng = random.Random(9)
    for index in range(100):
        chars = list(valid)
        for _ in range(rng.randint(1, 6)):
            at = rng.randrange(len(chars))
            action = rng.random()
            if action < 0.4:
                chars.insert(at, rng.choice(noise))
            elif action < 0.7:
                del chars[at : at + rng.randint(1, 20)]
            else:
                chars[at] = rng.choice(noise)
        cases[f"mutant-{index:03d}.yml"] = "".join(chars)
    paths = []
    for name, text in cases.items():
        path = folder / name
        path.write_bytes(text.encode("utf-8", "surrogatepass"))
        paths.append(path)
    for name, blob in {"latin1.yml": "name: caf\xe9\n".encode("latin-1"), "random.bin": bytes(range(256)) * 8}.items():
        (folder / name).write_bytes(blob)
        paths.append(folder / name)
    return paths


def test_validate_answers_every_hostile_input_cleanly(tmp_path: Path) -> None:
    files = hostile_inputs(tmp_path)
    assert len(files) > 120
    out = io.StringIO()
    run_validate([str(f) for f in files], out)
    lines = out.getvalue().splitlines()
    assert not [line for line in lines if "internal error" in line]
    named = {re.sub(r" \(document \d+\)$", "", line.split(": ", 1)[0]) for line in lines}
    assert named == {str(f) for f in files}  # every file answered, on lines that name it


def test_score_answers_every_hostile_input_cleanly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from airflow_provider_mlendpoints.engine.local_cli import run_score

    (tmp_path / "specs").mkdir()
    files = hostile_inputs(tmp_path / "specs")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text("x\n")
    codes = []
    for file in files:
        args = argparse.Namespace(
            deployment=str(file), input=str(tmp_path / "in"), output=str(tmp_path / "out" / file.name),
            overrides=[], workers=1, glob=None, input_type="auto", header=False, separator=None,
            output_format="csv", storage_connection_string_env="", resume=False, overwrite=False,
        )  # fmt: skip
        code = run_score(args)  # an uncaught exception fails the test
        captured = capsys.readouterr()
        verdicts = [line for line in captured.err.splitlines() if line.startswith("mlendpoints score: ")]
        assert len(verdicts) == 1, (file.name, captured.err)
        if code == 2:  # refused as bad input, on one line, before any work
            assert verdicts[0].startswith("mlendpoints score: error: "), verdicts
            assert "Traceback" not in captured.err + captured.out
        else:  # a mutant that is still a valid deployment: it ran, and its model could not load
            assert code == 1 and "init() of the scoring script" in verdicts[0], (file.name, captured.err)
        codes.append(code)
    assert codes.count(2) >= len(files) - 5


@pytest.mark.parametrize("case", ["bomb-env.yml", "deep-flow.yml", "nul.yml"])
def test_validate_process_prints_no_traceback(repo_root: Path, tmp_path: Path, case: str) -> None:
    (path,) = [p for p in hostile_inputs(tmp_path) if p.name == case]
    result = run_validate_process(repo_root, path)
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout.startswith(f"{path}: ")
    assert len(result.stdout.splitlines()) == 1


def test_the_corpus_still_parses() -> None:
    if not CORPUS:
        pytest.skip("azureml-cli-yaml reference corpus is absent")
    out = io.StringIO()
    assert run_validate([str(p) for p in CORPUS], out) == 0, out.getvalue()


@pytest.mark.parametrize(
    "assignment",
    ["mini_batch_size=" + "9" * 5000, "retry_settings.timeout=PT0.4S", "retry_settings.timeout=" + "9" * 400,
     "max_concurrency_per_instance=100000", "output_file_name=_mlendpoints", "mini_batch_size=1e999",
     "error_threshold=nan", "nonsense", "=x", "output_file_name=" + "x" * 300],
)  # fmt: skip
def test_score_refuses_hostile_overrides_on_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], assignment: str
) -> None:
    from airflow_provider_mlendpoints.engine.local_cli import run_score

    deployment = tmp_path / "deployment.yml"
    deployment.write_text(HEAD + "code_configuration:\n  code: azureml:c:1\n  scoring_script: score.py\n")
    args = argparse.Namespace(
        deployment=str(deployment), input=str(tmp_path), output=str(tmp_path / "out"), overrides=[assignment],
        workers=1, glob=None, input_type="auto", header=False, separator=None, output_format="csv",
        storage_connection_string_env="", resume=False, overwrite=False,
    )  # fmt: skip
    assert run_score(args) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("mlendpoints score: error: overrides: ") and len(line) < 400
