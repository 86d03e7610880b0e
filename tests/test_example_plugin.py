"""Third-party plugins: the installed example distribution, and broken ones made on the fly."""

from __future__ import annotations

import importlib.metadata as md
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from tailorgen.registry import Registry

EXAMPLE_DIST = "tailorgen-example-plugin"
_PLUGIN_ENV = ("TAILORGEN_STRICT_PLUGINS", "TAILORGEN_LOAD_PLUGINS", "TAILORGEN_DISABLE_PLUGINS")


@pytest.fixture(scope="module")
def example_version() -> str:
    try:
        return md.version(EXAMPLE_DIST)
    except md.PackageNotFoundError:
        pytest.fail(
            f"{EXAMPLE_DIST} is not installed: pip install -e tests/example_plugin (README's test command)"
        )


def _distribution(root: Path, dist: str, module: str, source: str, entry_point: str | None = None) -> Path:
    """A real installed distribution: ``<dist>-1.0.dist-info`` (METADATA, entry_points.txt) + its module."""
    info = root / f"{dist.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[tailorgen]\n{entry_point or module} = {module}\n")
    (root / f"{module}.py").write_text(textwrap.dedent(source))
    return root


def _plugins_cli(*args: str, path: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in _PLUGIN_ENV}
    if path is not None:
        environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(path), environ.get("PYTHONPATH")]))
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-m", "tailorgen", "plugins", *args],
        capture_output=True,
        text=True,
        env=environ,
        check=False,
        timeout=120,
    )


def _listing(**kwargs: Any) -> dict[str, Any]:
    done = _plugins_cli("--json", **kwargs)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _names(listing: dict[str, Any], role: str) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in listing["roles"][role]}


def test_example_plugin_is_listed_with_its_distribution(example_version: str) -> None:
    listing = _listing()
    shouty = _names(listing, "prompt_writer")["shouty"]
    adapter = _names(listing, "fusion_head")["scaled-adapter"]
    stripes = _names(listing, "generator")["stripes"]
    for entry in (shouty, adapter, stripes):
        assert (entry["distribution"], entry["version"], entry["plugin"]) == (
            EXAMPLE_DIST,
            example_version,
            "example",
        )
    assert shouty["options"] == ["exclamations", "places"]
    assert "template" in _names(listing, "prompt_writer")  # built-ins next to it
    assert listing["errors"] == []
    assert listing["commands"] == [
        {"name": "stripes", "plugin": "example", "distribution": EXAMPLE_DIST, "version": example_version}
    ]


BROKEN = """
raise RuntimeError("boom: this plugin cannot be imported")
"""


def test_broken_plugin_is_listed_and_fails_strict_mode(tmp_path: Path, example_version: str) -> None:
    _distribution(
        tmp_path, "tailorgen-broken-plugin", "tailorgen_broken_plugin", BROKEN, entry_point="broken"
    )
    listing = _listing(path=tmp_path)
    [error] = listing["errors"]
    assert (error["plugin"], error["distribution"], error["version"]) == (
        "broken",
        "tailorgen-broken-plugin",
        "1.0",
    )
    assert "RuntimeError: boom" in error["error"]
    assert "shouty" in _names(listing, "prompt_writer")  # everything else still works
    assert "diffusers" in _names(listing, "generator")

    text = _plugins_cli(path=tmp_path)
    assert text.returncode == 0
    assert "failed: broken (tailorgen-broken-plugin): RuntimeError: boom" in text.stderr

    strict = _plugins_cli(path=tmp_path, TAILORGEN_STRICT_PLUGINS="1")
    assert strict.returncode != 0
    assert "broken" in strict.stderr
    assert "Traceback" not in strict.stderr


def test_empty_allowlist_keeps_only_builtins(example_version: str) -> None:
    listing = _listing(TAILORGEN_LOAD_PLUGINS="")
    writers = _names(listing, "prompt_writer")
    assert "shouty" not in writers
    assert {"template", "hf-chat", "file"} <= set(writers)
    assert "shouty" in _names(_listing(TAILORGEN_LOAD_PLUGINS="example"), "prompt_writer")
    assert "shouty" in _names(_listing(TAILORGEN_LOAD_PLUGINS=EXAMPLE_DIST), "prompt_writer")


@pytest.mark.parametrize("blocked", ["example", EXAMPLE_DIST])
def test_disable_plugins_hides_the_example(blocked: str, example_version: str) -> None:
    listing = _listing(TAILORGEN_DISABLE_PLUGINS=blocked)
    assert "shouty" not in _names(listing, "prompt_writer")
    assert "scaled-adapter" not in _names(listing, "fusion_head")
    assert "global-branch" in _names(listing, "fusion_head")


COPYCAT = """
from tailorgen.registry import hookimpl
from tailorgen.registry.roles import PromptWriter

class Copycat(PromptWriter):
    name = "shouty"
    description = "registers a name another plugin already has"

    def write(self, requests):
        return [["meow"] for _ in requests]

@hookimpl
def register_prompt_writers(register):
    register(Copycat)
"""


def test_duplicate_name_is_an_error_naming_both_providers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, example_version: str
) -> None:
    from tailorgen.errors import PluginError

    _distribution(tmp_path, "tailorgen-copycat", "tailorgen_copycat", COPYCAT, entry_point="copycat")
    monkeypatch.syspath_prepend(str(tmp_path))
    for key in _PLUGIN_ENV:
        monkeypatch.delenv(key, raising=False)
    registry = Registry()
    [error] = [e.error for e in registry.errors if "duplicate" in e.error]
    assert "'shouty'" in error
    assert "'example' (tailorgen-example-plugin)" in error
    assert "'copycat' (tailorgen-copycat)" in error
    with pytest.raises(PluginError) as raised:
        registry.get("prompt_writer", "shouty")
    assert "'example' (tailorgen-example-plugin)" in raised.value.message
    assert "'copycat' (tailorgen-copycat)" in raised.value.message
    assert registry.get("prompt_writer", "template").name == "template"


