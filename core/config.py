"""Run configuration: one TOML file, overridable by ``TAILORGEN_*`` env vars and ``--set key=value``.

Precedence (highest first): ``--set`` overrides, environment (``TAILORGEN_GENERATE__QUOTA=5``; nested
keys joined with ``__``), the TOML file. ``${VAR}`` in string values expands from the environment
(``${CONFIG_DIR}`` is the config file's folder).
"""

from __future__ import annotations

import os
import re
import string
import tomllib
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from tailorgen.errors import ConfigError

__all__ = [
    "STAGE_ORDER",
    "PluginSpec",
    "RunConfig",
    "RunSection",
    "dump_toml",
    "load_config",
    "parse_overrides",
]

STAGE_ORDER: tuple[str, ...] = ("prompts", "finetune", "generate", "train", "evaluate", "export", "publish")

_file_values: ContextVar[dict[str, Any]] = ContextVar("tailorgen_config_file_values")


class RunSection(BaseModel):
    """Where the run lives and what it does."""

    model_config = ConfigDict(extra="forbid")

    name: str = "run"
    out_dir: Path = Path("runs/run")
    seed: int = 0
    # publish is opt-in: it needs a repo id, a token and the network
    stages: list[str] = Field(default_factory=lambda: [s for s in STAGE_ORDER if s != "publish"])
    device: str = "auto"


class PluginSpec(BaseModel):
    """Which plugin fills a role, and its options (validated by the plugin's own options model)."""

    model_config = ConfigDict(extra="forbid")

    plugin: str
    options: dict[str, Any] = Field(default_factory=dict)


class _FileSource(PydanticBaseSettingsSource):
    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(_file_values.get({}))


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
        return init_settings, env_settings, _FileSource(settings_cls)

    # filled in by load_config
    _path: Path | None = None

    @property
    def path(self) -> Path | None:
        return self._path

    def stage_settings(self, stage: str, model: type[BaseModel]) -> Any:
        """Validate the ``[stage]`` section with the stage's own settings model."""
        try:
            return model.model_validate(getattr(self, stage))
        except ValidationError as exc:
            raise ConfigError(*_describe(exc, self._path, prefix=stage, model=model)) from None


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


def parse_overrides(pairs: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """``["generate.quota=5", "run.name=x"]`` -> nested dict; values parse as TOML, else as strings."""
    out: dict[str, Any] = {}
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
        node = out
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {pair!r} conflicts with another --set of {part!r}")
        node[leaf] = value
    return out


def _allowed_at(model: type[BaseModel], loc: tuple[Any, ...]) -> str:
    fields = model.model_fields
    for part in loc[:-1]:
        field = fields.get(str(part))
        ann = getattr(field, "annotation", None) if field else None
        inner = [
            a for a in getattr(ann, "__args__", (ann,)) if isinstance(a, type) and issubclass(a, BaseModel)
        ]
        if not inner:
            return ""
        fields = inner[0].model_fields
    return ", ".join(fields)


def _describe(
    exc: ValidationError, path: Path | None, prefix: str = "", model: type[BaseModel] = RunConfig
) -> tuple[str, str]:
    where = f"config {path}" if path else "config"
    problems, hints = [], []
    for err in exc.errors():
        loc = tuple(err["loc"])
        key = ".".join(str(p) for p in (prefix, *loc) if p != "")
        msg = err["msg"]
        if "input" in err and err["type"] not in {"missing", "extra_forbidden"}:
            msg += f" (got {err['input']!r})"
        problems.append(f"{key}: {msg}")
        if err["type"] == "extra_forbidden":
            allowed = _allowed_at(model, loc)
            if allowed:
                hints.append(
                    f"allowed keys{' under ' + '.'.join(map(str, (prefix, *loc[:-1]))).strip('.') if len(loc) > 1 or prefix else ''}: {allowed}"
                )
    return f"{where}: {'; '.join(problems)}", "; ".join(hints) or "fix the value in the file, env or --set"


def load_config(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> RunConfig:
    """Read, expand and validate a run config (plugin options are validated by the stages)."""
    config_path = Path(path)
    if not config_path.is_file():
        raise ConfigError(f"config file {config_path} not found", "pass the path of a .toml run config")
    try:
        data = tomllib.loads(config_path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config {config_path} is not valid TOML: {exc}") from None
    env = {**os.environ, "CONFIG_DIR": str(config_path.resolve().parent)}
    token = _file_values.set(_expand(data, env))
    try:
        config = RunConfig(**parse_overrides(overrides))
    except ValidationError as exc:
        raise ConfigError(*_describe(exc, config_path)) from None
    finally:
        _file_values.reset(token)
    unknown = [s for s in config.run.stages if s not in STAGE_ORDER]
    if unknown:
        raise ConfigError(
            f"config {config_path}: run.stages: unknown stage(s) {', '.join(unknown)}",
            f"stages are: {', '.join(STAGE_ORDER)}",
        )
    config._path = config_path
    return config


def dump_toml(config: RunConfig) -> str:
    import tomli_w

    return tomli_w.dumps(config.model_dump(mode="json", exclude_none=True))
