"""Disk cost of the synthetic image format: PNG (tailorgen's default) vs JPEG (the reference).

Each image is resized to the generator's 768 x 768 and written as tailorgen writes it
(``tailorgen.synthetic.store.image_bytes``). Photographs stand in for diffusion output; by default
scikit-learn's two sample photographs, or pass image files. Prints bytes per image per format and
the PNG / JPEG ratio, and what a 30,000-image NUS-WIDE run would take.

    python benchmarks/image_format.py [IMAGE ...] [--size 768] [--quality 75]
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from PIL import Image
from tailorgen.synthetic.store import image_bytes


def _default_images() -> list[Path]:
    try:
        import sklearn.datasets
    except ImportError:
        raise SystemExit("pass image files (or install scikit-learn for its sample photographs)") from None
    folder = Path(sklearn.datasets.__file__).parent / "images"
    return sorted(folder.glob("*.jpg"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", nargs="*", type=Path)
    parser.add_argument("--size", type=int, default=768)
    parser.add_argument("--quality", type=int, default=75)
    args = parser.parse_args()
    sizes: dict[str, list[int]] = {"png": [], "jpeg": []}
    for path in args.images or _default_images():
        with Image.open(path) as image:
            square = image.convert("RGB").resize((args.size, args.size), Image.Resampling.BICUBIC)
        for fmt, found in sizes.items():
            found.append(len(image_bytes(square, fmt, args.quality)))
    png, jpeg = statistics.mean(sizes["png"]), statistics.mean(sizes["jpeg"])
    print(f"{len(sizes['png'])} images at {args.size} px")
    print(f"png:          {png / 1e6:.2f} MB per image, {30_000 * png / 1e9:.1f} GB per 30,000 images")
    print(
        f"jpeg q{args.quality}:     {jpeg / 1e6:.2f} MB per image, {30_000 * jpeg / 1e9:.1f} GB per 30,000 images"
    )
    print(f"png / jpeg:   {png / jpeg:.1f}x")


if __name__ == "__main__":
    main()
