"""Raw landing of live responses: every page kept as received (gzip), with URL, fetched_at and sha256.

Layout: <landing_dir>/<catalogue>/<table_id>/<query signature>/<Modified stamp>/
          manifest.json        what was fetched, when, from where; written last, so its presence means complete
          0000-TableInfos.json.gz, 0001-DataProperties.json.gz, …
A table whose Modified stamp and query are unchanged is read back from here instead of downloaded again,
and `heerlen run --live --replay` rebuilds from here without network.

Every path component is one plain name: a catalogue, table id or signature with a separator or `..` is
refused, and a Modified stamp is reduced to letters, digits and '-', so nothing lands outside the root.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from .http import Response

MANIFEST = "manifest.json"


@dataclass
class LandedFetch:
    dir: Path
    manifest: dict
    _final: Path | None = None
    _docs: dict[str, list[dict]] = field(default_factory=dict)

    def add(self, entity: str, response: Response) -> dict:
        n = len(self.manifest["pages"])
        name = f"{n:04d}-{re.sub(r'[^A-Za-z0-9]+', '_', entity)}.json.gz"
        (self.dir / name).write_bytes(gzip.compress(response.body, mtime=0))
        page = {"entity": entity, "file": name, "url": response.url, "status": response.status,
                "fetched_at": response.fetched_at, "bytes": len(response.body),
                "sha256": hashlib.sha256(response.body).hexdigest()}
        self.manifest["pages"].append(page)
        return page

    def complete(self) -> None:
        self.manifest["completed_at"] = datetime.now(UTC).isoformat()
        (self.dir / MANIFEST).write_text(json.dumps(self.manifest, indent=1), encoding="utf-8")
        assert self._final is not None
        if self._final.exists():  # a concurrent or earlier identical fetch; keep one
            shutil.rmtree(self._final)
        os.replace(self.dir, self._final)
        self.dir, self._final = self._final, None

    def abandon(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    def docs(self, entity: str) -> list[dict]:
        if entity not in self._docs:
            self._docs[entity] = [json.loads(self.body(p)) for p in self.manifest["pages"] if p["entity"] == entity]
        return self._docs[entity]

    def body(self, page: dict) -> bytes:
        """A landed page's bytes, as received: checked against the sha256 the manifest recorded when it landed, so
        a replay never builds on a page changed since (by hand, by disk damage, by anyone)."""
        path = self.dir / page["file"]
        try:
            body = gzip.decompress(path.read_bytes())
        except (OSError, EOFError) as e:
            raise LandingCorrupt(f"landed page {path} ({self.manifest['table_id']}) cannot be read ({e}); fetch the "
                                 "table again (heerlen run --live --force)") from None
        if hashlib.sha256(body).hexdigest() != page["sha256"]:
            raise LandingCorrupt(f"landed page {path} ({self.manifest['table_id']}, {page['url']}) no longer matches the "
                                 "sha256 in its manifest; it was changed after it landed. Refused: fetch the table "
                                 "again (heerlen run --live --force)")
        return body

    def rows(self, entity: str) -> list[dict]:
        return [row for doc in self.docs(entity) for row in doc.get("value", [])]


class Landing:
    def __init__(self, root: Path):
        self.root = root

    def _query_dir(self, catalogue: str, table_id: str, signature: str) -> Path:
        return self.root / _part(catalogue, "catalogue") / _part(table_id, "table id") / _part(signature, "query")

    def find(self, catalogue: str, table_id: str, signature: str, modified: str | None = None) -> LandedFetch | None:
        """The complete fetch for this Modified stamp, or (modified=None) the newest complete one."""
        qdir = self._query_dir(catalogue, table_id, signature)
        found = []
        for m in qdir.glob(f"*/{MANIFEST}"):
            manifest = json.loads(m.read_text(encoding="utf-8"))
            if modified is None or manifest.get("modified") == modified:
                found.append(LandedFetch(m.parent, manifest))
        return max(found, key=lambda f: f.manifest["completed_at"], default=None)

    def begin(self, catalogue: str, table_id: str, signature: str, modified: str, query: dict) -> LandedFetch:
        final = self._query_dir(catalogue, table_id, signature) / _slug(modified)
        tmp = final.parent / f".partial-{uuid.uuid4().hex[:8]}"
        tmp.mkdir(parents=True)
        manifest = {"catalogue": catalogue, "table_id": table_id, "modified": modified, "query": query, "pages": []}
        return LandedFetch(tmp, manifest, final)


class LandingCorrupt(ValueError):
    """A landed page that is not what was received."""


class UnsafePath(ValueError):
    """A landing path component that could leave the landing directory."""


def _part(text: str, what: str) -> str:
    if not text or text.strip(".") == "" or any(c in text for c in "/\\\0"):
        raise UnsafePath(f"landing: {what} {text!r} is not a plain file name; refusing to land or read under it")
    return text


def _slug(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z]+", "-", text).strip("-") or "unknown"
