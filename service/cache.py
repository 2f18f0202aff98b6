"""A persistent cache of model outputs: nothing is generated twice for the same inputs.

Keys name everything the output depends on (paper id, abstract hash, model, prompt version, …).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path


def cache_key(*parts: object) -> str:
    return hashlib.sha256(json.dumps([str(part) for part in parts]).encode()).hexdigest()


class OutputCache:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS outputs (task TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
            " created TEXT NOT NULL, PRIMARY KEY (task, key))"
        )
        self._lock = threading.Lock()

    def get(self, task: str, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM outputs WHERE task = ? AND key = ?", (task, key)).fetchone()
        return row[0] if row else None

    def put(self, task: str, key: str, value: str) -> None:
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO outputs(task, key, value, created) VALUES (?, ?, ?, ?)", (task, key, value, now)
            )

    def count(self, task: str | None = None) -> int:
        sql, args = "SELECT COUNT(*) FROM outputs", ()
        if task:
            sql, args = sql + " WHERE task = ?", (task,)
        with self._lock:
            return self._db.execute(sql, args).fetchone()[0]

    def close(self) -> None:
        self._db.close()
