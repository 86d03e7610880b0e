"""tailorgen: zero-shot multi-label classifiers trained on tailored synthetic images.

The public API (docs/python-api.md)::

    import tailorgen

    config = tailorgen.load_config(
        {"labels": "coco-48-17", "prompt_writer": {"plugin": "template"}, "prompts": {"n_sets": 2}},
        overrides={"run": {"out_dir": "runs/prompts"}},
    )
    tailorgen.plan(config, stages=["prompts"])  # what a run would do; loads no model
    tailorgen.run(config, stages=["prompts"])  # template prompts: no model needed

``import tailorgen`` stays light (no torch): each name below is imported on first use.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from tailorgen.errors import ConfigError, PluginError, TailorgenError

if TYPE_CHECKING:  # the same names, for type checkers and IDEs (at run time they load lazily)
    from tailorgen.classifier import Classifier
    from tailorgen.config import RunConfig, load_config
    from tailorgen.data.labels import LabelSet, load_label_set
    from tailorgen.evaluation.metrics import ranking_metrics
    from tailorgen.hub import publish
    from tailorgen.log import set_verbosity
    from tailorgen.pipeline import plan_pipeline as plan
    from tailorgen.pipeline import run_pipeline as run
    from tailorgen.predict import Predictor, load_predictor

#: public name -> "module:attribute" it is imported from on first use. The one place to edit when a
#: module moves (keep the TYPE_CHECKING imports above in step).
_LAZY: dict[str, str] = {
    "Classifier": "tailorgen.classifier:Classifier",
    "LabelSet": "tailorgen.data.labels:LabelSet",
    "RunConfig": "tailorgen.config:RunConfig",
    "load_config": "tailorgen.config:load_config",
    "load_label_set": "tailorgen.data.labels:load_label_set",
    "load_predictor": "tailorgen.predict:load_predictor",
    "Predictor": "tailorgen.predict:Predictor",
    "plan": "tailorgen.pipeline:plan_pipeline",
    "publish": "tailorgen.hub:publish",
    "ranking_metrics": "tailorgen.evaluation.metrics:ranking_metrics",
    "run": "tailorgen.pipeline:run_pipeline",
    "set_verbosity": "tailorgen.log:set_verbosity",
}

__all__ = [
    "Classifier",
    "ConfigError",
    "LabelSet",
    "PluginError",
    "Predictor",
    "RunConfig",
    "TailorgenError",
    "__version__",
    "load_config",
    "load_label_set",
    "load_predictor",
    "plan",
    "publish",
    "ranking_metrics",
    "run",
    "set_verbosity",
]

try:
    __version__ = version("tailorgen")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+unknown"


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'tailorgen' has no attribute {name!r}")
    module_name, attribute = target.split(":")
    value = getattr(importlib.import_module(module_name), attribute)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
