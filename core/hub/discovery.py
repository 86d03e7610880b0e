"""Find published tailorgen models and their label sets (read from card metadata: no downloads)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tailorgen.hub.auth import hub_call, offline_mode, unreachable_hub

__all__ = ["PublishedModel", "find_models"]


@dataclass(frozen=True)
class PublishedModel:
    repo_id: str
    label_set: str | None
    seen: tuple[str, ...]
    unseen: tuple[str, ...]
    last_modified: str | None

    @property
    def labels(self) -> tuple[str, ...]:
        return self.seen + self.unseen

    def as_dict(self) -> dict[str, Any]:
        return {
            "repo_id": self.repo_id,
            "label_set": self.label_set,
            "seen": list(self.seen),
            "unseen": list(self.unseen),
            "last_modified": self.last_modified,
        }


def _label_set(card_data: Any) -> dict[str, Any]:
    value = card_data.get("label_set") if card_data is not None else None
    return value if isinstance(value, dict) else {}


def find_models(
    search: str | None = None, labels: tuple[str, ...] = (), limit: int = 100
) -> list[PublishedModel]:
    """tailorgen models on the Hub (library or tag ``tailorgen``) whose id matches ``search`` and that
    know every label in ``labels``."""
    if offline_mode():
        raise unreachable_hub("cannot list Hub models")
    from huggingface_hub import HfApi

    with hub_call("list tailorgen models on the Hub"):
        infos = list(
            HfApi().list_models(filter="tailorgen", search=search or None, cardData=True, limit=limit)
        )
    found = []
    for info in infos:
        label_set = _label_set(info.card_data)
        if info.library_name != "tailorgen" and not label_set:
            continue  # tagged `tailorgen` but not a classifier (e.g. a published text encoder)
        model = PublishedModel(
            repo_id=info.id,
            label_set=label_set.get("name"),
            seen=tuple(label_set.get("seen") or ()),
            unseen=tuple(label_set.get("unseen") or ()),
            last_modified=info.last_modified.isoformat() if info.last_modified else None,
        )
        wanted = {label.lower() for label in labels}
        if wanted <= {label.lower() for label in model.labels}:
            found.append(model)
    return found
