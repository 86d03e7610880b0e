"""The ``tailorgen`` command line. Subcommands live in their own modules and load lazily."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click
from tailorgen.errors import TailorgenError
from tailorgen.log import configure_cli
from tailorgen.runtime.progress import set_quiet
from tailorgen.suggest import did_you_mean

__all__ = ["COMMANDS", "EXAMPLES", "cli", "example_epilog", "main", "plugin_commands"]

#: command name -> "module:attribute"; a stage's issue adds its command here.
COMMANDS: dict[str, str] = {
    "plugins": "tailorgen.cli.plugins:plugins",
    "labels": "tailorgen.cli.labels:labels",
    "run": "tailorgen.cli.run:run",
    "demo": "tailorgen.cli.demo:demo",
    "demo-models": "tailorgen.cli.demo:demo_models",
    "predict": "tailorgen.cli.predict:predict",
    "publish": "tailorgen.cli.publish:publish",
    "serve": "tailorgen.cli.serve:serve",
    "space": "tailorgen.cli.space:space",
    "hub": "tailorgen.cli.hub:hub",
    "show": "tailorgen.cli.show:show",
    "score-metrics": "tailorgen.cli.score_metrics:score_metrics",
    "new-plugin": "tailorgen.cli.new_plugin:new_plugin",
}

#: command name -> the example that ends its ``--help`` (lines run in order, as written, in a clone;
#: tests/test_examples.py checks each one's commands, options, files and variables)
EXAMPLES: dict[str, str] = {
    "plugins": "tailorgen plugins --role generator",
    "labels": "tailorgen labels coco-48-17",
    "run": 'eval "$(tailorgen demo --world tiny --data-only demo-models)"\n'
    "tailorgen run examples/tiny.toml --stages prompts,generate --set generate.quota=5",
    "demo": "tailorgen demo --out runs/demo",
    "demo-models": "tailorgen demo-models demo-models",
    "predict": "tailorgen predict runs/demo photo.jpg --top-k 3",
    "publish": "tailorgen publish runs/demo --repo-id USER/tiny-demo --include-onnx",
    "serve": "tailorgen serve runs/demo --backend onnx --port 8000",
    "space": "tailorgen space runs/demo --out space/",
    "hub": "tailorgen hub list --label cat",
    "show": "tailorgen show runs/demo --rejected",
    "score-metrics": "tailorgen score-metrics runs/demo/eval/clip-zeroshot.npy runs/demo/eval/targets.npy",
    "new-plugin": "tailorgen new-plugin my-writer --role prompt_writer --out plugins/",
}


def example_epilog(example: str) -> str:
    """A ``--help`` epilog showing ``example`` verbatim (``\\b`` stops click rewrapping it)."""
    lines = "\n".join(f"  {line}" for line in example.splitlines())
    return f"Example:\n\n\b\n{lines}"


def _third_party_plugins() -> bool:
    """Whether another distribution than tailorgen has an entry point in group ``tailorgen``: a
    metadata scan (tens of ms), while loading the registry imports every plugin module (about 1 s)."""
    import importlib.metadata as md

    return any(ep.dist is None or ep.dist.name != "tailorgen" for ep in md.entry_points(group="tailorgen"))


def plugin_commands() -> dict[str, click.Command]:
    """Commands installed plugins add through ``register_commands`` (strict mode: a failure is fatal)."""
    if not _third_party_plugins():  # tailorgen's own plugins add no commands: skip loading them
        return {}
    from tailorgen.registry import get_registry

    registry = get_registry()
    commands = registry.commands(reserved=COMMANDS)
    registry.check_strict()
    return {name: added.command for name, added in commands.items()}


class LazyGroup(click.Group):
    """Imports a subcommand's module only when that subcommand runs (keeps ``--help`` fast).

    Plugins are loaded only for a name that is no built-in command, or to list every command.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *plugin_commands()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return plugin_commands().get(cmd_name)
        module_name, attr = target.split(":")
        command: click.Command = getattr(importlib.import_module(module_name), attr)
        if command.epilog is None and cmd_name in EXAMPLES:
            command.epilog = example_epilog(EXAMPLES[cmd_name])
        return command

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if name and not name.startswith("-") and name not in COMMANDS:
            known = {*COMMANDS, *plugin_commands()}  # plugins load only for a name that is no built-in
            if name not in known:
                raise click.UsageError(f"No such command {name!r}{did_you_mean(name, known) or '.'}", ctx)
        return super().resolve_command(ctx, args)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show full tracebacks.")
@click.option(
    "--quiet",
    "-q",
    is_flag=True,
    envvar="TAILORGEN_QUIET",
    help="No progress bars or status lines: warnings and errors only (env TAILORGEN_QUIET=1).",
)
@click.option("--verbose", "-v", is_flag=True, help="Also show debug messages.")
@click.version_option(package_name="tailorgen")
@click.pass_context
def cli(ctx: click.Context, debug: bool, quiet: bool, verbose: bool) -> None:
    """tailorgen: zero-shot multi-label classifiers from tailored synthetic images.

    Status lines, warnings and progress bars go to stderr; stdout carries only a command's output.
    """
    if quiet and verbose:
        raise click.UsageError("--quiet and --verbose contradict each other; pass one")
    ctx.obj = {"debug": debug}
    set_quiet(quiet)
    if quiet:  # the Hugging Face libraries' own bars (transformers' "Loading weights"), read at import
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    configure_cli(quiet=quiet, verbose=verbose)


def main(argv: list[str] | None = None) -> Any:
    """Entry point: one-line errors and a non-zero exit, tracebacks only with ``--debug``."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        return cli.main(args=args, prog_name="tailorgen", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("error: interrupted; rerun the same command to resume", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("error: interrupted; rerun the same command to resume", err=True)
        sys.exit(130)
    except TailorgenError as exc:
        if debug:
            raise
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except Exception as exc:
        if debug:
            raise
        click.echo(f"error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)", err=True)
        sys.exit(1)
