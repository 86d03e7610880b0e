"""Every example runs as written: help epilogs, README and docs code blocks, example configs' comments,
the package docstring; every section they cite exists.

Each ``tailorgen`` command line in an example is parsed by the real CLI (command, options, choices),
the example configs it names must exist, and every ``${VAR}`` such a config reads must be set by an
earlier line of the same example (``export``, ``VAR=... tailorgen``, or ``eval "$(tailorgen demo
--data-only DIR)"``). Commands that need nothing else (listing plugins, label sets, a dry run) run.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

import click
import pytest
import tailorgen
from click.testing import CliRunner
from tailorgen.cli import EXAMPLES, cli
from tailorgen.cli.demo import WORLD_ENV
from tailorgen.scaffold import write_plugin

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_FENCE = re.compile(r"```(?:bash|sh|console)\n(.*?)```", re.DOTALL)
_VAR = re.compile(r"\$\{(\w+)\}")
#: variables the shell or tailorgen sets; CONFIG_DIR is the config file's folder
_ALWAYS = {"CONFIG_DIR", "HOME", "PWD", "USER"}


def _blocks() -> dict[str, list[str]]:
    """example name -> its lines (continuations joined)."""
    blocks = {f"tailorgen {name} --help": text.splitlines() for name, text in EXAMPLES.items()}
    for doc in DOCS:
        for i, block in enumerate(_FENCE.findall(doc.read_text())):
            blocks[f"{doc.relative_to(ROOT)} block {i + 1}"] = block.replace("\\\n", " ").splitlines()
    for config in sorted((ROOT / "examples").glob("*.toml")):
        lines = [line.lstrip("#").strip() for line in config.read_text().splitlines() if line.startswith("#")]
        blocks[str(config.relative_to(ROOT))] = [
            line for line in lines if line.startswith(("tailorgen ", "eval ", "export "))
        ]
    return blocks


def _tailorgen_args(segment: list[str]) -> list[str] | None:
    """The arguments after ``tailorgen`` (or ``python -m tailorgen``/``torchrun ... -m tailorgen``)."""
    for i, word in enumerate(segment):
        if word == "tailorgen" and (i == 0 or segment[i - 1] == "-m" or "=" in segment[i - 1]):
            return segment[i + 1 :]
    return None


def _segments(line: str) -> list[list[str]]:
    words = shlex.split(line, comments=True)
    out: list[list[str]] = [[]]
    for word in words:
        if word in {"&&", "||", ";", "|"}:
            out.append([])
        else:
            out[-1].append(word)
    return [segment for segment in out if segment]


def _parse(args: list[str]) -> tuple[list[str], click.Context]:
    """The command path and the innermost context, parsed by the real CLI (raises on a bad option)."""
    ctx = cli.make_context("tailorgen", list(args))
    command: click.Command = cli
    path: list[str] = []
    rest = [*ctx._protected_args, *ctx.args]
    while isinstance(command, click.Group) and rest:
        name, sub, rest = command.resolve_command(ctx, rest)
        assert sub is not None
        assert name is not None
        path.append(name)
        ctx = sub.make_context(name, rest, parent=ctx)
        command, rest = sub, [*getattr(ctx, "_protected_args", []), *ctx.args]
    return path, ctx


def _data_only_variables(args: list[str]) -> set[str]:
    world = args[args.index("--world") + 1] if "--world" in args else "shapes"
    return {WORLD_ENV[world], *(["TAILORGEN_SHAPES_WEIGHTS"] if world == "shapes" else [])}


def _check_block(name: str, lines: list[str]) -> list[str]:
    problems, defined = [], set(_ALWAYS)
    for line in lines:
        if line.startswith("eval ") and "--data-only" in line:
            inner = shlex.split(shlex.split(line)[1].removeprefix("$(").removesuffix(")"))
            problems += _check_block(name, [shlex.join(inner)])  # checked like any other
            defined |= _data_only_variables(inner)
            continue
        for segment in _segments(line):
            while segment and re.match(r"^\w+=", segment[0]):  # VAR=value before a command
                defined.add(segment.pop(0).split("=", 1)[0])
            if segment[:1] == ["export"]:
                defined |= {word.split("=", 1)[0] for word in segment[1:]}
                continue
            args = _tailorgen_args(segment)
            if args is None:
                continue
            try:
                path, ctx = _parse(args)
            except click.ClickException as exc:
                problems.append(f"{name}: `tailorgen {shlex.join(args)}`: {exc.format_message()}")
                continue
            config = ctx.params.get("config_path")
            if path[:1] == ["run"] and config is not None and str(config).startswith("examples/"):
                file = ROOT / config
                if not file.is_file():
                    problems.append(f"{name}: {config} does not exist")
                    continue
                missing = sorted(set(_VAR.findall(file.read_text())) - defined)
                if missing:
                    problems.append(
                        f"{name}: `tailorgen {shlex.join(args)}` needs {', '.join(missing)} set first"
                    )
    return problems


def test_every_example_command_parses_and_has_its_prerequisites() -> None:
    blocks = _blocks()
    assert len([b for b in blocks if "block" in b]) >= 15  # the docs' code blocks were found
    problems = [problem for name, lines in blocks.items() for problem in _check_block(name, lines)]
    assert problems == []


def test_the_checker_catches_what_used_to_be_wrong() -> None:
    old_run_example = ["tailorgen run examples/tiny.toml --stages prompts,generate --set generate.quota=5"]
    assert _check_block("old", old_run_example) == [
        "old: `tailorgen run examples/tiny.toml --stages prompts,generate --set generate.quota=5` "
        "needs TAILORGEN_DEMO_MODELS set first"
    ]
    (problem,) = _check_block("typo", ["tailorgen demo --wrld tiny"])
    assert "No such option '--wrld'" in problem


@pytest.mark.parametrize(
    "args",
    [
        ["plugins", "--role", "generator"],
        ["labels", "coco-48-17"],
        ["run", "examples/coco-48-17.toml", "--dry-run"],
    ],
)
def test_examples_without_prerequisites_run(
    args: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(ROOT)
    if args[0] == "run":
        args = [*args, "--out", str(tmp_path / "run")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip()


def test_the_package_docstring_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code = tailorgen.__doc__.split("::\n", 1)[1].split("\n\n``", 1)[0]
    monkeypatch.chdir(tmp_path)
    exec(compile(_dedent(code), "tailorgen.__doc__", "exec"), {})
    assert (tmp_path / "runs" / "prompts" / "prompts.jsonl").is_file()


def _dedent(code: str) -> str:
    import textwrap

    return textwrap.dedent(code)


def test_the_scaffold_installs_its_own_test_runner(tmp_path: Path) -> None:
    root = write_plugin("my-writer", "prompt_writer", tmp_path)
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    assert "pytest" in project["optional-dependencies"]["test"]
    readme = (root / "README.md").read_text()
    assert 'pip install -e ".[test]"' in readme
    assert "\npytest" in readme


# --- sections that code, configs and docs cite ---

_CITED = re.compile(
    r"(README|docs/[\w-]+\.md|[\w/-]+/README\.md)(?:,\s*|\s*\(\s*)[\"']([^\"'\n]+)[\"']", re.MULTILINE
)
_LINK = re.compile(r"\]\(([\w./-]+\.md)#([\w-]+)\)")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*$", re.MULTILINE)


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to dashes."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return text.replace(" ", "-")


def _headings(file: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", file.read_text(), flags=re.DOTALL)  # not a code block's comments
    return {h.strip("`") for h in _HEADING.findall(text)}


def _sources() -> list[Path]:
    found = [ROOT / "pyproject.toml", *DOCS, *sorted((ROOT / "examples").glob("*.toml"))]
    for folder in ("core", "plugins", "exporters", "registry", "benchmarks"):
        found += sorted((ROOT / folder).rglob("*.py"))
    return found


def _citation_problems(source: Path, text: str) -> list[str]:
    problems = []
    for target, section in _CITED.findall(text):
        file = ROOT / ("README.md" if target == "README" else target)
        if not file.is_file() or section not in _headings(file):
            problems.append(f"{source.name} cites {target}, {section!r}: no such section")
    for target, anchor in _LINK.findall(text):
        file = (source.parent / target).resolve()
        if not file.is_file() or anchor not in {_slug(h) for h in _headings(file)}:
            problems.append(f"{source.name} links {target}#{anchor}: no such section")
    return problems


def test_every_cited_section_exists() -> None:
    texts = {source: source.read_text() for source in _sources()}
    cited = sum(len(_CITED.findall(t)) + len(_LINK.findall(t)) for t in texts.values())
    assert cited >= 10
    assert [p for source, text in texts.items() for p in _citation_problems(source, text)] == []


def test_the_citation_check_catches_what_used_to_be_wrong() -> None:
    old = {
        "labels.py": "\"see README, 'Label sets'\"",
        "coco-48-17.toml": '# checkpointing (README, "Text-encoder fine-tuning").\n# see README ("Generation").',
        "pyproject.toml": '# for every platform: see README ("TensorRT").',
        "stages.md": "[training](stages.md#training) and [generation](stages.md#generation-and-the-clip-filter)",
    }
    found = [p for name, text in old.items() for p in _citation_problems(ROOT / "docs" / name, text)]
    assert len(found) == 5
    assert found[-1] == "stages.md links stages.md#training: no such section"
