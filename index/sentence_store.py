"""Abstract sentences' vectors on disk, so a new process (each `paperbrief ask`) doesn't embed the day's
~300 sentences again before its first list, recommend or compare answer. Rows are keyed by the embedder,
the paper id and a digest of the abstract: another embedder or an edited abstract is embedded afresh.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from index.models import text_hash

_SCHEMA = """CREATE TABLE IF NOT EXISTS sentence_vectors (
    embedder TEXT NOT NULL, paper_id TEXT NOT NULL, abstract_sha TEXT NOT NULL,
    sentences TEXT NOT NULL, vectors BLOB NOT NULL, dimension INTEGER NOT NULL,
    PRIMARY KEY (embedder, paper_id, abstract_sha))"""


class SentenceStore:
    """(paper id, abstract) -> (sentences, float32 vectors) for one embedder, in a SQLite file."""

    def __init__(self, path: Path, embedder: str):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(_SCHEMA)
        self._embedder = embedder
        self._lock = threading.Lock()

    def load(self, keys: Sequence[tuple[str, str]]) -> dict[str, tuple[tuple[str, ...], np.ndarray]]:
        """Stored entries of these (paper id, abstract) pairs, by paper id; pairs not stored are left out."""
        found = {}
        with self._lock:
            for paper_id, abstract in keys:
                row = self._db.execute(
                    "SELECT sentences, vectors, dimension FROM sentence_vectors "
                    "WHERE embedder = ? AND paper_id = ? AND abstract_sha = ?",
                    (self._embedder, paper_id, text_hash(abstract))).fetchone()
                if row is not None:
                    vectors = np.frombuffer(row[1], dtype=np.float32).reshape(-1, row[2]) if row[2] else \
                        np.zeros((0, 0), dtype=np.float32)
                    found[paper_id] = (tuple(json.loads(row[0])), vectors)
        return found

    def save(self, entries: Iterable[tuple[str, str, tuple[str, ...], np.ndarray]]) -> None:
        """(paper id, abstract, sentences, vectors) rows, replacing what the same key held."""
        rows = [(self._embedder, paper_id, text_hash(abstract), json.dumps(list(sentences)),
                 np.ascontiguousarray(vectors, dtype=np.float32).tobytes(), int(vectors.shape[1]) if vectors.size else 0)
                for paper_id, abstract, sentences, vectors in entries]
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR REPLACE INTO sentence_vectors VALUES (?, ?, ?, ?, ?, ?)", rows)
            self._db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()
