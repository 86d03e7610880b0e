"""Speed of tailorgen.evaluation.metrics (mAP + F1@3 + F1@5) vs scikit-learn AP per label + a per-image F1 loop.

40,000 images x 1,006 labels (NUS-WIDE GZSL size), random labels (~3 per image) and random scores
that are distinct within each label (scikit-learn's AP groups tied scores, the ZS-MLC protocol
breaks ties by sort order; with distinct scores both definitions agree). Both sides compute the
same numbers, checked before the table. Like with like: the process is pinned to ``--threads``
CPUs (default 1) before either side runs, and both sides keep the best of ``--repeat`` runs. The
headline is CPU time (all threads), which load from other processes barely moves; wall-clock is
shown too. Prints the table, then ``ratio=<baseline CPU s / tailorgen CPU s>``.

    python benchmarks/metrics_speed.py [--images 40000] [--labels 1006] [--repeat 3] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from sklearn.metrics import average_precision_score
from tailorgen.evaluation.metrics import ranking_metrics


def make_data(n: int, c: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ranks = rng.permuted(np.tile(np.arange(n, dtype=np.float32), (c, 1)), axis=1).T  # distinct per label
    scores = np.ascontiguousarray(ranks / np.float32(n))
    labels = rng.random((n, c)) < 3.0 / c
    return scores, labels


def baseline(scores: np.ndarray, labels: np.ndarray, ks: tuple[int, ...]) -> dict[str, float]:
    """The straightforward way: scikit-learn AP label by label, then a loop over images for F1@K."""
    s_by_label, y_by_label = np.ascontiguousarray(scores.T), np.ascontiguousarray(labels.T)
    ap = [
        average_precision_score(y, s) if y.any() else 0.0 for y, s in zip(y_by_label, s_by_label, strict=True)
    ]
    out = {"mAP": float(np.mean(ap) * 100)}
    tp = dict.fromkeys(ks, 0)
    for row_scores, row_labels in zip(scores, labels, strict=True):
        order = np.argsort(-row_scores, kind="stable")
        for k in ks:
            tp[k] += int(row_labels[order[:k]].sum())
    for k in ks:
        p, r = tp[k] / (len(scores) * k), tp[k] / labels.sum()
        out[f"F1@{k}"] = 200 * p * r / (p + r)
    return out


def timed(fn, repeat: int) -> tuple[float, float, dict]:
    """Best wall-clock and CPU seconds (all threads) over ``repeat`` runs, and the result."""
    wall, cpu, result = float("inf"), float("inf"), {}
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = fn()
        wall, cpu = min(wall, time.perf_counter() - start), min(cpu, time.process_time() - start_cpu)
    return wall, cpu, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=40_000)
    parser.add_argument("--labels", type=int, default=1_006)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each side (best of)")
    parser.add_argument("--threads", type=int, default=1, help="CPUs both sides may use")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):  # tailorgen's label blocks and any BLAS threads alike
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[: args.threads])
    ks = (3, 5)
    scores, labels = make_data(args.images, args.labels)
    fast_s, fast_cpu, fast = timed(lambda: ranking_metrics(scores, labels, ks), args.repeat)
    slow_s, slow_cpu, slow = timed(lambda: baseline(scores, labels, ks), args.repeat)
    for key, value in slow.items():
        if abs(fast[key] - value) > 1e-6:
            raise SystemExit(f"results differ: {key} tailorgen {fast[key]!r} vs baseline {value!r}")
    print(f"{args.images} images x {args.labels} labels, {int(labels.sum())} positives; mAP, F1@3, F1@5")
    print(f"{'implementation':<44}{'wall s':>8}{'CPU s':>8}   mAP     F1@3    F1@5")
    for name, sec, cpu, res in (
        ("tailorgen.evaluation.metrics.ranking_metrics", fast_s, fast_cpu, fast),
        ("sklearn AP per label + per-image F1 loop", slow_s, slow_cpu, slow),
    ):
        print(f"{name:<44}{sec:>8.3f}{cpu:>8.3f}  {res['mAP']:6.3f}  {res['F1@3']:6.3f}  {res['F1@5']:6.3f}")
    print(
        f"{_threads()} CPU(s) for both sides, best of {args.repeat} runs each; "
        f"wall-clock ratio {slow_s / fast_s:.1f}"
    )
    print(f"ratio={slow_cpu / fast_cpu:.1f}")


def _threads() -> int:
    from tailorgen.evaluation.ranking import worker_count

    return worker_count()


if __name__ == "__main__":
    main()
