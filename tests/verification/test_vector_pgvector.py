"""The pgvector backend for real: PostgreSQL with the vector extension from PyPI's pgserver,
started in a temporary folder (skipped only where it cannot start, or where its bundled pgvector
cannot run on the CPU: ``pgvector_probe``)."""

from __future__ import annotations

import pytest
from pgvector_probe import pgvector_unusable

from verification import vector_pg, vector_store
from verification.demo import demo_strokes
from verification.models import Enrollment


@pytest.fixture(scope="session")
def pgvector_url(tmp_path_factory):
    pgserver = pytest.importorskip("pgserver", reason="pgserver is not installed (pip install -r requirements-dev.txt)")
    if reason := pgvector_unusable():
        pytest.skip(reason)
    try:
        server = pgserver.get_server(str(tmp_path_factory.mktemp("pgvector")), cleanup_mode="stop")
        server.psql("CREATE EXTENSION IF NOT EXISTS vector;")
    except Exception as exc:  # no way to run PostgreSQL here
        pytest.skip(f"pgserver could not start PostgreSQL with pgvector: {exc}")
    yield server.get_uri()
    server.cleanup()


@pytest.fixture
def pgvector(settings, pgvector_url):
    import psycopg

    with psycopg.connect(pgvector_url, autocommit=True) as conn:  # every test starts from an empty index
        conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    vector_pg._local.__dict__.clear()
    settings.SIGWEB_VECTOR_ENGINE = "pgvector"
    settings.SIGWEB_VECTOR_DATABASE_URL = pgvector_url
    vector_store.vectors_forget()
    yield pgvector_url
    vector_pg._local.__dict__.clear()


def identify(client, writer, sample=7):
    r = client.post("/api/identifications/", {"strokes": demo_strokes(writer, sample), "top_k": 3}, format="json")
    assert r.status_code == 201, r.content
    return r.json()


def test_identification_through_pgvector(pgvector, admin_client, enrolled_customer):
    a = enrolled_customer("writer-a")
    b = enrolled_customer("writer-b")
    c = enrolled_customer("writer-c")
    body = identify(admin_client, "writer-b")
    assert body["candidates"][0]["customer"] == b.id and body["outcome"] == "match"
    mv = Enrollment.objects.get(customer=a, status="active").model_version
    assert vector_pg.store_size(mv) == 12  # loaded from the main database on the first search
    admin_client.post(f"/api/customers/{b.id}/enrollment/revoke/", {}, format="json")
    admin_client.post(f"/api/customers/{c.id}/erase/", {"reason": "request"}, format="json")
    assert b.id not in [x["customer"] for x in identify(admin_client, "writer-b")["candidates"]]
    assert vector_pg.store_size(mv) == 4  # the change log removed revoked and erased references
    d = enrolled_customer("writer-b")  # added through the change log, not a reload
    assert identify(admin_client, "writer-b")["candidates"][0]["customer"] == d.id
    assert vector_pg.store_size(mv) == 8


def test_search_orders_by_cosine_similarity(pgvector, enrolled_customer):
    import numpy as np

    from verification import embeddings
    from verification.models import ReferenceEmbedding

    a = enrolled_customer("writer-a")
    enrolled_customer("writer-c")
    row = ReferenceEmbedding.objects.filter(reference__customer=a).first()
    hits = vector_store.vectors_search(model_version=row.model_version, dim=64, query=embeddings.from_bytes(row.vector), k=8)
    assert hits[0][0] == row.reference_id and abs(hits[0][2] - 1.0) < 1e-4
    sims = [s for _, _, s in hits]
    assert sims == sorted(sims, reverse=True) and len(hits) == 8
    assert np.isclose(sims[-1], min(sims))
