"""How a plugin author tests their plugin: one call to the tailorgen conformance kit."""

from __future__ import annotations

from pathlib import Path

import tailorgen_example_plugin
from tailorgen.testing.conformance import check_plugin


def test_example_plugin_conforms(demo_models: dict[str, Path], tmp_path: Path) -> None:
    passed = check_plugin(
        tailorgen_example_plugin, demo_models, tmp_path, options={"shouty": {"exclamations": 2}}
    )
    assert passed == [
        "fusion_head 'scaled-adapter': ok",
        "generator 'stripes': ok",
        "prompt_writer 'shouty': ok",
    ]


def test_example_plugin_conforms_with_the_fixture(plugin_conformance) -> None:  # type: ignore[no-untyped-def]
    """The same through the pytest plugin's fixture (demo_models and tmp_path bound)."""
    passed = plugin_conformance(tailorgen_example_plugin, options={"shouty": {"exclamations": 0}})
    assert len(passed) == 3
