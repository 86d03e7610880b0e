"""Run configuration: one TOML file (or a dict), overridable by ``TAILORGEN_*`` env vars and ``--set key=value``.

Precedence (highest first): ``--set`` overrides, environment (``TAILORGEN_GENERATE__QUOTA=5``; nested
keys joined with ``__``), the TOML file. The CLI reads the environment; a config loaded from Python
reads it only with ``load_config(..., env=True)``, so a library call does not change with the shell.
Each ``--set key=value`` replaces the value at ``key``, so a table value replaces the whole table
(``--set 'generator.options={}'``); the config remembers where each value came from, so an error
names the file, the ``--set`` or the environment variable that gave the bad value.
``${VAR}`` in string values expands from the environment (``${CONFIG_DIR}`` is the config file's
folder), since the file asks for it by name.
"""

from __future__ import annotations

import os
import re
import string
import tomllib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict
from tailorgen.errors import ConfigError
from tailorgen.protocol import Protocol, apply_protocol
from tailorgen.runtime.devices import DEFAULT_DEVICE
from tailorgen.suggest import did_you_mean

__all__ = [
    "STAGE_ORDER",
    "PluginSpec",
    "RunConfig",
    "RunSection",
    "as_run_config",
    "dump_toml",
    "load_config",
    "parse_overrides",
    "unknown_stages_error",
]

STAGE_ORDER: tuple[str, ...] = ("prompts", "finetune", "generate", "train", "evaluate", "export", "publish")


def unknown_stages_error(unknown: list[str], where: str = "") -> ConfigError:
    """``unknown stage(s) trian; did you mean 'train'?`` (the hint lists every stage)."""
    suggestion = did_you_mean(unknown[0], STAGE_ORDER) if len(unknown) == 1 else ""
    return ConfigError(
        f"{where}unknown stage(s) {', '.join(unknown)}{suggestion}", f"stages are: {', '.join(STAGE_ORDER)}"
    )


class RunSection(BaseModel):
    """Where the run lives and what it does."""

    model_config = ConfigDict(extra="forbid")

    name: str = "run"
    out_dir: Path = Path("runs/run")
    seed: int = 0
    # publish is opt-in: it needs a repo id, a token and the network
    stages: list[str] = Field(default_factory=lambda: [s for s in STAGE_ORDER if s != "publish"])
    device: str = DEFAULT_DEVICE
    # "reference": the authors' code's behaviour where it differs (tailorgen.protocol)
    protocol: Protocol = "clean"


class PluginSpec(BaseModel):
    """Which plugin fills a role, and its options (validated by the plugin's own options model)."""

    model_config = ConfigDict(extra="forbid")

    plugin: str
    options: dict[str, Any] = Field(default_factory=dict)


class RunConfig(BaseSettings):
    """A whole run. Stage sections are free-form here and validated by each stage's own model."""

    model_config = SettingsConfigDict(env_prefix="TAILORGEN_", env_nested_delimiter="__", extra="forbid")

    run: RunSection = Field(default_factory=RunSection)
    labels: str | dict[str, Any]
    prompt_writer: PluginSpec | None = None
    generator: PluginSpec | None = None
    discriminator: PluginSpec | None = None
    fusion_head: PluginSpec | None = None
    datasets: dict[str, PluginSpec] = Field(default_factory=dict)
    exporters: list[PluginSpec] = Field(default_factory=list)
    prompts: dict[str, Any] = Field(default_factory=dict)
    finetune: dict[str, Any] = Field(default_factory=dict)
    generate: dict[str, Any] = Field(default_factory=dict)
    train: dict[str, Any] = Field(default_factory=dict)
    evaluate: dict[str, Any] = Field(default_factory=dict)
    export: dict[str, Any] = Field(default_factory=dict)
    publish: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)  # load_config layers the file, the environment and --set itself

    # filled in by load_config
    _path: Path | None = None
    #: dotted key -> where its value came from, when not the file (``--set generate.quota``)
    _origins: dict[str, str] = PrivateAttr(default_factory=dict)

    @property
    def path(self) -> Path | None:
        return self._path

    def where(self, key: str) -> str:
        """Where the value at dotted ``key`` came from: ``config FILE``, ``--set KEY`` or ``environment VAR``."""
        return _origin(key, self._path, self._origins)

    def stage_settings(self, stage: str, model: type[BaseModel]) -> Any:
        """Validate the ``[stage]`` section with the stage's own settings model."""
        try:
            return model.model_validate(getattr(self, stage))
        except ValidationError as exc:
            raise ConfigError(*_describe(exc, self.where, prefix=stage, model=model)) from None


