"""A small Hugging Face Hub-compatible HTTP server for tests, bound to loopback only.

It speaks the endpoints that huggingface_hub 2.4 uses when Xet is disabled (HF_HUB_DISABLE_XET=1):

    GET  /api/whoami-v2
    POST /api/repos/create                              (409 + url when the repo exists)
    POST /api/validate-yaml                             (README metadata check before a commit)
    POST /api/models/{ns}/{name}/preupload/{rev}        (every file is "regular": no LFS, no Xet)
    POST /api/models/{ns}/{name}/commit/{rev}           (ndjson: header, base64 files, deletions)
    GET  /api/models/{ns}/{name}[/revision/{rev}]       (model info: sha, siblings, card data)
    GET  /api/models/{ns}/{name}/tree/{rev}[/{path}]    (listing used by snapshot_download)
    HEAD/GET /{ns}/{name}/resolve/{rev}/{path}          (X-Repo-Commit, ETag, Content-Length, Range)

and, for dataset repos, what `datasets` 5.2 reads for `load_dataset(id, streaming=True)`:

    HEAD/GET /datasets/{ns}/{name}/resolve/{rev}/{path} (README.md, probes for {name}.py,
                                                          .huggingface.yaml, dataset_infos.json;
                                                          then byte ranges of the data files)
    GET  /api/datasets/{ns}/{name}[/revision/{rev}]     (dataset info: sha, siblings, card data, gated)
    GET  /api/datasets/{ns}/{name}/tree/{rev}[/{path}]  (HfFileSystem listings for the data_files globs)
    POST /api/datasets/{ns}/{name}/paths-info/{rev}     (HfFileSystem.info of single paths)

Dataset repos are put there by the tests (`publish_dataset`), not uploaded; a gated one shows its
card and file list to anyone and its files to token holders only (401 GatedRepo otherwise). The
parquet-export lookups of `datasets` go to a datasets-server host that does not resolve: it then
uses the repo's own files, as for any repo without an export.

Repos live on disk under `root`: one `repo.json` (visibility, branches, commits with their file
trees) and a content-addressed `blobs/` folder per repo. Every commit gets a fresh 40-hex id, and
a revision may be a branch name or a commit id. Writes need `Authorization: Bearer VALID_TOKEN`;
reads of public repos need no token, private repos answer like the real Hub (401 RepoNotFound).
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

_USER_NAME = "loopback-user"
_GITATTRIBUTES = (
    b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n"
    b"*.bin filter=lfs diff=lfs merge=lfs -text\n"
)


class HubError(Exception):
    """An HTTP error answer, with the X-Error-Code header that huggingface_hub maps to its exceptions."""

    def __init__(self, status: int, message: str, error_code: str | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_code = error_code
        self.headers = headers or {}


def _git_blob_sha1(data: bytes) -> str:
    """The git object id of a file, which the Hub uses as blob id and ETag of regular files."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class _RepoStore:
    """Disk storage of repos of one kind: metadata and commit history in JSON, file contents as blobs."""

    def __init__(self, root: Path, kind: str = "models"):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.kind = kind
        self.lock = threading.RLock()
        self._commit_counter = 0

    # -- layout -------------------------------------------------------------------------------
    def _repo_dir(self, repo_id: str) -> Path:
        return self.root / self.kind / repo_id

    def _load(self, repo_id: str) -> dict | None:
        meta_path = self._repo_dir(repo_id) / "repo.json"
        if not meta_path.is_file():
            return None
        return json.loads(meta_path.read_text())

    def _save(self, repo_id: str, meta: dict) -> None:
        meta_path = self._repo_dir(repo_id) / "repo.json"
        tmp_path = meta_path.with_suffix(".tmp")
        tmp_path.write_text(json.dumps(meta, indent=1))
        tmp_path.replace(meta_path)

    def _write_blob(self, repo_id: str, data: bytes) -> str:
        oid = _git_blob_sha1(data)
        blob_path = self._repo_dir(repo_id) / "blobs" / oid
        if not blob_path.exists():
            blob_path.parent.mkdir(parents=True, exist_ok=True)
            blob_path.write_bytes(data)
        return oid

    def read_blob(self, repo_id: str, oid: str) -> bytes:
        return (self._repo_dir(repo_id) / "blobs" / oid).read_bytes()

    def blob_size(self, repo_id: str, oid: str) -> int:
        return (self._repo_dir(repo_id) / "blobs" / oid).stat().st_size

    # -- repos --------------------------------------------------------------------------------
    def get(self, repo_id: str) -> dict | None:
        with self.lock:
            return self._load(repo_id)

    def create(self, repo_id: str, private: bool) -> bool:
        """Creates the repo with an initial commit (like the Hub); False if it already exists."""
        with self.lock:
            if self._load(repo_id) is not None:
                return False
            self._repo_dir(repo_id).mkdir(parents=True, exist_ok=True)
            created = _now_iso()
            meta = {"id": repo_id, "private": private, "created_at": created, "refs": {}, "commits": {}}
            oid = self._write_blob(repo_id, _GITATTRIBUTES)
            self._add_commit(meta, "main", {".gitattributes": oid}, "initial commit", "")
            self._save(repo_id, meta)
            return True

    def _new_commit_id(self, parent: str | None, message: str, tree: dict) -> str:
        self._commit_counter += 1
        seed = json.dumps([parent, message, sorted(tree.items()), time.time_ns(), self._commit_counter])
        return hashlib.sha1(seed.encode()).hexdigest()

    def _add_commit(self, meta: dict, branch: str, tree: dict, title: str, description: str) -> str:
        parent = meta["refs"].get(branch)
        oid = self._new_commit_id(parent, title, tree)
        meta["commits"][oid] = {
            "parent": parent,
            "title": title,
            "description": description,
            "date": _now_iso(),
            "tree": tree,
        }
        meta["refs"][branch] = oid
        return oid

    # -- revisions ----------------------------------------------------------------------------
    @staticmethod
    def resolve(meta: dict, revision: str) -> str:
        """Branch name or full commit id -> commit id; RevisionNotFound otherwise."""
        if revision in meta["refs"]:
            return meta["refs"][revision]
        if revision in meta["commits"]:
            return revision
        raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")

    def commit(self, repo_id: str, branch: str, operations: list[tuple[str, str, bytes | None]], title: str,
               description: str) -> str:
        """Applies ('add', path, data) / ('delete_file' | 'delete_folder', path, None) on top of a branch."""
        with self.lock:
            meta = self._load(repo_id)
            if branch not in meta["refs"]:
                raise HubError(404, f"Branch {branch} does not exist; commits go to a branch",
                               "RevisionNotFound")
            tree = dict(meta["commits"][meta["refs"][branch]]["tree"])
            for kind, path, data in operations:
                if kind == "add":
                    tree[path] = self._write_blob(repo_id, data)
                elif kind == "delete_file":
                    if path not in tree:
                        raise HubError(404, f"A file with this name doesn't exist: {path}", "EntryNotFound")
                    del tree[path]
                else:  # delete_folder
                    prefix = path.rstrip("/") + "/"
                    doomed = [p for p in tree if p.startswith(prefix)]
                    if not doomed:
                        raise HubError(404, f"A folder with this name doesn't exist: {path}", "EntryNotFound")
                    for p in doomed:
                        del tree[p]
            oid = self._add_commit(meta, branch, tree, title, description)
            self._save(repo_id, meta)
            return oid


