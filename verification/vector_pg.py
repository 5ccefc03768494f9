"""The identification index in PostgreSQL with pgvector (``SIGWEB_VECTOR_ENGINE=pgvector``).

For deployments that outgrow one machine: the references of active enrollments live in
``sigweb_vectors_<dim>`` (``vector(<dim>)``, an HNSW index on cosine distance) in the
database ``SIGWEB_VECTOR_DATABASE_URL``, which may be the main PostgreSQL or another one;
the main database may stay SQLite or a PostgreSQL without the extension. Every web and
worker process shares it. It is kept in step with the same ``VectorChange`` log as the
embedded index: before a search, the changes after ``sigweb_vector_state.last_change`` are
applied under an advisory lock, so one process applies each change once.

The connection is psycopg's own (one per thread), not a Django database alias, so the
main database's migrations and tests never touch it.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable

import numpy as np
import psycopg
from django.conf import settings

_local = threading.local()


def _connection() -> psycopg.Connection:
    conn = getattr(_local, "conn", None)
    url = settings.SIGWEB_VECTOR_DATABASE_URL
    if conn is None or conn.closed or getattr(_local, "url", None) != url:
        if not url:
            raise RuntimeError("SIGWEB_VECTOR_ENGINE=pgvector needs SIGWEB_VECTOR_DATABASE_URL")
        conn = psycopg.connect(url, autocommit=True)
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS sigweb_vector_state (model_version text PRIMARY KEY, last_change bigint NOT NULL)"
        )
        _local.conn, _local.url = conn, url
    return conn


def _table(model_version: str) -> str:
    """One table per model version (its own HNSW index; dropped with the version)."""
    return "sigweb_vectors_" + hashlib.sha1(model_version.encode()).hexdigest()[:16]


def _literal(vector) -> str:
    return "[" + ",".join(f"{x:.7g}" for x in np.asarray(vector, np.float32).reshape(-1)) + "]"


def _ensure_table(conn: psycopg.Connection, model_version: str, dim: int) -> None:
    t = _table(model_version)
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS {t} (reference_id bigint PRIMARY KEY, customer_id bigint NOT NULL, "
        f"embedding vector({int(dim)}) NOT NULL)"
    )
    conn.execute(f"CREATE INDEX IF NOT EXISTS {t}_hnsw ON {t} USING hnsw (embedding vector_cosine_ops)")


def store_state(model_version: str, dim: int) -> int | None:
    """The last change applied for ``model_version`` (None: never loaded)."""
    conn = _connection()
    _ensure_table(conn, model_version, dim)
    row = conn.execute("SELECT last_change FROM sigweb_vector_state WHERE model_version = %s", (model_version,)).fetchone()
    return None if row is None else int(row[0])


def store_sync(model_version: str, dim: int, *, load, changes, vector_of) -> None:
    """Load (first time) or catch up, under an advisory lock per model version.

    ``load()`` -> (last change id, iterable of (reference id, customer id, vector bytes));
    ``changes(after)`` -> [(change id, reference id, customer id, op)];
    ``vector_of(reference id)`` -> vector bytes or None.
    """
    from verification import embeddings

    conn = _connection()
    _ensure_table(conn, model_version, dim)
    t = _table(model_version)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"sigweb-vectors:{model_version}",))
        row = conn.execute("SELECT last_change FROM sigweb_vector_state WHERE model_version = %s", (model_version,)).fetchone()
        if row is None:
            last, members = load()
            conn.execute(f"TRUNCATE {t}")
            _insert(conn, t, ((r, c, embeddings.from_bytes(v)) for r, c, v in members))
        else:
            last = int(row[0])
            for change_id, ref_id, customer_id, op in changes(last):
                if op == "remove":
                    conn.execute(f"DELETE FROM {t} WHERE reference_id = %s", (ref_id,))
                else:
                    vector = vector_of(ref_id)
                    if vector is not None:
                        _insert(conn, t, [(ref_id, customer_id, embeddings.from_bytes(vector))])
                last = change_id
        conn.execute(
            "INSERT INTO sigweb_vector_state (model_version, last_change) VALUES (%s, %s) "
            "ON CONFLICT (model_version) DO UPDATE SET last_change = EXCLUDED.last_change",
            (model_version, last),
        )


def _insert(conn: psycopg.Connection, table: str, rows: Iterable) -> None:
    sql = (
        f"INSERT INTO {table} (reference_id, customer_id, embedding) VALUES (%s, %s, %s::vector) "
        "ON CONFLICT (reference_id) DO UPDATE SET customer_id = EXCLUDED.customer_id, embedding = EXCLUDED.embedding"
    )
    batch = []
    with conn.cursor() as cur:
        for ref_id, customer_id, vector in rows:
            batch.append((int(ref_id), int(customer_id), _literal(vector)))
            if len(batch) >= 1000:
                cur.executemany(sql, batch)
                batch = []
        if batch:
            cur.executemany(sql, batch)


def store_search(model_version: str, dim: int, query, k: int) -> list[tuple[int, int, float]]:
    """The ``k`` nearest references by cosine distance: [(reference id, customer id, similarity)]."""
    conn = _connection()
    q = _literal(query)
    conn.execute(f"SET hnsw.ef_search = {max(40, int(k))}")
    rows = conn.execute(
        f"SELECT reference_id, customer_id, 1 - (embedding <=> %s::vector) FROM {_table(model_version)} "
        "ORDER BY embedding <=> %s::vector LIMIT %s",
        (q, q, int(k)),
    ).fetchall()
    return [(int(r), int(c), float(s)) for r, c, s in rows]


def store_size(model_version: str) -> int:
    return int(_connection().execute(f"SELECT count(*) FROM {_table(model_version)}").fetchone()[0])


def store_forget(model_version: str | None = None) -> None:
    """Drop the stored state (of one version, or all): the next search reloads from the main database."""
    conn = _connection()
    if model_version is None:
        conn.execute("DELETE FROM sigweb_vector_state")
    else:
        conn.execute("DELETE FROM sigweb_vector_state WHERE model_version = %s", (model_version,))