def _origin(key: str, path: Path | None, origins: Mapping[str, str]) -> str:
    """The origin of ``key`` or of the table holding it; several, joined with " and ", when values
    under ``key`` came from different places."""
    parts = key.split(".")
    for end in range(len(parts), 0, -1):
        if (origin := origins.get(".".join(parts[:end]))) is not None:
            return origin
    file = f"config {path}" if path else "config"
    below = [origin for name, origin in origins.items() if name.startswith(key + ".")]
    return " and ".join(dict.fromkeys([file, *below]))


def _expand(value: Any, env: dict[str, str]) -> Any:
    if isinstance(value, str):
        try:
            return string.Template(value).substitute(env)
        except KeyError as exc:
            raise ConfigError(
                f"config value {value!r} uses ${{{exc.args[0]}}}, which is not set",
                "export it or edit the config",
            ) from None
        except ValueError:
            return value
    if isinstance(value, dict):
        return {k: _expand(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, env) for v in value]
    return value


_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)*$")


def _override_pairs(pairs: Sequence[str]) -> list[tuple[str, Any]]:
    """``["generate.quota=5"]`` -> ``[("generate.quota", 5)]``; values parse as TOML, else as strings."""
    out: list[tuple[str, Any]] = []
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not _KEY.match(key):
            raise ConfigError(
                f"bad --set {pair!r}", "write it as key.subkey=value, e.g. --set generate.quota=5"
            )
        try:
            value = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw
        out.append((key, value))
    return out


def _put(data: dict[str, Any], key: str, value: Any, origin: str) -> None:
    """Set dotted ``key`` in ``data`` to ``value`` (replacing what is there, a table too)."""
    node = data
    *parents, leaf = key.split(".")
    for depth, part in enumerate(parents):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            held = ".".join(parents[: depth + 1])
            raise ConfigError(
                f"{origin}: {held} is {type(child).__name__} {child!r}, not a table, so {key} cannot be set",
                f"set {held} itself, e.g. --set '{held}={{...}}'",
            )
        node = child
    node[leaf] = value