class _DatasetStore(_RepoStore):
    """Dataset repos, published whole by the tests (`LoopbackHubServer.publish_dataset`), read by datasets."""

    def __init__(self, root: Path):
        super().__init__(root, kind="datasets")

    def publish(self, repo_id: str, files: dict[str, bytes], *, gated: bool, private: bool) -> str:
        """Create the repo if needed and commit `files` on main; returns the commit id."""
        with self.lock:
            self.create(repo_id, private=private)
            meta = self._load(repo_id)
            meta["gated"] = "manual" if gated else False  # the Hub's value for "accept the terms first"
            self._save(repo_id, meta)
            return self.commit(repo_id, "main", [("add", path, data) for path, data in files.items()],
                               "Upload dataset", "")


def _card_metadata(readme: bytes) -> dict | None:
    """The YAML block at the top of a README, parsed like the Hub does for model info."""
    text = readme.decode("utf-8", errors="replace")
    if not text.startswith("---"):
        return None
    end = text.find("\n---", 3)
    if end < 0:
        return None
    try:
        import yaml

        data = yaml.safe_load(text[3:end])
    except Exception:
        return None
    return data if isinstance(data, dict) else None


def _tree_listing(store: "_RepoStore", repo_id: str, meta: dict, sha: str, folder: str, recursive: bool,
                  revision: str) -> list[dict]:
    """The tree endpoint's answer: the folders, then the files under `folder` (one level or all)."""
    tree = meta["commits"][sha]["tree"]
    prefix = folder.strip("/") + "/" if folder.strip("/") else ""
    if prefix and not any(p.startswith(prefix) for p in tree):
        raise HubError(404, f"Path {folder} not found at {revision}", "EntryNotFound")
    files, folders = [], set()
    for path, oid in sorted(tree.items()):
        if not path.startswith(prefix):
            continue
        parts = path[len(prefix):].split("/")
        for depth in range(1, len(parts)):
            if depth > 1 and not recursive:
                break
            folders.add(prefix + "/".join(parts[:depth]))
        if len(parts) == 1 or recursive:
            files.append({"type": "file", "path": path, "oid": oid, "size": store.blob_size(repo_id, oid)})
    entries = [{"type": "directory", "path": f, "oid": _folder_oid(sha, f)} for f in sorted(folders)]
    return entries + files


