"""``tailorgen new-plugin``: write an installable plugin distribution for one role, tests included.

The files come from ``templates/`` (``string.Template``: ``$name``, ``$package``, ``$cls``, ...); each
role's class is a small working implementation whose conformance test passes as written.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from importlib import resources
from pathlib import Path
from string import Template

from tailorgen.errors import TailorgenError
from tailorgen.registry.hookspecs import ROLE_HOOKS

__all__ = ["CONFIG_TABLES", "distribution_name", "package_name", "write_plugin"]

_NAME = re.compile(r"^[a-z][a-z0-9-]*[a-z0-9]$|^[a-z]$")

#: role -> how a run config names the plugin (for the generated README)
CONFIG_TABLES: dict[str, str] = {
    "prompt_writer": "prompt_writer",
    "generator": "generator",
    "discriminator": "discriminator",
    "fusion_head": "fusion_head",
    "dataset": "datasets.mine",
    "exporter": "[exporters]",
}


def distribution_name(name: str) -> str:
    return f"tailorgen-{name}"


def package_name(name: str) -> str:
    return "tailorgen_" + name.replace("-", "_")


def _class_name(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("-"))


def _template(file_name: str) -> Template:
    return Template(resources.files("tailorgen.scaffold").joinpath("templates", file_name).read_text("utf-8"))


def write_plugin(name: str, role: str, out_dir: str | Path = ".") -> Path:
    """Write ``<out_dir>/tailorgen-<name>/`` (pyproject, package, README, conformance test); return it."""
    if not _NAME.match(name):
        raise TailorgenError(
            f"plugin name {name!r} is not a lower-case name like 'my-writer'",
            "use letters, digits and single dashes, starting with a letter",
        )
    if role not in ROLE_HOOKS:
        raise TailorgenError(f"unknown role {role!r}", f"use one of {', '.join(ROLE_HOOKS)}")
    target = Path(out_dir) / distribution_name(name)
    if target.exists():
        raise TailorgenError(f"{target} already exists", "pick another --out folder or plugin name")
    package = package_name(name)
    values = {
        "name": name,
        "role": role,
        "role_words": role.replace("_", " "),
        "package": package,
        "cls": _class_name(name),
        "hook": ROLE_HOOKS[role],
        "config_table": CONFIG_TABLES[role],
    }
    test_template = "test_conformance_dataset.py.tmpl" if role == "dataset" else "test_conformance.py.tmpl"
    files = {
        "pyproject.toml": "pyproject.toml.tmpl",
        "README.md": "README.md.tmpl",
        f"{package}/__init__.py": "init.py.tmpl",
        f"{package}/plugin.py": f"plugin_{role}.py.tmpl",
        "tests/test_conformance.py": test_template,
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    # written into a sibling folder and renamed: a failure never leaves half a distribution behind
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        for relative, template in files.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(_template(template).substitute(values), encoding="utf-8")
        staging.chmod(0o755)  # mkdtemp makes it private; this is an ordinary source folder
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
