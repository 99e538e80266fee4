"""Raw layer: every source file's rows exactly as received, plus load metadata."""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from .catalog import Source, SourceFile


class SourceFileError(ValueError):
    pass


@dataclass(frozen=True)
class RawFile:
    source_id: str
    file: SourceFile
    path: Path
    sha256: str
    fetched_at: str
    rows: pd.DataFrame  # all text, columns c0..cN; row 0 of a CSV is its header line

    @property
    def table_name(self) -> str:
        return raw_table_name(self.source_id, self.file.path)


def raw_table_name(source_id: str, file_path: str) -> str:
    stem = re.sub(r"[^0-9a-z]+", "_", Path(file_path).stem.lower()).strip("_")
    return f"{source_id}__{stem}"


def files_version(files: list[RawFile]) -> str:
    """A source's data version when read from files: the checksum of its files' checksums."""
    return "sha256:" + hashlib.sha256("".join(f.sha256 for f in files).encode()).hexdigest()[:16]


def text_frame(rows: list[list[str]]) -> pd.DataFrame:
    """Rows of text as columns c0..cN (short rows padded with ''): the one raw shape every reader takes."""
    width = max(len(r) for r in rows)
    return pd.DataFrame([r + [""] * (width - len(r)) for r in rows], columns=[f"c{i}" for i in range(width)])


def decode_csv(data: bytes, delimiter: str, encodings: tuple[str, ...] = ("utf-8-sig",)) -> pd.DataFrame:
    """CSV bytes as a text frame; DUO publishes Windows-1252, so live DUO files pass a fallback."""
    for encoding in encodings:
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError as e:
            error = e
    else:
        raise ValueError(f"not {' or '.join(encodings)} ({error})")
    rows = list(csv.reader(text.splitlines(), delimiter=delimiter))
    if not rows:
        raise ValueError("empty file")
    return text_frame(rows)


def read_source_files(source: Source, snapshot_dir: Path) -> list[RawFile]:
    out = []
    for f in source.files:
        path = snapshot_dir / f.path
        if not path.is_file():
            raise SourceFileError(f"source {source.id}: file {path} (table {f.table_id}) does not exist")
        data = path.read_bytes()
        try:
            frame = decode_csv(data, f.delimiter)
        except ValueError as e:
            raise SourceFileError(f"source {source.id}: file {path}: {e}") from None
        out.append(
            RawFile(
                source_id=source.id,
                file=f,
                path=path,
                sha256=hashlib.sha256(data).hexdigest(),
                fetched_at=datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat(),
                rows=frame,
            )
        )
    return out