def _folder_oid(sha: str, folder: str) -> str:
    return hashlib.sha1(f"{sha}:{folder}".encode()).hexdigest()


def _byte_range(header: str, size: int) -> tuple[int, int] | None:
    """(first, last) byte of a "bytes=a-b", "bytes=a-" or "bytes=-n" Range header; None without one."""
    if not header.startswith("bytes="):
        return None
    first, _, last = header[6:].split(",")[0].strip().partition("-")
    if not first:  # the last n bytes
        return max(0, size - int(last)), size - 1
    return int(first), min(int(last), size - 1) if last else size - 1


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the client's connection pool expects
    server: "_Server"

    # -- plumbing -----------------------------------------------------------------------------
    def log_message(self, format, *args):  # noqa: A002 - signature fixed by the base class
        pass  # quiet test output (and never echo request headers)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: bytes = b"", content_type: str = "application/json",
              headers: dict | None = None, head_only: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if not head_only and body:
            self.wfile.write(body)

    def _send_json(self, status: int, payload, headers: dict | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), headers=headers)

    def _send_error(self, error: HubError, head_only: bool = False) -> None:
        headers = dict(error.headers)
        headers["X-Error-Message"] = error.message
        if error.error_code:
            headers["X-Error-Code"] = error.error_code
        body = json.dumps({"error": error.message}).encode()
        self._send(error.status, body, headers=headers, head_only=head_only)

    # -- auth ---------------------------------------------------------------------------------
    def _token_state(self) -> str:
        """'valid', 'none' or 'invalid' for the Authorization header of this request."""
        auth = self.headers.get("Authorization")
        if not auth:
            return "none"
        scheme, _, token = auth.partition(" ")
        if scheme.lower() == "bearer" and token == self.server.valid_token:
            return "valid"
        return "invalid"

    def _check_token(self, write: bool) -> bool:
        state = self._token_state()
        if state == "invalid":
            raise HubError(401, "Invalid credentials in Authorization header")
        if write and state != "valid":
            raise HubError(401, "You must be authenticated to write to the Hub (send a valid Bearer token)")
        return state == "valid"

    def _repo_for_read(self, repo_id: str) -> dict:
        authenticated = self._check_token(write=False)
        meta = self.server.store.get(repo_id)
        if meta is None:
            raise HubError(404, "Repository not found", "RepoNotFound")
        if meta["private"] and not authenticated:
            # The Hub hides private repos from anonymous users as if they did not exist.
            raise HubError(401, "Repository not found", "RepoNotFound")
        return meta

    def _repo_for_write(self, repo_id: str) -> dict:
        self._check_token(write=True)
        meta = self.server.store.get(repo_id)
        if meta is None:
            raise HubError(404, "Repository not found", "RepoNotFound")
        return meta

    # -- dispatch -----------------------------------------------------------------------------
    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        segments = [unquote(s) for s in url.path.split("/")[1:]]
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        head_only = method == "HEAD"
        try:
            body = self._read_body() if method in ("POST", "PUT") else b""
            self._route(method, segments, query, body)
        except HubError as error:
            self._send_error(error, head_only=head_only)
        except Exception as error:  # a bug in this test server: answer 400, not a retried 5xx
            self._send_error(HubError(400, f"loopback hub server error: {type(error).__name__}: {error}"),
                             head_only=head_only)

    def do_GET(self):  # noqa: N802 - http.server naming
        self._dispatch("GET")

    def do_HEAD(self):  # noqa: N802
        self._dispatch("HEAD")

    def do_POST(self):  # noqa: N802
        self._dispatch("POST")

    def _route(self, method: str, seg: list[str], query: dict, body: bytes) -> None:
        if seg[:2] == ["api", "whoami-v2"] and method == "GET":
            return self._whoami()
        if seg[:3] == ["api", "repos", "create"] and method == "POST":
            return self._create_repo(json.loads(body or b"{}"))
        if seg[:2] == ["api", "validate-yaml"] and method == "POST":
            return self._validate_yaml(json.loads(body or b"{}"))
        if len(seg) >= 4 and seg[:2] == ["api", "datasets"]:
            return self._route_dataset_api(method, f"{seg[2]}/{seg[3]}", seg[4:], query, body)
        if len(seg) >= 6 and seg[0] == "datasets" and seg[3] == "resolve" and method in ("GET", "HEAD"):
            return self._resolve_dataset_file(f"{seg[1]}/{seg[2]}", seg[4], "/".join(seg[5:]), method == "HEAD")
        if len(seg) >= 4 and seg[:2] == ["api", "spaces"]:
            raise HubError(404, "This loopback Hub serves model and dataset repos only, not spaces", "RepoNotFound")
        if len(seg) >= 4 and seg[:2] == ["api", "models"]:
            repo_id, rest = f"{seg[2]}/{seg[3]}", seg[4:]
            if not rest and method == "GET":
                return self._model_info(repo_id, "main", query)
            if len(rest) == 2 and rest[0] == "revision" and method == "GET":
                return self._model_info(repo_id, rest[1], query)
            if len(rest) >= 2 and rest[0] == "tree" and method == "GET":
                return self._tree(repo_id, rest[1], "/".join(rest[2:]), query)
            if len(rest) == 2 and rest[0] == "preupload" and method == "POST":
                return self._preupload(repo_id, rest[1], json.loads(body or b"{}"))
            if len(rest) == 2 and rest[0] == "commit" and method == "POST":
                return self._commit(repo_id, rest[1], body)
        if len(seg) >= 5 and seg[2] == "resolve" and method in ("GET", "HEAD"):
            return self._resolve(f"{seg[0]}/{seg[1]}", seg[3], "/".join(seg[4:]), method == "HEAD")
        raise HubError(404, f"Unknown endpoint for this loopback Hub: {method} /{'/'.join(seg)}")

    # -- endpoints ----------------------------------------------------------------------------
    def _whoami(self) -> None:
        if self._token_state() != "valid":
            raise HubError(401, "Invalid credentials in Authorization header")
        self._send_json(200, {
            "type": "user",
            "id": "0" * 24,
            "name": _USER_NAME,
            "fullname": "Loopback Test User",
            "orgs": [],
            "auth": {"type": "access_token", "accessToken": {"displayName": "tests", "role": "write"}},
        })

    def _create_repo(self, payload: dict) -> None:
        self._check_token(write=True)
        if payload.get("type", "model") not in (None, "model"):
            raise HubError(400, "This loopback Hub serves model repos only")
        name = payload.get("name")
        if not name or "/" in name:
            raise HubError(400, f"Invalid repo name: {name!r}")
        repo_id = f"{payload.get('organization') or _USER_NAME}/{name}"
        private = payload.get("visibility") == "private" or bool(payload.get("private"))
        url = f"{self.server.url}/{repo_id}"
        if not self.server.store.create(repo_id, private=private):
            return self._send_json(409, {"error": "You already created this model repo", "url": url})
        self._send_json(200, {"url": url, "name": repo_id, "id": repo_id})

    def _validate_yaml(self, payload: dict) -> None:
        content = payload.get("content", "")
        if content.startswith("---") and _card_metadata(content.encode()) is None:
            return self._send_json(400, {"errors": [{"message": "README.md metadata is not valid YAML"}]})
        self._send_json(200, {"errors": [], "warnings": []})

    def _model_info(self, repo_id: str, revision: str, query: dict) -> None:
        meta = self._repo_for_read(repo_id)
        sha = _RepoStore.resolve(meta, revision)
        commit = meta["commits"][sha]
        with_blobs = query.get("blobs", "").lower() in ("1", "true")
        siblings = []
        for path, oid in sorted(commit["tree"].items()):
            sibling = {"rfilename": path}
            if with_blobs:
                sibling.update(size=self.server.store.blob_size(repo_id, oid), blobId=oid)
            siblings.append(sibling)
        card = None
        if "README.md" in commit["tree"]:
            card = _card_metadata(self.server.store.read_blob(repo_id, commit["tree"]["README.md"]))
        info = {
            "_id": hashlib.sha1(repo_id.encode()).hexdigest()[:24],
            "id": repo_id,
            "modelId": repo_id,
            "author": repo_id.split("/")[0],
            "sha": sha,
            "lastModified": commit["date"],
            "createdAt": meta["created_at"],
            "private": meta["private"],
            "gated": False,
            "disabled": False,
            "downloads": 0,
            "likes": 0,
            "tags": list((card or {}).get("tags") or []),
            "siblings": siblings,
        }
        if card is not None:
            info["cardData"] = card
            for key in ("library_name", "pipeline_tag"):
                if key in card:
                    info[key] = card[key]
        self._send_json(200, info)

    def _tree(self, repo_id: str, revision: str, folder: str, query: dict) -> None:
        meta = self._repo_for_read(repo_id)
        sha = _RepoStore.resolve(meta, revision)
        recursive = query.get("recursive", "").lower() in ("1", "true")
        self._send_json(200, _tree_listing(self.server.store, repo_id, meta, sha, folder, recursive, revision))

    def _preupload(self, repo_id: str, revision: str, payload: dict) -> None:
        meta = self._repo_for_write(repo_id)
        tree = meta["commits"][_RepoStore.resolve(meta, revision)]["tree"]
        files = [
            # "oid" lets the client skip files that did not change, as on the real Hub.
            {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False, "oid": tree.get(f["path"])}
            for f in payload.get("files", [])
        ]
        self._send_json(200, {"files": files, "commitOid": meta["refs"].get(revision)})

    def _commit(self, repo_id: str, revision: str, body: bytes) -> None:
        self._repo_for_write(repo_id)
        title, description, operations = "", "", []
        for line in body.splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            key, value = item["key"], item["value"]
            if key == "header":
                title, description = value.get("summary", ""), value.get("description", "")
            elif key == "file":
                if value.get("encoding") != "base64":
                    raise HubError(400, f"Unsupported file encoding {value.get('encoding')!r}")
                operations.append(("add", value["path"], base64.b64decode(value["content"])))
            elif key == "deletedFile":
                operations.append(("delete_file", value["path"], None))
            elif key == "deletedFolder":
                operations.append(("delete_folder", value["path"], None))
            else:  # lfsFile etc.: preupload only ever answers "regular"
                raise HubError(400, f"Unsupported commit operation {key!r} on this loopback Hub")
        if not title:
            raise HubError(400, "A commit needs a summary")
        oid = self.server.store.commit(repo_id, revision, operations, title, description)
        self._send_json(200, {
            "success": True,
            "commitOid": oid,
            "commitUrl": f"{self.server.url}/{repo_id}/commit/{oid}",
            "pullRequestUrl": None,
        })

    def _resolve(self, repo_id: str, revision: str, path: str, head_only: bool) -> None:
        meta = self._repo_for_read(repo_id)
        self._send_repo_file(self.server.store, repo_id, meta, revision, path, head_only)

    def _send_repo_file(self, store: "_RepoStore", repo_id: str, meta: dict, revision: str, path: str,
                        head_only: bool) -> None:
        """A file at a revision, with the headers hf_hub_download and HfFileSystem read; honours Range."""
        sha = _RepoStore.resolve(meta, revision)
        tree = meta["commits"][sha]["tree"]
        if path not in tree:
            raise HubError(404, f"Entry not found: {path}", "EntryNotFound", headers={"X-Repo-Commit": sha})
        oid = tree[path]
        data = store.read_blob(repo_id, oid)
        status, headers = 200, {"X-Repo-Commit": sha, "ETag": f'"{oid}"', "Accept-Ranges": "bytes"}
        byte_range = _byte_range(self.headers.get("Range", ""), len(data))
        if byte_range is not None and not head_only:  # resumed downloads and HfFileSystem's block reads
            start, end = byte_range
            if start >= len(data):
                raise HubError(416, f"Range {self.headers['Range']} not satisfiable for {len(data)} bytes",
                               headers={"Content-Range": f"bytes */{len(data)}"})
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            data, status = data[start:end + 1], 206
        self._send(status, data, content_type="application/octet-stream", headers=headers,
                   head_only=head_only)


    # -- dataset repos: what datasets' load_dataset(..., streaming=True) reads ------------------
    def _route_dataset_api(self, method: str, repo_id: str, rest: list[str], query: dict, body: bytes) -> None:
        if not rest and method == "GET":
            return self._dataset_info(repo_id, "main")
        if len(rest) == 2 and rest[0] == "revision" and method == "GET":
            return self._dataset_info(repo_id, rest[1])
        if len(rest) >= 2 and rest[0] == "tree" and method == "GET":
            return self._dataset_tree(repo_id, rest[1], "/".join(rest[2:]), query)
        if len(rest) == 2 and rest[0] == "paths-info" and method == "POST":
            return self._dataset_paths_info(repo_id, rest[1], body)
        raise HubError(404, f"Unknown dataset endpoint for this loopback Hub: {method} {'/'.join(rest)}")

    def _dataset_for_read(self, repo_id: str, content: bool) -> dict:
        """Like the Hub: a gated repo's card data and file list are public, its file contents need a token."""
        authenticated = self._check_token(write=False)
        meta = self.server.dataset_store.get(repo_id)
        if meta is None or (meta["private"] and not authenticated):
            raise HubError(401 if meta else 404, "Repository not found", "RepoNotFound")
        if content and meta.get("gated") and not authenticated:
            raise HubError(401, f"Access to dataset {repo_id} is restricted. You must have access to it and be "
                                "authenticated to access it. Please log in.", "GatedRepo")
        return meta

    def _dataset_info(self, repo_id: str, revision: str) -> None:
        meta = self._dataset_for_read(repo_id, content=False)
        store = self.server.dataset_store
        sha = _RepoStore.resolve(meta, revision)
        commit = meta["commits"][sha]
        card = None
        if "README.md" in commit["tree"]:
            card = _card_metadata(store.read_blob(repo_id, commit["tree"]["README.md"]))
        info = {
            "_id": hashlib.sha1(repo_id.encode()).hexdigest()[:24],
            "id": repo_id,
            "author": repo_id.split("/")[0],
            "sha": sha,
            "lastModified": commit["date"],
            "createdAt": meta["created_at"],
            "private": meta["private"],
            "gated": meta.get("gated", False),
            "disabled": False,
            "downloads": 0,
            "likes": 0,
            "tags": list((card or {}).get("tags") or []),
            "siblings": [{"rfilename": path} for path in sorted(commit["tree"])],
        }
        if card is not None:
            info["cardData"] = card
        self._send_json(200, info)

    def _dataset_tree(self, repo_id: str, revision: str, folder: str, query: dict) -> None:
        meta = self._dataset_for_read(repo_id, content=False)
        sha = _RepoStore.resolve(meta, revision)
        recursive = query.get("recursive", "").lower() in ("1", "true")
        listing = _tree_listing(self.server.dataset_store, repo_id, meta, sha, folder, recursive, revision)
        self._send_json(200, listing)

    def _dataset_paths_info(self, repo_id: str, revision: str, body: bytes) -> None:
        """Entries of the given paths (files or folders); paths that do not exist are left out."""
        meta = self._dataset_for_read(repo_id, content=False)
        store = self.server.dataset_store
        sha = _RepoStore.resolve(meta, revision)
        tree = meta["commits"][sha]["tree"]
        entries = []
        for path in parse_qs(body.decode()).get("paths", []):
            path = path.strip("/")
            if path in tree:
                entries.append({"type": "file", "path": path, "oid": tree[path],
                                "size": store.blob_size(repo_id, tree[path])})
            elif any(p.startswith(path + "/") for p in tree):
                entries.append({"type": "directory", "path": path, "oid": _folder_oid(sha, path)})
        self._send_json(200, entries)

    def _resolve_dataset_file(self, repo_id: str, revision: str, path: str, head_only: bool) -> None:
        meta = self._dataset_for_read(repo_id, content=True)
        if not head_only:
            self.server.dataset_reads.append((repo_id, path))
        self._send_repo_file(self.server.dataset_store, repo_id, meta, revision, path, head_only)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, store: _RepoStore, valid_token: str, url: str, dataset_store: "_DatasetStore"):
        super().__init__(address, _Handler)
        self.store = store
        self.dataset_store = dataset_store
        self.dataset_reads: list[tuple[str, str]] = []  # (repo, path) of every dataset file GET served
        self.valid_token = valid_token
        self.url = url