def _leaves(mapping: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """A nested mapping's values by dotted key (an empty table is a value: it replaces)."""
    out: list[tuple[str, Any]] = []
    for name, value in mapping.items():
        key = f"{prefix}{name}"
        if isinstance(value, Mapping) and value:
            out += _leaves(value, key + ".")
        else:
            out.append((key, value))
    return out


def parse_overrides(pairs: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """``["generate.quota=5", "run.name=x"]`` -> nested dict; values parse as TOML, else as strings."""
    out: dict[str, Any] = {}
    for key, value in _override_pairs(pairs):
        _put(out, key, value, f"--set {key}")
    return out


def _allowed_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    fields = model.model_fields
    for part in loc[:-1]:
        field = fields.get(str(part))
        ann = getattr(field, "annotation", None) if field else None
        inner = [
            a for a in getattr(ann, "__args__", (ann,)) if isinstance(a, type) and issubclass(a, BaseModel)
        ]
        if not inner:
            return []
        fields = inner[0].model_fields
    return list(fields)


def _describe(
    exc: ValidationError, where: Callable[[str], str], prefix: str = "", model: type[BaseModel] = RunConfig
) -> tuple[str, str]:
    problems: dict[str, list[str]] = {}  # where -> its problems, in order
    hints = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        key = ".".join(str(p) for p in (prefix, *loc) if p != "")
        msg = err["msg"]
        if "input" in err and err["type"] not in {"missing", "extra_forbidden"}:
            msg += f" (got {err['input']!r})"
        if err["type"] == "extra_forbidden":
            allowed = _allowed_at(model, loc)
            msg += did_you_mean(str(loc[-1]), allowed)
            if allowed:
                hints.append(
                    f"allowed keys{' under ' + '.'.join(map(str, (prefix, *loc[:-1]))).strip('.') if len(loc) > 1 or prefix else ''}: {', '.join(allowed)}"
                )
        problems.setdefault(where(key), []).append(f"{key}: {msg}")
    text = "; ".join(f"{where}: {'; '.join(found)}" for where, found in problems.items())
    return text, "; ".join(hints) or "fix the value where it came from"


def _read_toml(config_path: Path) -> dict[str, Any]:
    if not config_path.is_file():
        raise ConfigError(f"config file {config_path} not found", "pass the path of a .toml run config")
    try:
        return tomllib.loads(config_path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config {config_path} is not valid TOML: {exc}") from None


def _environment_values() -> list[tuple[str, Any, str]]:
    """``TAILORGEN_<SECTION>__<KEY>`` variables as (dotted key, value, variable), read as pydantic-settings does."""
    found = EnvSettingsSource(RunConfig)()
    return [(key, value, "TAILORGEN_" + key.replace(".", "__").upper()) for key, value in _leaves(found)]


def load_config(
    source: str | os.PathLike[str] | Mapping[str, Any],
    overrides: Sequence[str] | Mapping[str, Any] = (),
    *,
    env: bool = False,
) -> RunConfig:
    """Read, expand and validate a run config (plugin options are validated by the stages).

    ``source``: a TOML file's path, or the same content as a dict. ``overrides``: ``--set`` strings
    (``["generate.quota=5"]``: each replaces the value at its key, a table too) or a nested dict
    (``{"generate": {"quota": 5}}``: merged key by key). ``env``: also read ``TAILORGEN_*`` variables
    (the CLI does; a Python caller asks for it).
    """
    if isinstance(source, Mapping):
        config_path, data, config_dir = None, dict(source), Path.cwd()
    else:
        config_path = Path(source)
        data = _read_toml(config_path)
        config_dir = config_path.resolve().parent
    data = _expand(data, {**os.environ, "CONFIG_DIR": str(config_dir)})
    layers = (
        [(key, value, f"environment {name}") for key, value, name in _environment_values()] if env else []
    )
    if isinstance(overrides, Mapping):
        layers += [(key, value, f"override {key}") for key, value in _leaves(overrides)]
    else:
        layers += [(key, value, f"--set {key}") for key, value in _override_pairs(overrides)]
    origins: dict[str, str] = {}
    for key, value, origin in layers:
        _put(data, key, value, origin)
        origins = {k: o for k, o in origins.items() if k != key and not k.startswith(key + ".")}
        origins[key] = origin
    try:
        config = RunConfig(**data)
    except ValidationError as exc:
        raise ConfigError(*_describe(exc, lambda key: _origin(key, config_path, origins))) from None
    config._path, config._origins = config_path, origins
    unknown = [s for s in config.run.stages if s not in STAGE_ORDER]
    if unknown:
        raise unknown_stages_error(unknown, f"{config.where('run.stages')}: run.stages: ")
    return apply_protocol(config)


def as_run_config(config: RunConfig | str | os.PathLike[str] | Mapping[str, Any]) -> RunConfig:
    """``config`` itself, or the config loaded from the path or dict given."""
    return config if isinstance(config, RunConfig) else load_config(config)


def dump_toml(config: RunConfig, *, out_dir: str | None = None) -> str:
    """The config as TOML; ``out_dir`` replaces ``run.out_dir`` as written (``"${CONFIG_DIR}"``)."""
    import tomli_w

    data = config.model_dump(mode="json", exclude_none=True)
    if out_dir is not None:
        data["run"]["out_dir"] = out_dir
    return tomli_w.dumps(data)
