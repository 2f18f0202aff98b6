"""The catalogue: SQLite, the source of truth for papers, feed dates and chunks, plus BM25 (FTS5).

Chroma holds only vectors derived from it; a chunk is `embedded` once its vector is stored,
so an interrupted ingest is completed by the next run from here.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

from index.models import Chunk, Paper, normalise_title, text_hash
from index.text import query_terms

SCHEMA = """
CREATE TABLE IF NOT EXISTS papers (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, title_key TEXT NOT NULL, abstract TEXT NOT NULL,
    authors TEXT NOT NULL, url TEXT NOT NULL, published TEXT, categories TEXT NOT NULL,
    source TEXT NOT NULL, version INTEGER, upvotes INTEGER, abstract_hash TEXT NOT NULL,
    added_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS papers_title_key ON papers(title_key);
CREATE INDEX IF NOT EXISTS papers_source ON papers(source);
CREATE TABLE IF NOT EXISTS feed_dates (
    paper_id TEXT NOT NULL REFERENCES papers(id) ON DELETE CASCADE, day TEXT NOT NULL,
    PRIMARY KEY (paper_id, day));
CREATE INDEX IF NOT EXISTS feed_dates_day ON feed_dates(day);
CREATE TABLE IF NOT EXISTS chunks (
    rowid INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL,
    paper_id TEXT NOT NULL REFERENCES papers(id) ON DELETE CASCADE, n INTEGER NOT NULL,
    text TEXT NOT NULL, embed_text TEXT NOT NULL, sent_start INTEGER NOT NULL,
    sent_end INTEGER NOT NULL, char_start INTEGER NOT NULL, char_end INTEGER NOT NULL,
    embedded INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS chunks_paper ON chunks(paper_id);
CREATE INDEX IF NOT EXISTS chunks_pending ON chunks(embedded) WHERE embedded = 0;
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    embed_text, content='chunks', content_rowid='rowid', tokenize='porter unicode61');
CREATE TRIGGER IF NOT EXISTS chunks_ai AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts(rowid, embed_text) VALUES (new.rowid, new.embed_text); END;
CREATE TRIGGER IF NOT EXISTS chunks_ad AFTER DELETE ON chunks BEGIN
    INSERT INTO chunks_fts(chunks_fts, rowid, embed_text) VALUES ('delete', old.rowid, old.embed_text);
    INSERT OR IGNORE INTO vector_deletes(chunk_id) VALUES (old.id); END;
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_vocab USING fts5vocab(chunks_fts, 'row');
CREATE TABLE IF NOT EXISTS vector_deletes (chunk_id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

# In a large store, query words held by more than this share of chunks are left out of the BM25
# query: their idf is under ~1.7, so they barely move the ranking, but every chunk holding them must
# be scored. At 100k abstracts: BM25 p95 310 → 214 ms for nDCG@10 0.438 → 0.435 (a 10 % share: 140 ms
# but 0.425; docs/BENCHMARKS.md, "Scale"). A small store is fast anyway, and there a common word is
# often the topic of the day.
COMMON_TERM_SHARE = 0.20
COMMON_TERM_MIN_CHUNKS = 20_000
# Per-connection scratch tables that run query words through the FTS5 tokenizer (porter stems).
_STEMMER = """
CREATE VIRTUAL TABLE IF NOT EXISTS temp.query_words USING fts5(word, tokenize='porter unicode61');
CREATE VIRTUAL TABLE IF NOT EXISTS temp.query_stems USING fts5vocab(temp, query_words, instance);
"""


@dataclass(frozen=True)
class MergeOutcome:
    status: str  # "new" | "updated" | "unchanged"
    paper_id: str


@dataclass(frozen=True)
class TermStatistics:
    chunks: int  # chunks in the catalog
    frequencies: dict[str, int]  # term -> chunks holding it (as FTS5 stems it)


class Catalog:
    def __init__(self, path: Path, common_term_min_chunks: int = COMMON_TERM_MIN_CHUNKS):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.common_term_min_chunks = common_term_min_chunks
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._db.executescript(_STEMMER)
        self._stem_lock = threading.Lock()  # the scratch tables are shared by the connection's users

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # --- meta ---------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row["value"] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    # --- writing ------------------------------------------------------------------------
    def merge(self, paper: Paper, chunks: Sequence[Chunk], feed_dates: Iterable[date]) -> MergeOutcome:
        """Insert or update one paper and its chunks; call inside `transaction()`."""
        existing = self._find_existing(paper)
        days = sorted(set(paper.feed_dates) | set(feed_dates))
        if existing is None:
            self._insert(paper, chunks)
            status, paper_id = "new", paper.id
        elif existing["id"] != paper.id and existing["id"].startswith("t-"):
            # The same paper first seen without an arXiv id: adopt the arXiv id, keep its dates.
            old_days = self._feed_days(existing["id"])
            self._db.execute("DELETE FROM papers WHERE id = ?", (existing["id"],))
            self._insert(paper, chunks)
            days = sorted(set(days) | old_days)
            status, paper_id = "updated", paper.id
        else:
            status, paper_id = self._update(existing, paper, chunks), existing["id"]
        self._db.executemany(
            "INSERT OR IGNORE INTO feed_dates(paper_id, day) VALUES (?, ?)",
            [(paper_id, day.isoformat()) for day in days],
        )
        return MergeOutcome(status, paper_id)

    def _find_existing(self, paper: Paper) -> sqlite3.Row | None:
        row = self._db.execute("SELECT * FROM papers WHERE id = ?", (paper.id,)).fetchone()
        if row is None:
            key = text_hash(normalise_title(paper.title))
            row = self._db.execute(
                "SELECT * FROM papers WHERE title_key = ? AND (id LIKE 't-%' OR ? LIKE 't-%') LIMIT 1",
                (key, paper.id),
            ).fetchone()
        return row

    def _update(self, existing: sqlite3.Row, paper: Paper, chunks: Sequence[Chunk]) -> str:
        older = paper.version and existing["version"] and paper.version < existing["version"]
        if older or existing["abstract_hash"] == paper.abstract_hash:
            self._fill_missing_metadata(existing, paper)
            return "unchanged"
        if paper.id != existing["id"]:  # a title-only record of a paper we know by arXiv id
            return "unchanged"
        self._db.execute("DELETE FROM chunks WHERE paper_id = ?", (paper.id,))
        self._write_paper(paper, added_at=existing["added_at"])
        self._write_chunks(chunks)
        return "updated"

    def _fill_missing_metadata(self, existing: sqlite3.Row, paper: Paper) -> None:
        updates = {
            "authors": json.dumps(list(paper.authors)) if paper.authors and existing["authors"] == "[]" else None,
            "url": paper.url if paper.url and not existing["url"] else None,
            "published": paper.published.isoformat() if paper.published and not existing["published"] else None,
            "upvotes": paper.upvotes if paper.upvotes is not None else None,
        }
        for column, value in updates.items():
            if value is not None:
                self._db.execute(f"UPDATE papers SET {column} = ? WHERE id = ?", (value, existing["id"]))

    def _insert(self, paper: Paper, chunks: Sequence[Chunk]) -> None:
        self._write_paper(paper)
        self._write_chunks(chunks)

    def _write_paper(self, paper: Paper, added_at: str | None = None) -> None:
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        columns = ("title", "title_key", "abstract", "authors", "url", "published", "categories", "source",
                   "version", "upvotes", "abstract_hash", "updated_at")
        # An upsert, not INSERT OR REPLACE: replacing the row would cascade away its feed dates.
        self._db.execute(
            "INSERT INTO papers(id, title, title_key, abstract, authors, url, published, categories,"
            " source, version, upvotes, abstract_hash, added_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
            + ", ".join(f"{column} = excluded.{column}" for column in columns),
            (paper.id, paper.title, text_hash(normalise_title(paper.title)), paper.abstract,
             json.dumps(list(paper.authors)), paper.url,
             paper.published.isoformat() if paper.published else None,
             json.dumps(list(paper.categories)), paper.source, paper.version, paper.upvotes,
             paper.abstract_hash, added_at or now, now),
        )

    def _write_chunks(self, chunks: Sequence[Chunk]) -> None:
        # A re-added chunk id must not be deleted from the vector store afterwards.
        self._db.executemany("DELETE FROM vector_deletes WHERE chunk_id = ?", [(c.id,) for c in chunks])
        self._db.executemany(
            "INSERT INTO chunks(id, paper_id, n, text, embed_text, sent_start, sent_end, char_start,"
            " char_end, embedded) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
            [(c.id, c.paper_id, c.n, c.text, c.embed_text, c.sent_start, c.sent_end, c.char_start,
              c.char_end) for c in chunks],
        )

    def replace_chunks(self, paper_id: str, chunks: Sequence[Chunk]) -> None:
        """New chunks for an unchanged paper (a re-chunk); call inside `transaction()`."""
        self._db.execute("DELETE FROM chunks WHERE paper_id = ?", (paper_id,))
        self._write_chunks(chunks)

    def remove(self, paper_ids: Sequence[str]) -> int:
        with self.transaction():
            return sum(
                self._db.execute("DELETE FROM papers WHERE id = ?", (pid,)).rowcount for pid in paper_ids
            )

    # --- the vector side's to-do lists --------------------------------------------------
    def pending_chunks(self, limit: int) -> list[Chunk]:
        rows = self._db.execute(
            "SELECT * FROM chunks WHERE embedded = 0 ORDER BY rowid LIMIT ?", (limit,)
        ).fetchall()
        return [_chunk(row) for row in rows]

    def count_pending(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM chunks WHERE embedded = 0").fetchone()[0]

    def mark_embedded(self, chunk_ids: Sequence[str]) -> None:
        with self.transaction():
            self._db.executemany("UPDATE chunks SET embedded = 1 WHERE id = ?", [(i,) for i in chunk_ids])

    def mark_all_unembedded(self) -> None:
        self._db.execute("UPDATE chunks SET embedded = 0")

    def pending_vector_deletes(self) -> list[str]:
        return [row[0] for row in self._db.execute("SELECT chunk_id FROM vector_deletes")]

    def clear_vector_deletes(self, chunk_ids: Sequence[str]) -> None:
        with self.transaction():
            self._db.executemany("DELETE FROM vector_deletes WHERE chunk_id = ?", [(i,) for i in chunk_ids])

    # --- reading ------------------------------------------------------------------------
    def get_papers(self, paper_ids: Sequence[str]) -> dict[str, Paper]:
        found: dict[str, Paper] = {}
        for start in range(0, len(paper_ids), 500):
            part = list(paper_ids[start : start + 500])
            marks = ",".join("?" * len(part))
            rows = self._db.execute(f"SELECT * FROM papers WHERE id IN ({marks})", part).fetchall()
            days = self._feed_days_of(part)
            found.update({row["id"]: _paper(row, days.get(row["id"], ())) for row in rows})
        return found

    def get_chunks(self, chunk_ids: Sequence[str]) -> dict[str, Chunk]:
        found: dict[str, Chunk] = {}
        for start in range(0, len(chunk_ids), 500):
            part = list(chunk_ids[start : start + 500])
            marks = ",".join("?" * len(part))
            rows = self._db.execute(f"SELECT * FROM chunks WHERE id IN ({marks})", part).fetchall()
            found.update({row["id"]: _chunk(row) for row in rows})
        return found

    def newest_feed_day(self, sources: Sequence[str] = ()) -> date | None:
        """The newest feed date of any stored paper (of these sources), without reading the papers."""
        sql, args = "SELECT MAX(f.day) FROM feed_dates f", []
        if sources:
            sql += f" JOIN papers p ON p.id = f.paper_id WHERE p.source IN ({','.join('?' * len(sources))})"
            args = list(sources)
        day = self._db.execute(sql, args).fetchone()[0]
        return date.fromisoformat(day) if day else None

    def paper_ids(self, days: tuple[date, date] | None = None, sources: Sequence[str] = ()) -> list[str]:
        sql, args = "SELECT p.id FROM papers p", []
        clauses = []
        if days:
            clauses.append("EXISTS (SELECT 1 FROM feed_dates f WHERE f.paper_id = p.id AND f.day BETWEEN ? AND ?)")
            args += [days[0].isoformat(), days[1].isoformat()]
        if sources:
            clauses.append(f"p.source IN ({','.join('?' * len(sources))})")
            args += list(sources)
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        return [row[0] for row in self._db.execute(sql + " ORDER BY p.added_at, p.rowid", args)]

    def bm25(self, query: str, limit: int, paper_ids: Sequence[str] | None = None,
             statistics: TermStatistics | None = None) -> list[tuple[str, float]]:
        """Chunk ids with BM25 scores (higher is better), best first. `statistics` of the query's terms,
        when the caller already has them, saves looking them up again."""
        terms = self._distinctive(query_terms(query), statistics)
        if not terms:
            return []
        match = " OR ".join('"' + term.replace('"', '""') + '"' for term in terms)
        sql = ("SELECT c.id, -bm25(chunks_fts) AS score FROM chunks_fts JOIN chunks c ON c.rowid = chunks_fts.rowid"
               " WHERE chunks_fts MATCH ?")
        args: list[object] = [match]
        if paper_ids is not None:
            sql += f" AND c.paper_id IN ({','.join('?' * len(paper_ids))})"
            args += list(paper_ids)
        rows = self._db.execute(sql + " ORDER BY bm25(chunks_fts) LIMIT ?", [*args, limit]).fetchall()
        return [(row[0], float(row[1])) for row in rows]

    def _distinctive(self, terms: list[str], statistics: TermStatistics | None = None) -> list[str]:
        """`terms` without the very common ones (at least the rarest term stays)."""
        total = statistics.chunks if statistics else self.chunk_count()
        if len(terms) < 2 or total < self.common_term_min_chunks:
            return terms
        frequencies = statistics.frequencies if statistics else self.term_document_frequency(terms)
        kept = [term for term in terms if frequencies[term] <= COMMON_TERM_SHARE * total]
        return kept or [min(terms, key=lambda term: frequencies[term])]

    def term_statistics(self, terms: Sequence[str]) -> TermStatistics:
        """Chunk count and each term's document frequency: what BM25 pruning and idf weights need."""
        return TermStatistics(self.chunk_count(), self.term_document_frequency(terms))

    def term_document_frequency(self, terms: Sequence[str]) -> dict[str, int]:
        """How many chunks hold each term, as FTS5 stems it (from the FTS5 vocabulary: no scan)."""
        stems = self._stems(terms)
        wanted = sorted(set(stems.values()))
        found = dict(self._db.execute(
            f"SELECT term, doc FROM chunks_vocab WHERE term IN ({','.join('?' * len(wanted))})", wanted
        ).fetchall()) if wanted else {}
        return {term: found.get(stems.get(term), 0) for term in terms}

    def _stems(self, terms: Sequence[str]) -> dict[str, str]:
        """Each term's first token under the index's tokenizer (porter unicode61)."""
        with self._stem_lock:
            self._db.execute("DELETE FROM temp.query_words")
            self._db.executemany("INSERT INTO temp.query_words(rowid, word) VALUES (?, ?)", enumerate(terms, 1))
            rows = self._db.execute("SELECT doc, term FROM temp.query_stems ORDER BY doc, offset").fetchall()
        stems: dict[str, str] = {}
        for doc, stem in rows:
            stems.setdefault(terms[doc - 1], stem)
        return stems

    def chunk_count(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]

    def stats(self) -> dict[str, object]:
        one = lambda sql: self._db.execute(sql).fetchone()[0]  # noqa: E731
        sources = dict(self._db.execute("SELECT source, COUNT(*) FROM papers GROUP BY source").fetchall())
        days = self._db.execute(
            "SELECT day, COUNT(*) FROM feed_dates GROUP BY day ORDER BY day DESC LIMIT 30"
        ).fetchall()
        return {
            "papers": one("SELECT COUNT(*) FROM papers"),
            "chunks": one("SELECT COUNT(*) FROM chunks"),
            "chunks_pending_embedding": one("SELECT COUNT(*) FROM chunks WHERE embedded = 0"),
            "sources": sources,
            "feed_dates": {day: count for day, count in days},
        }

    def _feed_days(self, paper_id: str) -> set[date]:
        return set(self._feed_days_of([paper_id]).get(paper_id, ()))

    def _feed_days_of(self, paper_ids: Sequence[str]) -> dict[str, tuple[date, ...]]:
        marks = ",".join("?" * len(paper_ids))
        rows = self._db.execute(
            f"SELECT paper_id, day FROM feed_dates WHERE paper_id IN ({marks}) ORDER BY day", list(paper_ids)
        ).fetchall()
        days: dict[str, list[date]] = {}
        for row in rows:
            days.setdefault(row[0], []).append(date.fromisoformat(row[1]))
        return {key: tuple(value) for key, value in days.items()}


def _paper(row: sqlite3.Row, feed_dates: tuple[date, ...]) -> Paper:
    return Paper(
        id=row["id"], title=row["title"], abstract=row["abstract"], source=row["source"],
        authors=tuple(json.loads(row["authors"])), url=row["url"],
        published=date.fromisoformat(row["published"]) if row["published"] else None,
        feed_dates=feed_dates, categories=tuple(json.loads(row["categories"])),
        version=row["version"], upvotes=row["upvotes"],
    )


def _chunk(row: sqlite3.Row) -> Chunk:
    return Chunk(
        paper_id=row["paper_id"], n=row["n"], text=row["text"], embed_text=row["embed_text"],
        sent_start=row["sent_start"], sent_end=row["sent_end"], char_start=row["char_start"],
        char_end=row["char_end"],
    )