class LoopbackHubServer:
    """A Hub-compatible server on 127.0.0.1 for tests; `start()` serves it from a background thread."""

    VALID_TOKEN = "hf_loopbacktesttoken"
    USER_NAME = _USER_NAME

    def __init__(self, root: Path, port: int, host: str = "127.0.0.1"):
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"LoopbackHubServer binds loopback only; got host={host!r}")
        self.root = Path(root)
        self.host = host
        self.port = port
        self.url = f"http://{host}:{port}"
        self._store = _RepoStore(self.root)
        self._datasets = _DatasetStore(self.root)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Starts serving; returns once the server accepts connections."""
        if self._server is not None:
            return
        self._server = _Server((self.host, self.port), self._store, self.VALID_TOKEN, self.url,
                               dataset_store=self._datasets)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="loopback-hub", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection((self.host, self.port), timeout=1):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"loopback Hub did not start on {self.url}")
                time.sleep(0.02)

    def publish_dataset(self, repo_id: str, files: dict[str, bytes], *, gated: bool = False,
                        private: bool = False) -> str:
        """Put a dataset repo on this Hub (or a new commit of it) as `files`; returns the commit id.

        `gated=True` makes it behave like ILSVRC/imagenet-1k: anyone sees its card and file list,
        downloads need a token (401 GatedRepo without one)."""
        return self._datasets.publish(repo_id, files, gated=gated, private=private)

    def dataset_reads(self, repo_id: str) -> list[str]:
        """The paths of `repo_id` whose contents were served so far (GET, not HEAD), in order."""
        return [path for repo, path in self._server.dataset_reads if repo == repo_id]

    def stop(self) -> None:
        """Stops serving and closes the socket."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._server, self._thread = None, None

    def __enter__(self) -> "LoopbackHubServer":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
