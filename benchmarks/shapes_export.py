"""Export variants judged on the shapes world: mAP per variant on its test split, refused ones marked.

Run (c) of shapes_zsmlc.py (prompts, generation, training, evaluation; same defaults), then the
export stage with every ONNX variant: fp32, optimised, fp16, dynamic int8, static int8 (calibrated
on the run's synthetic images) and the pixels (uint8-input) graph. Offline, a few minutes on 2 cores.

    python benchmarks/shapes_export.py [--work DIR] [--map-budget 1.0]

Last line: ``ratio=<static int8 mAP / fp32 mAP>``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import shapes_zsmlc

VARIANTS = {"optimize": True, "fp16": True, "int8": True, "int8_static": True, "pixels": True}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--map-budget", type=float, default=1.0)
    args = parser.parse_args()
    defaults = shapes_zsmlc.arguments([])
    seed = defaults.seeds[0]
    work = args.work or Path(tempfile.mkdtemp(prefix="shapes-export-"))
    data = shapes_zsmlc.seed_data(work, seed, defaults)
    config = shapes_zsmlc.base_config(defaults.weights.resolve(), data, defaults, seed)
    config["exporters"] = [{"plugin": "onnx", "options": VARIANTS}]
    config["export"] = {"map_budget": args.map_budget}
    shapes_zsmlc.run(config, work / "c", "prompts,generate,train,evaluate,export", defaults.threads)
    reports = json.loads((work / "c" / "export" / "validation.json").read_text())["artefacts"][0][
        "validation"
    ]
    print(f"runs: {work}")
    print(f"{'artefact':<28} {'mAP':>7} {'loss':>7}  verdict (budget {args.map_budget:g} mAP)")
    maps = {}
    for r in reports:
        maps[r["artefact"]] = r["map"]
        verdict = f"refused: {r['refused']}" if r["refused"] else "kept"
        print(f"{r['artefact']:<28} {r['map']:7.2f} {r['map_loss']:7.2f}  {verdict}")
    print(f"ratio={maps['model.int8-static.onnx'] / maps['model.onnx']:.3f}")


if __name__ == "__main__":
    main()
