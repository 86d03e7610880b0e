"""Loading a saved classifier safely: safetensors only, a complete config, clear errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tailorgen.errors import TailorgenError
from tailorgen.hub.sources import looks_local, missing_local

__all__ = ["REQUIRED_CONFIG_KEYS", "LoadingMixin", "hub_commit"]

REQUIRED_CONFIG_KEYS = ("clip_config", "label_names")
_WEIGHTS = "model.safetensors"
_HINT = "point it at a folder written by Classifier.save_pretrained (the train stage's classifier/)"


def _weights_file(model_id: str, **download: Any) -> str:
    folder = Path(model_id)
    if folder.is_dir():
        if not (folder / _WEIGHTS).is_file():
            found = ", ".join(
                sorted(p.name for p in folder.iterdir() if p.suffix in {".bin", ".pt", ".pth", ".ckpt"})
            )
            raise TailorgenError(
                f"classifier {model_id}: no {_WEIGHTS}"
                + (f" (found {found}; pickled weights are refused)" if found else ""),
                _HINT,
            )
        return str(folder / _WEIGHTS)
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError

    try:
        return hf_hub_download(repo_id=model_id, filename=_WEIGHTS, **download)
    except EntryNotFoundError:
        raise TailorgenError(
            f"classifier {model_id}: the repo has no {_WEIGHTS} (pickled weights are refused)", _HINT
        ) from None


def _check_schema(model_id: str, config: dict[str, Any]) -> None:
    """Types of the keys the model is rebuilt from: a hand-edited or foreign config.json fails here, in
    one line, instead of deep inside the model (or, worse, loading with a wrong label list)."""
    names = config["label_names"]
    problems = []
    if not (isinstance(names, list) and all(isinstance(n, str) and n for n in names)):
        problems.append("label_names must be a list of label names")
    for key in ("seen", "unseen"):
        value = config.get(key)
        if value is not None and not (
            isinstance(value, list) and set(map(str, value)) <= set(map(str, names))
        ):
            problems.append(f"{key} must list some of label_names")
    clip = config["clip_config"]
    if not (
        isinstance(clip, dict) and all(isinstance(clip.get(k), dict) for k in ("vision_cfg", "text_cfg"))
    ):
        problems.append("clip_config must be an open_clip model config with vision_cfg and text_cfg")
    if problems:
        raise TailorgenError(
            f"classifier {model_id}: config.json has the wrong schema: {'; '.join(problems)}", _HINT
        )


def _fetch_hub_config(repo_id: str, options: dict[str, Any]) -> str:
    """Fetch a Hub classifier's config.json first: a missing/private repo, a missing revision or a
    repo without config.json each get their own message (the hub mixin only warns and goes on).

    Returns its path in the cache, ``.../snapshots/<commit sha>/config.json``."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import (
        LocalEntryNotFoundError,
        RemoteEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    keys = ("revision", "cache_dir", "force_download", "token", "local_files_only")
    try:
        return hf_hub_download(repo_id, "config.json", **{k: options[k] for k in keys if k in options})
    except RepositoryNotFoundError:
        raise TailorgenError(
            f"classifier {repo_id}: no such Hub repo, or it is private",
            "check the id; for a private repo log in (hf auth login) or set HF_TOKEN",
        ) from None
    except RevisionNotFoundError:
        raise TailorgenError(
            f"classifier {repo_id}: revision {options.get('revision')!r} not found",
            "pass a branch, tag or commit sha of that repo",
        ) from None
    except RemoteEntryNotFoundError:
        raise TailorgenError(
            f"classifier {repo_id}: the repo has no config.json (not a tailorgen classifier)", _HINT
        ) from None
    except LocalEntryNotFoundError as exc:
        from tailorgen.hub.auth import unreachable_hub

        cause = exc.__cause__ or exc.__context__
        raise unreachable_hub(f"classifier {repo_id}: not in the local Hub cache", cause) from None


def hub_commit(repo_id: str, revision: str | None = None) -> str:
    """The commit sha ``revision`` (default: the main branch) of a Hub classifier resolves to now:
    asked of the Hub when online, the cached one offline."""
    return Path(_fetch_hub_config(repo_id, {"revision": revision})).parent.name


class LoadingMixin:
    """``from_pretrained`` that refuses pickles and incomplete configs with a TailorgenError."""

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | Path, **kwargs: Any) -> Any:
        from huggingface_hub.errors import HfHubHTTPError, HFValidationError, OfflineModeIsEnabled

        source = str(pretrained_model_name_or_path)
        path = Path(source).expanduser()
        if path.exists() and not path.is_dir():
            raise TailorgenError(f"classifier {source} is a file, not a folder", _HINT)
        if not path.is_dir() and looks_local(source):
            raise missing_local(source, _HINT)
        try:
            if not path.is_dir():
                _fetch_hub_config(source, kwargs)
            return super().from_pretrained(str(path) if path.is_dir() else source, **kwargs)  # type: ignore[misc]
        except (HfHubHTTPError, HFValidationError, OfflineModeIsEnabled) as exc:
            raise TailorgenError(
                f"cannot fetch classifier {source!r}: {exc}", "check the repo id and network"
            ) from None
        except ValueError as exc:  # malformed config.json
            raise TailorgenError(f"classifier {source}: unreadable config.json ({exc})", _HINT) from None

    @classmethod
    def _from_pretrained(
        cls,
        *,
        model_id: str,
        revision: str | None,
        cache_dir: Any,
        force_download: bool,
        local_files_only: bool,
        token: Any,
        map_location: str = "cpu",
        strict: bool = True,
        **model_kwargs: Any,
    ) -> Any:
        import safetensors.torch
        from safetensors import SafetensorError

        lacking = [key for key in REQUIRED_CONFIG_KEYS if not model_kwargs.get(key)]
        if lacking:
            raise TailorgenError(
                f"classifier {model_id}: config.json is missing or lacks {', '.join(lacking)}", _HINT
            )
        _check_schema(model_id, model_kwargs)
        weights = _weights_file(
            model_id,
            revision=revision,
            cache_dir=cache_dir,
            force_download=force_download,
            local_files_only=local_files_only,
            token=token,
        )
        try:
            model = cls(**model_kwargs)
        except (KeyError, TypeError) as exc:
            raise TailorgenError(
                f"classifier {model_id}: config.json does not describe a model ({exc})", _HINT
            ) from None
        try:
            safetensors.torch.load_model(model, weights, strict=strict, device=map_location)
        except (RuntimeError, SafetensorError, OSError) as exc:
            raise TailorgenError(
                f"classifier {model_id}: weights do not match config.json ({exc})", _HINT
            ) from None
        return model.eval()
