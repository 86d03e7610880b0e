"""Reference exporters (ONNX, TensorRT) and the pieces they share: metadata and validation.

Each exporter is a plugin of the ``exporter`` role, registered through the ``tailorgen`` entry-point
group exactly like a third-party one (OpenVINO, CoreML, ...) would be.
"""

from __future__ import annotations

__all__: list[str] = []
