"""The generation loop: plan a round, draw and judge its batches (this process's share), repeat."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from tailorgen.data.labels import LabelSet
from tailorgen.errors import TailorgenError
from tailorgen.runtime.distributed import Processes
from tailorgen.runtime.progress import progress
from tailorgen.synthetic.plan import DrawRule, Item, PromptPool, RoundBudget, Tally, plan_round
from tailorgen.synthetic.rule import AcceptanceRule
from tailorgen.synthetic.store import ImageStore

__all__ = ["Drawer", "run_rounds"]

logger = logging.getLogger(__name__)


@dataclass
class Drawer:
    """Draws a batch of items with the generator and judges it with the discriminator."""

    generator: Any
    discriminator: Any
    rule: AcceptanceRule
    labels: LabelSet
    #: the label names every image is scored against (the score matrix columns)
    names: list[str]

    def draw(self, batch: list[Item]) -> tuple[list[dict[str, Any]], list[Any]]:
        import torch

        images = self.generator.generate([it.prompt for it in batch], [it.seed for it in batch])
        columns = self.rule.columns(self.names)  # the label names, then background texts
        u = torch.as_tensor(self.discriminator.score(images, columns)).float().cpu()
        targets = torch.tensor([[name in it.targets for name in columns] for it in batch], dtype=torch.bool)
        judged = self.rule.judge(u, targets, columns, self.labels)
        n = len(self.names)  # columns[n:] are background texts: never labels, reported apart
        records = [
            {
                "id": it.id,
                "file_name": it.file_name,
                "labels": [name for name in judged.labels[i] if name not in columns[n:]],
                "targets": list(it.targets),
                "accepted": judged.accepted[i],
                "prompt": it.prompt,
                "seed": it.seed,
                "round": it.round,
                "scores": _rounded(self.names, judged.v[i, :n], 6),
                "clip_logits": _rounded(self.names, u[i, :n], 4),
                **({"background_scores": _rounded(columns[n:], judged.v[i, n:], 6)} if columns[n:] else {}),
            }
            for i, it in enumerate(batch)
        ]
        return records, images


def _rounded(names: list[str], values: Any, digits: int) -> dict[str, float]:
    return {name: round(float(x), digits) for name, x in zip(names, values.tolist(), strict=True)}


class _Saver:
    """Writes one batch's images and records in a background thread while the next batch is drawn
    (PNG compression, hashing and fsync release the GIL). At most one batch is in flight."""

    def __init__(self, store: ImageStore) -> None:
        self.store = store
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tailorgen-save")
        self.pending: Future[None] | None = None

    def submit(self, records: list[dict[str, Any]], images: list[Any]) -> None:
        self.wait()
        self.pending = self.pool.submit(self.store.save, records, images)

    def wait(self) -> None:
        if self.pending is not None:
            pending, self.pending = self.pending, None
            pending.result()  # re-raises a failed write here

    def close(self) -> None:
        try:
            self.wait()
        finally:
            self.pool.shutdown(wait=True)


def _draw_missing(drawer: Drawer, store: ImageStore, batch: list[Item], saver: _Saver) -> None:
    # The whole batch is redrawn even when only some items are missing: the same batch
    # composition gives bit-identical images (batched kernels round differently per batch size).
    todo = {it.id for it in batch if store.done(it) is None}
    if not todo:
        return
    records, images = drawer.draw(batch)
    keep = [i for i, record in enumerate(records) if record["id"] in todo]
    saver.submit([records[i] for i in keep], [images[i] for i in keep])


def run_rounds(
    drawer: Drawer,
    store: ImageStore,
    pool: PromptPool,
    targets: list[str],
    budget: RoundBudget,
    *,
    draw: DrawRule,
    max_rounds: int | None,
    batch_size: int,
    images_per_round: int,
    seed_for: Callable[..., int],
    procs: Processes,
) -> tuple[list[Item], Tally, int]:
    """Run rounds until no label needs (or may spend) more attempts; return all items, their
    tally (the quota applied) and the number of rounds run."""
    items: list[Item] = []
    tally = Tally()
    rounds = 0
    for round_no in itertools.count() if max_rounds is None else range(max_rounds):
        planned = plan_round(
            pool,
            targets,
            tally,
            budget,
            draw=draw,
            round_no=round_no,
            first_id=len(items),
            max_items=images_per_round,
            seed_for=seed_for,
        )
        if not planned:
            break
        rounds += 1
        items += planned
        store.refresh(planned)
        _apply_quota(store, items, budget.quota)  # a resumed round's surplus images need no file
        batches = [planned[i : i + batch_size] for i in range(0, len(planned), batch_size)]
        mine = [batches[b] for b in procs.mine(len(batches))]
        if procs.is_main:
            short = len({name for item in planned for name in item.targets})
            logger.info(
                f"[generate] round {round_no}: {len(planned)} images for {short} label(s) short of quota"
            )
            mine = progress(mine, desc=f"round {round_no}", unit="batch")
        saver = _Saver(store)
        try:
            for batch in mine:
                _draw_missing(drawer, store, batch, saver)
        finally:
            saver.close()
        procs.barrier()
        store.refresh(planned)
        tally = _apply_quota(store, items, budget.quota)
        _check_done(store, items)
    return items, tally, rounds


def _apply_quota(store: ImageStore, items: list[Item], quota: int) -> Tally:
    """Tally the known records in plan order and tell the store which images are surplus."""
    tally = Tally.of((store.record(item) for item in items), quota)
    store.surplus = tally.surplus_ids
    return tally


def _check_done(store: ImageStore, items: list[Item]) -> None:
    for item in items:
        if store.done(item) is None:
            raise TailorgenError(
                f"generate: no valid record for image {item.file_name} after its round",
                "a process may have died; rerun the same command to resume",
            )