MISSPELLED = """
from tailorgen.registry import hookimpl
from tailorgen.registry.roles import PromptWriter

class Quiet(PromptWriter):
    name = "quiet"

    def write(self, requests):
        return [["..."] for _ in requests]

@hookimpl
def register_prompt_writers(register):
    register(Quiet)

@hookimpl
def register_generatorz(register):
    pass
"""


def test_misspelled_hook_is_rejected_and_recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _distribution(tmp_path, "tailorgen-typo", "tailorgen_typo_plugin", MISSPELLED, entry_point="typo")
    monkeypatch.syspath_prepend(str(tmp_path))
    for key in _PLUGIN_ENV:
        monkeypatch.delenv(key, raising=False)
    registry = Registry()
    [error] = [e for e in registry.errors if e.source.plugin == "typo"]
    assert "register_generatorz" in error.error
    assert error.source.distribution == "tailorgen-typo"
    assert "quiet" not in {e.name for e in registry.list("prompt_writer")}  # the whole module is rejected
    assert "template" in {e.name for e in registry.list("prompt_writer")}


def test_example_plugin_adds_a_cli_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], example_version: str
) -> None:
    from tailorgen.cli import main
    from tailorgen.registry import reset_registry
    from tailorgen_example_plugin.stripes import StripesGenerator

    for key in _PLUGIN_ENV:
        monkeypatch.delenv(key, raising=False)
    reset_registry()
    out = tmp_path / "car.png"
    assert main(["stripes", "a red car", "--seed", "3", "--size", "32", "--out", str(out)]) is None
    assert capsys.readouterr().out.strip() == str(out)
    from PIL import Image

    expected = StripesGenerator(StripesGenerator.Options(size=32)).generate(["a red car"], [3])[0]
    assert Image.open(out).tobytes() == expected.tobytes()
    assert main(["--help"]) == 0
    assert "stripes" in capsys.readouterr().out


CLASHING_COMMANDS = """
import click
from tailorgen.registry import hookimpl

@hookimpl
def register_commands(cli):
    @cli.command()
    def predict():
        "would shadow the built-in predict"

    @cli.command()
    def stripes():
        "would shadow the example plugin's command"

    @cli.command()
    def hello():
        click.echo("hello from a plugin")
"""

CRASHING_COMMANDS = """
from tailorgen.registry import hookimpl

@hookimpl
def register_commands(cli):
    raise RuntimeError("boom in register_commands")
"""


def _cli(*args: str, path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in _PLUGIN_ENV}
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(path), environ.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "tailorgen", *args],
        capture_output=True,
        text=True,
        env=environ | env,
        check=False,
        timeout=120,
    )


def test_plugin_commands_never_replace_others_and_fail_strict_mode(
    tmp_path: Path, example_version: str
) -> None:
    _distribution(tmp_path, "tailorgen-clash", "tailorgen_clash", CLASHING_COMMANDS, entry_point="clash")
    _distribution(tmp_path, "tailorgen-crash", "tailorgen_crash", CRASHING_COMMANDS, entry_point="crash")
    hello = _cli("hello", path=tmp_path)
    assert (hello.returncode, hello.stdout) == (0, "hello from a plugin\n")  # its other command works
    listing = json.loads(_cli("plugins", "--json", path=tmp_path).stdout)
    errors = {(e["plugin"], e["error"]) for e in listing["errors"]}
    both = "plugin 'clash' (tailorgen-clash) and plugin 'example' (tailorgen-example-plugin)"
    assert errors == {
        ("clash", "command 'predict' is already a built-in command: rename it"),
        ("example", f"command 'stripes' is provided by both {both}: neither is used, rename one"),
        ("crash", "register_commands: RuntimeError: boom in register_commands"),
    }
    owners = {c["name"]: c["plugin"] for c in listing["commands"]}
    assert owners == {"hello": "clash"}  # an ambiguous name goes to neither plugin
    strict = _cli("hello", path=tmp_path, TAILORGEN_STRICT_PLUGINS="1")
    assert strict.returncode == 1
    [line] = strict.stderr.strip().splitlines()
    assert line.startswith(
        "error: plugin 'clash' (tailorgen-clash) failed: command 'predict' is already a built-in"
    )
    assert "(+2 more)" in line
    builtin = _cli("predict", "--help", path=tmp_path, TAILORGEN_STRICT_PLUGINS="1")
    assert builtin.returncode == 0  # a built-in command does not load plugins


def test_without_third_party_plugins_the_cli_loads_no_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    """`tailorgen --help` stays fast: tailorgen's own plugins add no commands, so none is imported."""
    import tailorgen.registry
    from tailorgen.cli import plugin_commands

    builtin = [ep for ep in md.entry_points(group="tailorgen") if ep.dist and ep.dist.name == "tailorgen"]
    assert builtin
    monkeypatch.setattr(md, "entry_points", lambda group: builtin)

    def no_registry() -> None:
        raise AssertionError("the registry was loaded")

    monkeypatch.setattr(tailorgen.registry, "get_registry", no_registry)
    assert plugin_commands() == {}
