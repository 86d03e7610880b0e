"""``save_pretrained`` / ``push_to_hub`` write the same model card and ``labels.json`` as ``tailorgen publish``.

The hub mixin would write its generic card; here the card is tailorgen's own, from whatever facts
there are (a run's classifier has the whole run; a classifier saved elsewhere only its config), and
it links only files the folder holds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["HubCardMixin", "folder_card", "refresh_run_card"]


class HubCardMixin:
    """Mixed in before ``PyTorchModelHubMixin``; passes the save folder, repo id and run to the card."""

    _hub_mixin_config: Any

    def save_pretrained(
        self,
        save_directory: str | Path,
        *,
        model_card_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Weights, ``config.json``, ``labels.json`` and the model card (``README.md``) in ``save_directory``;
        ``push_to_hub=True`` uploads them too.

        ``model_card_kwargs={"run_dir": RUN}`` names the run the classifier comes from (found by itself
        when ``save_directory`` is ``RUN/classifier``). The card is rewritten on every save: it
        describes these weights.
        """
        from tailorgen.hub.model_repo import LABELS_FILE
        from tailorgen.hub.run_facts import classifier_label_set
        from tailorgen.io import atomic_write_json

        folder = Path(save_directory)
        card_kwargs = {"repo_id": kwargs.get("repo_id") or folder.name, **(model_card_kwargs or {})}
        card_kwargs["folder"] = folder
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "README.md").unlink(missing_ok=True)  # the mixin keeps an existing card: a stale one
        labels = classifier_label_set(folder, dict(self._hub_mixin_config), card_kwargs.get("run_dir"))
        atomic_write_json(folder / LABELS_FILE, labels.model_dump(mode="json"))  # first: the card links it
        return super().save_pretrained(folder, model_card_kwargs=card_kwargs, **kwargs)  # type: ignore[misc]

    def push_to_hub(
        self, repo_id: str, *, model_card_kwargs: dict[str, Any] | None = None, **kwargs: Any
    ) -> Any:
        """Upload to ``repo_id`` (the mixin's push_to_hub), with the card naming that repo."""
        card_kwargs = {**(model_card_kwargs or {}), "repo_id": repo_id}
        return super().push_to_hub(repo_id, model_card_kwargs=card_kwargs, **kwargs)  # type: ignore[misc]

    def generate_model_card(
        self,
        *args: Any,
        folder: Path | None = None,
        repo_id: str = "",
        run_dir: str | Path | None = None,
        **kwargs: Any,
    ) -> Any:
        """tailorgen's model card (the one ``tailorgen publish`` writes) for the folder being saved."""
        return folder_card(dict(self._hub_mixin_config), folder, repo_id, run_dir, **kwargs)


def folder_card(
    config: dict[str, Any],
    folder: Path | None,
    repo_id: str = "",
    run_dir: str | Path | None = None,
    **kwargs: Any,
) -> Any:
    """The card of a classifier with ``config`` saved in ``folder`` (its run's facts when it has one)."""
    from tailorgen.errors import TailorgenError
    from tailorgen.hub.model_card import model_card
    from tailorgen.hub.run_facts import classifier_facts

    if folder is None:  # called directly: no folder, so no run facts and no files to link
        return model_card(classifier_facts(Path(), config), repo_id or "classifier", files=[], **kwargs)
    try:
        facts = classifier_facts(folder, config, run_dir)
    except TailorgenError:  # an unreadable run around it: the classifier's own facts still hold
        facts = classifier_facts(Path(), config)
    files = sorted({p.name for p in folder.iterdir()} | {"README.md"})
    kwargs.setdefault("has_onnx", "model.onnx" in files)
    return model_card(facts, repo_id or folder.name, files=files, **kwargs)


def refresh_run_card(folder: Path, name: str, run_dir: Path) -> None:
    """Rewrite a run's saved classifier card in place (after the run's evaluation changed)."""
    import json

    from tailorgen.io import atomic_write_text

    config = json.loads((folder / "config.json").read_text())
    atomic_write_text(folder / "README.md", str(folder_card(config, folder, name, run_dir)))
