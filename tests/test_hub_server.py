"""The loopback Hub server, exercised with huggingface_hub itself (the client the product uses)."""

from pathlib import Path

import pytest
from huggingface_hub import HfApi, hf_hub_download, snapshot_download
from huggingface_hub.errors import (
    EntryNotFoundError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from hub_server import LoopbackHubServer

TOKEN = LoopbackHubServer.VALID_TOKEN


def _write_tree(folder: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _read_tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in Path(folder).rglob("*") if p.is_file()}


def test_endpoint_is_the_loopback_server(hub_server):
    from huggingface_hub import constants

    assert constants.ENDPOINT == hub_server.url
    assert hub_server.url.startswith("http://127.0.0.1:")


def test_whoami_needs_the_valid_token(hub_server):
    api = HfApi()
    assert api.whoami(token=TOKEN)["name"] == LoopbackHubServer.USER_NAME
    with pytest.raises(HfHubHTTPError) as refused:
        api.whoami(token="hf_wrongtoken")
    assert refused.value.response.status_code == 401


def test_create_upload_snapshot_and_single_file(hub_server, tmp_path):
    api = HfApi(token=TOKEN)
    url = api.create_repo("tester/server-roundtrip")
    assert url.repo_id == "tester/server-roundtrip"
    with pytest.raises(HfHubHTTPError) as conflict:
        api.create_repo("tester/server-roundtrip")
    assert conflict.value.response.status_code == 409
    api.create_repo("tester/server-roundtrip", exist_ok=True)  # no error the second time

    files = {"model_index.json": b'{"a": 1}', "generator/config.json": b'{"ch": 8}',
             "generator/weights.bin": bytes(range(256)) * 40, "README.md": b"---\nlicense: mit\n---\n# hi\n"}
    _write_tree(tmp_path / "up", files)
    commit = api.upload_folder(repo_id="tester/server-roundtrip", folder_path=tmp_path / "up",
                               commit_message="first upload")
    assert len(commit.oid) == 40

    info = api.model_info("tester/server-roundtrip")
    assert info.sha == commit.oid
    assert {s.rfilename for s in info.siblings} == set(files) | {".gitattributes"}
    assert info.card_data is not None and info.card_data["license"] == "mit"

    local = snapshot_download("tester/server-roundtrip", cache_dir=tmp_path / "cache")
    got = _read_tree(Path(local))
    got.pop(".gitattributes")
    assert got == files
    assert Path(local).name == commit.oid  # the snapshot folder is named after the commit

    single = hf_hub_download("tester/server-roundtrip", "generator/config.json",
                             cache_dir=tmp_path / "cache2")
    assert Path(single).read_bytes() == b'{"ch": 8}'
    with pytest.raises(EntryNotFoundError):
        hf_hub_download("tester/server-roundtrip", "missing.txt", cache_dir=tmp_path / "cache2")


def test_history_revisions_and_deletions(hub_server, tmp_path):
    api = HfApi(token=TOKEN)
    repo = "tester/server-history"
    api.create_repo(repo)
    first = api.upload_file(path_or_fileobj=b"v1", path_in_repo="weights.txt", repo_id=repo).oid
    second = api.upload_file(path_or_fileobj=b"v2", path_in_repo="weights.txt", repo_id=repo).oid
    assert first != second

    old = hf_hub_download(repo, "weights.txt", revision=first, cache_dir=tmp_path / "c")
    new = hf_hub_download(repo, "weights.txt", revision="main", cache_dir=tmp_path / "c")
    assert Path(old).read_bytes() == b"v1" and Path(new).read_bytes() == b"v2"
    old_snapshot = snapshot_download(repo, revision=first, cache_dir=tmp_path / "s")
    assert (Path(old_snapshot) / "weights.txt").read_bytes() == b"v1"

    api.delete_file("weights.txt", repo_id=repo)
    assert "weights.txt" not in {s.rfilename for s in api.model_info(repo).siblings}
    assert "weights.txt" in {s.rfilename for s in api.model_info(repo, revision=second).siblings}
    with pytest.raises(RevisionNotFoundError):
        api.model_info(repo, revision="no-such-branch")
    with pytest.raises(RepositoryNotFoundError):
        api.model_info("tester/does-not-exist")


def test_unchanged_files_are_not_recommitted(hub_server):
    api = HfApi(token=TOKEN)
    repo = "tester/server-noop"
    api.create_repo(repo)
    first = api.upload_file(path_or_fileobj=b"same", path_in_repo="a.txt", repo_id=repo).oid
    again = api.upload_file(path_or_fileobj=b"same", path_in_repo="a.txt", repo_id=repo).oid
    assert again == first  # the preupload oid told the client nothing changed


def test_writes_need_a_token_and_private_repos_are_hidden(hub_server, tmp_path):
    anonymous = HfApi(token=False)
    with pytest.raises(HfHubHTTPError) as denied:
        anonymous.create_repo("tester/server-anon")
    assert denied.value.response.status_code == 401

    api = HfApi(token=TOKEN)
    api.create_repo("tester/server-public")
    with pytest.raises(HfHubHTTPError) as denied:
        anonymous.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id="tester/server-public")
    assert denied.value.response.status_code == 401
    with pytest.raises(HfHubHTTPError) as denied:
        HfApi(token="hf_wrongtoken").upload_file(path_or_fileobj=b"x", path_in_repo="x.txt",
                                                 repo_id="tester/server-public")
    assert denied.value.response.status_code == 401

    api.create_repo("tester/server-private", private=True)
    api.upload_file(path_or_fileobj=b"secret", path_in_repo="s.txt", repo_id="tester/server-private")
    assert api.model_info("tester/server-private").private is True
    with pytest.raises(RepositoryNotFoundError):
        anonymous.model_info("tester/server-private")
    path = hf_hub_download("tester/server-private", "s.txt", token=TOKEN, cache_dir=tmp_path / "c")
    assert Path(path).read_bytes() == b"secret"


def test_files_persist_on_disk_under_root(hub_server):
    api = HfApi(token=TOKEN)
    api.create_repo("tester/server-disk")
    api.upload_file(path_or_fileobj=b"on disk", path_in_repo="d.txt", repo_id="tester/server-disk")
    blobs = list((hub_server.root / "models" / "tester" / "server-disk" / "blobs").iterdir())
    assert any(b.read_bytes() == b"on disk" for b in blobs)


def test_server_binds_loopback_only(tmp_path):
    with pytest.raises(ValueError, match="loopback"):
        LoopbackHubServer(root=tmp_path, port=1, host="0.0.0.0")
