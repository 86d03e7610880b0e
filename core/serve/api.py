"""The model behind ``POST /predict``: a LitServe API that batches concurrent requests.

LitServe collects up to ``max_batch_size`` requests, waiting at most ``batch_timeout`` seconds,
and runs them as one model call; a request may carry several images, so :meth:`batch` and
:meth:`unbatch` keep each request's rows together.
"""

from __future__ import annotations

import base64
import io
import signal
from typing import Any

import litserve as ls
import numpy as np
from tailorgen.predict.base import labels_json

__all__ = ["PredictAPI"]


class PredictAPI(ls.LitAPI):
    """Images -> top labels with any backend ``tailorgen predict`` has; the model loads in the worker."""

    def __init__(
        self,
        model: str,
        backend: str = "auto",
        *,
        provider: str = "cpu",
        device: str = "auto",
        threads: int | None = None,
        top_k: int = 5,
        threshold: float | np.ndarray | None = None,
        max_batch_size: int = 16,
        batch_timeout: float = 0.01,
    ) -> None:
        super().__init__(max_batch_size=max_batch_size, batch_timeout=batch_timeout)
        self.model, self.backend = model, backend
        self.provider, self.device_name, self.threads = provider, device, threads
        self.top_k, self.threshold = top_k, threshold
        self.predictor: Any = None

    def setup(self, device: str) -> None:
        from tailorgen.predict import load_predictor

        # Ctrl-C reaches the whole process group: the worker keeps running until the HTTP servers
        # have answered the requests in flight, then the parent stops it.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        self.predictor = load_predictor(
            self.model, self.backend, provider=self.provider, device=self.device_name, threads=self.threads
        )

    def decode_request(self, request, **kwargs: Any) -> tuple[list[str], np.ndarray]:  # type: ignore[no-untyped-def]
        """The canonical body UploadCheckMiddleware wrote -> (names, preprocessed images).

        ``request`` stays unannotated: LitServe then hands over the parsed JSON body."""
        from PIL import Image

        names, images = [], []
        for item in request["images"]:
            with Image.open(io.BytesIO(base64.b64decode(item["data"]))) as image:
                images.append(image.convert("RGB"))
            names.append(item["name"])
        return names, self.predictor.preprocess(images)

    def batch(self, inputs: list[tuple[list[str], np.ndarray]]) -> tuple[list[list[str]], np.ndarray]:
        return [names for names, _ in inputs], np.concatenate([images for _, images in inputs])

    def predict(
        self, x: tuple[list[list[str]], np.ndarray], **kwargs: Any
    ) -> tuple[list[list[str]], np.ndarray]:
        names, images = x
        return names, self.predictor.probabilities(images)

    def unbatch(self, output: tuple[list[list[str]], np.ndarray]) -> list[tuple[list[str], np.ndarray]]:
        names, rows = output
        bounds = np.cumsum([0, *(len(n) for n in names)])
        return [(n, rows[a:b]) for n, a, b in zip(names, bounds[:-1], bounds[1:], strict=True)]

    def encode_response(self, output: tuple[list[str], np.ndarray], **kwargs: Any) -> dict[str, Any]:
        names, rows = output
        labels = self.predictor.label_names
        results = [
            {"image": name, "labels": labels_json(row, labels, self.top_k, self.threshold)}
            for name, row in zip(names, rows, strict=True)
        ]
        return {"backend": self.predictor.backend, "results": results}
