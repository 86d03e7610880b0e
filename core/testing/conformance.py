"""The plugin conformance kit: contract checks a plugin author runs against their own plugin module.

>>> from tailorgen.testing.conformance import check_plugin
>>> check_plugin(my_plugin, demo_models, tmp_path, options={"my-writer": {"shout": True}})

Each check raises :class:`ConformanceError` (an ``AssertionError``, so pytest reports it as a test
failure) with a message naming the entry and what the contract asks for.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from tailorgen.registry import PluginEntry
from tailorgen.testing.checks import ConformanceError
from tailorgen.testing.entry_checks import check_entry, check_options
from tailorgen.testing.registration_checks import (
    HEAVY_MODULES,
    check_lazy_imports,
    check_registration,
    isolated_registry,
)
from tailorgen.testing.role_checks import ROLE_CHECKS, CheckInputs

__all__ = [
    "HEAVY_MODULES",
    "CheckInputs",
    "ConformanceError",
    "check_entry",
    "check_lazy_imports",
    "check_options",
    "check_outputs",
    "check_plugin",
    "check_registration",
    "isolated_registry",
]


def check_outputs(entry: PluginEntry, instance: Any, inputs: CheckInputs) -> None:
    """The role-specific output contract on the tiny models (see :mod:`tailorgen.testing.role_checks`)."""
    ROLE_CHECKS[entry.role](instance, inputs)


def check_plugin(
    module: ModuleType,
    demo_models: Mapping[str, Path],
    work_dir: str | Path,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    registration_only: Iterable[str] = (),
    lazy_imports: bool = True,
    dataset_split: str = "test",
    label_names: Sequence[str] = (),
) -> list[str]:
    """Every check for every entry ``module`` registers; returns a line per entry that passed.

    ``options`` maps an entry name to the options to test it with (e.g. the tiny model's path);
    names in ``registration_only`` skip the output checks (e.g. an exporter that needs a GPU).
    A dataset is loaded with ``dataset_split`` over ``label_names`` (default: the tiny COCO labels).
    """
    if lazy_imports:
        check_lazy_imports(module.__name__)
    inputs = CheckInputs(dict(demo_models), Path(work_dir), dataset_split, list(label_names))
    passed = []
    for entry in check_registration(module):
        with _about(entry):
            instance = check_entry(entry, (options or {}).get(entry.name))
            if entry.name not in set(registration_only):
                check_outputs(entry, instance, inputs)
        passed.append(f"{entry.role} {entry.name!r}: ok")
    return passed


@contextlib.contextmanager
def _about(entry: PluginEntry) -> Iterator[None]:
    """Failures inside name the entry and its plugin: "generator 'x' (plugin 'p'): ..."."""
    label = f"{entry.role} {entry.name!r}"
    where = f"{label} (plugin {entry.source.plugin!r})"
    try:
        yield
    except ConformanceError as exc:
        message = str(exc).removeprefix(f"{label}: ")
        raise ConformanceError(f"{where}: {message}") from exc
    except Exception as exc:  # the plugin's own code crashed inside a check
        raise ConformanceError(f"{where}: raised {type(exc).__name__}: {exc}") from exc
