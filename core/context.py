"""What a stage sees: the config, the run directory, the label set, plugins and seeds."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from tailorgen.config import PluginSpec, RunConfig
from tailorgen.data.labels import LabelSet, load_label_set
from tailorgen.errors import ConfigError, PluginError
from tailorgen.registry import Registry, get_registry, validate_options

__all__ = ["RunContext", "derive_seed", "labels_source"]


def derive_seed(base: int, *parts: object) -> int:
    """A stable 63-bit seed from the run seed and any identifying parts (no Python ``hash``)."""
    text = "\x1f".join(map(str, (base, *parts)))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") >> 1


def labels_source(config: RunConfig) -> str | dict[str, Any]:
    """``labels`` as given, or a relative file found beside the config file (as that file's path)."""
    labels = config.labels
    if isinstance(labels, str) and config.path and not Path(labels).is_absolute():
        candidate = config.path.parent / labels
        return str(candidate.resolve()) if candidate.exists() else labels
    return labels


@dataclass
class RunContext:
    config: RunConfig
    run_dir: Path
    registry: Registry = field(default_factory=get_registry)
    label_set: LabelSet | None = None
    #: the stages this invocation runs, in order (a plan uses it to say what an earlier one writes)
    stages: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.label_set is None:
            self.label_set = load_label_set(labels_source(self.config))

    @property
    def labels(self) -> LabelSet:
        assert self.label_set is not None
        return self.label_set

    @property
    def seed(self) -> int:
        return self.config.run.seed

    def seed_for(self, *parts: object) -> int:
        return derive_seed(self.seed, *parts)

    def path(self, *parts: str) -> Path:
        return self.run_dir.joinpath(*parts)

    def settings(self, stage: str, model: type[BaseModel]) -> Any:
        return self.config.stage_settings(stage, model)

    def plugin_spec(self, role: str, key: str | None = None) -> PluginSpec:
        key = key or role
        spec = getattr(self.config, key, None)
        if spec is None:
            raise ConfigError(
                f"{self.config.where(key)}: no [{key}] section",
                f'add [{key}] with plugin = "..." (see `tailorgen plugins --role {role}`)',
            )
        return spec

    def validated_options(self, role: str, spec: PluginSpec, key: str) -> BaseModel:
        try:
            return validate_options(self.registry.get(role, spec.plugin), spec.options)
        except PluginError as exc:
            raise ConfigError(f"{self.config.where(key)}: {key}: {exc.message}", exc.hint) from None

    def validate_plugins(self) -> None:
        """Check every configured plugin exists and its options validate (before any work starts)."""
        config = self.config
        specs: list[tuple[str, str, PluginSpec]] = [
            (role, role, spec)
            for role in ("prompt_writer", "generator", "discriminator", "fusion_head")
            if (spec := getattr(config, role)) is not None
        ]
        specs += [("dataset", f"datasets.{key}", spec) for key, spec in config.datasets.items()]
        specs += [("exporter", f"exporters[{i}]", spec) for i, spec in enumerate(config.exporters)]
        for role, key, spec in specs:
            self.validated_options(role, spec, key)

    def create(self, role: str, key: str | None = None, spec: PluginSpec | None = None) -> Any:
        """Instantiate the plugin configured for ``role`` (section ``key``, default the role name)."""
        key = key or role
        spec = spec or self.plugin_spec(role, key)
        options = self.validated_options(role, spec, key)
        return self.registry.get(role, spec.plugin).cls(options)
