"""Pasteable "how to use" snippets for model cards (tailorgen CLI and Python, plain onnxruntime)."""

from __future__ import annotations

__all__ = ["onnx_usage", "python_usage"]


def python_usage(repo_id: str) -> str:
    return f"""With tailorgen (`pip install tailorgen`):

```bash
tailorgen predict {repo_id} photo.jpg
```

```python
import torch
from PIL import Image
from tailorgen.classifier import Classifier

model = Classifier.from_pretrained("{repo_id}")  # add revision="<commit sha>" to pin a version
image = model.transform()(Image.open("photo.jpg").convert("RGB"))
with torch.no_grad():
    probabilities = model(image[None])[0]
for name, p in sorted(zip(model.label_names, probabilities.tolist()), key=lambda t: -t[1])[:5]:
    print(f"{{name}}: {{p:.3f}}")
```
"""


def onnx_usage(repo_id: str) -> str:
    return f"""
Without tailorgen or torch, with the exported ONNX graph (`pip install onnxruntime pillow numpy huggingface_hub`):

```python
import json

import numpy as np
import onnxruntime as ort
from huggingface_hub import hf_hub_download
from PIL import Image

repo = "{repo_id}"
session = ort.InferenceSession(hf_hub_download(repo, "model.onnx"), providers=["CPUExecutionProvider"])
config = json.load(open(hf_hub_download(repo, "config.json")))
pre, labels = config["preprocess"], config["label_names"]


def preprocess(path):
    # the classifier's eval transform: resize the whole image to size x size, or (resize = "crop")
    # the short side then centre-crop; antialiased; then normalise
    image = Image.open(path).convert("RGB")
    size, (w, h) = pre["image_size"], image.size
    resample = getattr(Image.Resampling, pre.get("interpolation", "bicubic").upper())
    if pre.get("resize", "crop") == "whole":
        image = image.resize((size, size), resample)
    else:
        long = int(size * max(w, h) / min(w, h))
        image = image.resize((size, long) if w <= h else (long, size), resample)
        left, top = round((image.width - size) / 2), round((image.height - size) / 2)
        image = image.crop((left, top, left + size, top + size))
    x = (np.asarray(image, dtype=np.float32) / 255.0 - np.float32(pre["mean"])) / np.float32(pre["std"])
    return x.transpose(2, 0, 1)[None].astype(np.float32)


probabilities = session.run(None, {{session.get_inputs()[0].name: preprocess("photo.jpg")}})[0][0]
for name, p in sorted(zip(labels, probabilities), key=lambda t: -t[1])[:5]:
    print(f"{{name}}: {{p:.3f}}")
```
"""
