"""The loopback Hub answers the real huggingface_hub client the way the Hub does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tailorgen.testing.hub_server import HubServer

TOKEN, OTHER = "hf_serverTESTtoken000000001", "hf_serverTESTtoken000000002"


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[HubServer]:
    with HubServer(tokens={TOKEN: "alice", OTHER: "bob"}, home=tmp_path / "hf-home") as server:
        yield server


def _folder(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def test_upload_download_revisions_and_listing(hub: HubServer, tmp_path: Path) -> None:
    with hub.client_env(token=TOKEN):
        from huggingface_hub import HfApi, ModelCard, hf_hub_download, snapshot_download

        api = HfApi()
        assert api.whoami()["name"] == "alice"
        url = api.create_repo("alice/m", exist_ok=True)
        assert api.create_repo("alice/m", exist_ok=True) == url  # exists: no error
        card = b"---\nlibrary_name: tailorgen\ntags: [zero-shot]\n---\n# m\n"
        weights = bytes(range(256)) * 1000
        first = api.upload_folder(
            folder_path=_folder(tmp_path / "v1", {"README.md": card, "w/a.bin": weights}), repo_id="alice/m"
        )
        second = api.upload_folder(
            folder_path=_folder(tmp_path / "v2", {"README.md": card, "w/a.bin": b"new"}),
            repo_id="alice/m",
            delete_patterns="*",
        )
        assert first.oid != second.oid

        assert Path(hf_hub_download("alice/m", "w/a.bin", revision=first.oid)).read_bytes() == weights
        assert Path(hf_hub_download("alice/m", "w/a.bin")).read_bytes() == b"new"
        snapshot = Path(snapshot_download("alice/m", revision=first.oid))
        assert (snapshot / "w" / "a.bin").read_bytes() == weights
        info = api.model_info("alice/m", files_metadata=True)
        assert info.sha == second.oid
        assert info.library_name == "tailorgen"
        assert {s.rfilename: s.size for s in info.siblings}["w/a.bin"] == 3
        assert ModelCard.load("alice/m").data.tags == ["zero-shot"]

        api.create_repo("alice/other")
        assert [m.id for m in api.list_models(filter="tailorgen")] == ["alice/m"]
        assert [m.id for m in api.list_models(search="oth")] == ["alice/other"]
        listed = next(iter(api.list_models(filter="tailorgen", cardData=True)))
        assert listed.card_data.library_name == "tailorgen"
    assert ("POST", "/api/models/alice/m/preupload/main") in hub.requests


def test_private_repos_auth_and_errors(hub: HubServer, tmp_path: Path) -> None:
    from huggingface_hub.errors import (
        HfHubHTTPError,
        RemoteEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    with hub.client_env(token=TOKEN):
        from huggingface_hub import HfApi, hf_hub_download

        api = HfApi()
        api.create_repo("alice/secret", private=True)
        api.upload_file(path_or_fileobj=b"x", path_in_repo="f.txt", repo_id="alice/secret")
        api.create_repo("alice/ds", repo_type="dataset")
        api.upload_file(
            path_or_fileobj=b"d", path_in_repo="data.csv", repo_id="alice/ds", repo_type="dataset"
        )
        assert Path(hf_hub_download("alice/ds", "data.csv", repo_type="dataset")).read_bytes() == b"d"
        with pytest.raises(RemoteEntryNotFoundError):
            hf_hub_download("alice/secret", "missing.txt")
        with pytest.raises(RevisionNotFoundError):
            hf_hub_download("alice/secret", "f.txt", revision="0" * 40)
        with pytest.raises(HfHubHTTPError) as denied:
            HfApi(token=OTHER).create_repo("alice/new")  # bob cannot write under alice
        assert denied.value.response.status_code == 403
        with pytest.raises(RepositoryNotFoundError):
            HfApi(token=OTHER).model_info("alice/secret")  # private: invisible to bob
        assert [m.id for m in HfApi(token=OTHER).list_models()] == []
        with pytest.raises(HfHubHTTPError) as bad:
            HfApi(token="hf_wrong").whoami()
        assert bad.value.response.status_code == 401
        api.delete_repo("alice/secret")
        with pytest.raises(RepositoryNotFoundError):
            api.model_info("alice/secret")
