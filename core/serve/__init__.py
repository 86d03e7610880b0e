"""An HTTP service for a trained classifier, with dynamic batching (LitServe).

>>> from tailorgen.serve import serve
>>> serve("runs/demo", backend="onnx", port=8000)  # POST /predict, GET /labels, GET /health
"""

from __future__ import annotations

from tailorgen.serve.server import ServeSettings, TailorgenServer, serve

__all__ = ["ServeSettings", "TailorgenServer", "serve"]
