"""``prompts.jsonl``: one record per candidate prompt, written a whole label set at a time.

Every record of a set carries ``set_records`` (how many records the set has) and ``fingerprint``
(the settings that shaped it), so a resumed run can tell finished sets from ones a crash cut short,
and refuses to mix prompts written under other settings.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tailorgen.errors import TailorgenError
from tailorgen.io import append_jsonl, atomic_write_text, read_jsonl

__all__ = ["PromptStore"]


class PromptStore:
    """Finished label sets of one ``prompts.jsonl``, by set id."""

    def __init__(self, path: Path, fingerprint: str) -> None:
        self.path = path
        self.fingerprint = fingerprint
        self.sets: dict[str, list[dict[str, Any]]] = {}
        self.dropped = 0  # records of sets a crash cut short
        for record in read_jsonl(path, repair=True):
            if record.get("fingerprint") != fingerprint:
                raise TailorgenError(
                    f"{path} was written with other prompt settings (writer, counts, word limits or seed)",
                    "write to another run directory (--out), or delete the file to rewrite every prompt",
                )
            self.sets.setdefault(record["set_id"], []).append(record)
        for key in [k for k, recs in self.sets.items() if len(recs) != recs[0].get("set_records")]:
            self.dropped += len(self.sets.pop(key))
        if self.dropped:  # so that the set's redo is not appended after its remains
            self._rewrite(list(self.sets))

    def __contains__(self, set_id: str) -> bool:
        return set_id in self.sets

    def add(self, records_by_set: dict[str, list[dict[str, Any]]]) -> None:
        """Append finished sets in one write (a crash leaves whole sets or a detectably short one)."""
        batch: list[dict[str, Any]] = []
        for key, records in records_by_set.items():
            stamped = [{**r, "set_records": len(records), "fingerprint": self.fingerprint} for r in records]
            self.sets[key] = stamped
            batch.extend(stamped)
        append_jsonl(self.path, batch)

    def finalize(self, order: Sequence[str]) -> list[dict[str, Any]]:
        """Rewrite the file atomically in ``order`` (sets not in it are dropped); return the records.

        The same settings then give the same bytes however often the run was interrupted.
        """
        return self._rewrite(order)

    def _rewrite(self, order: Sequence[str]) -> list[dict[str, Any]]:
        records = [r for key in order for r in self.sets.get(key, [])]
        atomic_write_text(self.path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
        return records
