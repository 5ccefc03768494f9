"""The identification index: the references of active enrollments, per model version.

``SIGWEB_VECTOR_ENGINE=pgvector``: the same index in PostgreSQL with pgvector, shared by
every process (``verification.vector_pg``), kept in step through the same change log.

``SIGWEB_VECTOR_ENGINE=embedded`` (the default): an in-process index per model version
(``ml_engine.vector_index_new``), loaded lazily from ``ReferenceEmbedding`` rows on the
first search in a process and kept in step through the ``VectorChange`` log: services
record ``add`` when an enrollment goes active and ``remove`` when it is revoked,
superseded or erased, inside their own transaction; before each search a process applies
the changes after the last one it saw. Callers re-check candidates against the database,
so an erased or revoked customer is never returned even by a copy that lags.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings

from verification import embeddings, ml_engine
from verification.models import Customer, Enrollment, ReferenceEmbedding, ReferenceSignature, VectorChange

_lock = threading.Lock()


@dataclass
class _Loaded:
    index: object
    last_change: int
    members: dict[int, int] = field(default_factory=dict)  # reference id -> customer id


_loaded: dict[str, _Loaded] = {}


def enrollment_vectors_add(*, enrollment: Enrollment, model_version: str) -> int:
    """Record that an enrollment's references (embedded with ``model_version``) enter the index."""
    rows = ReferenceEmbedding.objects.filter(model_version=model_version, reference__enrollments=enrollment).exclude(
        reference__status=ReferenceSignature.Status.ERASED
    )
    changes = [
        VectorChange(model_version=model_version, reference_id=ref_id, customer_id=enrollment.customer_id, op=VectorChange.Op.ADD)
        for ref_id in rows.values_list("reference_id", flat=True)
    ]
    VectorChange.objects.bulk_create(changes)
    return len(changes)


def enrollment_vectors_remove(*, enrollment: Enrollment) -> int:
    """Record that an enrollment's references leave the index, for every model version."""
    pairs = ReferenceEmbedding.objects.filter(reference__enrollments=enrollment).values_list("model_version", "reference_id")
    changes = [
        VectorChange(model_version=mv, reference_id=ref_id, customer_id=enrollment.customer_id, op=VectorChange.Op.REMOVE)
        for mv, ref_id in pairs
    ]
    VectorChange.objects.bulk_create(changes)
    return len(changes)


def _members_from_db(model_version: str):
    """(reference id, customer id, vector bytes) of every indexed reference, streamed."""
    return (
        ReferenceEmbedding.objects.filter(model_version=model_version, reference__enrollments__status=Enrollment.Status.ACTIVE)
        .exclude(reference__status=ReferenceSignature.Status.ERASED)
        .exclude(reference__customer__status=Customer.Status.ERASED)
        .values_list("reference_id", "reference__customer_id", "vector")
        .iterator(chunk_size=2000)
    )


def _add(state: _Loaded, rows) -> None:
    rows = [(r, c, v) for r, c, v in rows if r not in state.members]
    if rows:
        state.index.add(np.array([r for r, _, _ in rows], np.int64), embeddings.stack([v for _, _, v in rows]))
        state.members.update({r: c for r, c, _ in rows})


def _load(model_version: str, dim: int) -> _Loaded:
    last = VectorChange.objects.filter(model_version=model_version).order_by("-id").values_list("id", flat=True).first() or 0
    state = _Loaded(index=ml_engine.vector_index_new(dim), last_change=last)
    batch = []
    for row in _members_from_db(model_version):
        batch.append(row)
        if len(batch) >= 2000:
            _add(state, batch)
            batch = []
    _add(state, batch)
    return state


def _catch_up(state: _Loaded, model_version: str) -> None:
    changes = list(
        VectorChange.objects.filter(model_version=model_version, id__gt=state.last_change)
        .order_by("id")
        .values_list("id", "reference_id", "customer_id", "op")[:100_000]
    )
    for change_id, ref_id, customer_id, op in changes:
        if op == VectorChange.Op.REMOVE and ref_id in state.members:
            state.index.remove(np.array([ref_id], np.int64))
            del state.members[ref_id]
        elif op == VectorChange.Op.ADD and ref_id not in state.members:
            vector = ReferenceEmbedding.objects.filter(model_version=model_version, reference_id=ref_id).values_list(
                "vector", flat=True
            )
            if vector:
                _add(state, [(ref_id, customer_id, vector[0])])
        state.last_change = change_id


def _pg_sync(model_version: str, dim: int):
    from verification import vector_pg

    latest = VectorChange.objects.filter(model_version=model_version).order_by("-id").values_list("id", flat=True).first() or 0
    state = vector_pg.store_state(model_version, dim)
    if state is None or state < latest:

        def load():
            last = VectorChange.objects.filter(model_version=model_version).order_by("-id").values_list("id", flat=True).first()
            return last or 0, _members_from_db(model_version)

        def changes(after):
            return (
                VectorChange.objects.filter(model_version=model_version, id__gt=after)
                .order_by("id")
                .values_list("id", "reference_id", "customer_id", "op")
                .iterator(chunk_size=2000)
            )

        def vector_of(ref_id):
            rows = ReferenceEmbedding.objects.filter(model_version=model_version, reference_id=ref_id)
            return rows.values_list("vector", flat=True).first()

        vector_pg.store_sync(model_version, dim, load=load, changes=changes, vector_of=vector_of)
    return vector_pg


def vectors_search(*, model_version: str, dim: int, query: np.ndarray, k: int) -> list[tuple[int, int, float]]:
    """The ``k`` nearest indexed references to ``query``: ``[(reference id, customer id, similarity)]``."""
    if settings.SIGWEB_VECTOR_ENGINE == "pgvector":
        return _pg_sync(model_version, dim).store_search(model_version, dim, query, k)
    with _lock:
        for other in [v for v in _loaded if v != model_version]:  # one version is searched: the active one
            del _loaded[other]
        state = _loaded.get(model_version)
        if state is None:
            state = _loaded[model_version] = _load(model_version, dim)
        _catch_up(state, model_version)
        if not state.members:
            return []
        ids, sims = state.index.search(np.asarray(query, np.float32).reshape(1, -1), min(int(k), len(state.members)))
        return [(int(i), state.members[int(i)], float(s)) for i, s in zip(ids[0], sims[0]) if int(i) in state.members]


def vectors_forget(model_version: str | None = None) -> None:
    """Drop this process's copy (of one version, or all; pgvector: the shared one); the next
    search reloads it."""
    if settings.SIGWEB_VECTOR_ENGINE == "pgvector":
        from verification import vector_pg

        vector_pg.store_forget(model_version)
    with _lock:
        if model_version is None:
            _loaded.clear()
        else:
            _loaded.pop(model_version, None)


def vectors_size(model_version: str) -> int | None:
    if settings.SIGWEB_VECTOR_ENGINE == "pgvector":
        from verification import vector_pg

        return vector_pg.store_size(model_version)
    state = _loaded.get(model_version)
    return None if state is None else len(state.members)


def reference_vector_put(*, reference_id: int, model_version: str, vector: bytes) -> None:
    """Store (or replace) one reference's embedding for one model version."""
    ReferenceEmbedding.objects.update_or_create(
        reference_id=reference_id, model_version=model_version, defaults={"vector": vector}
    )


def reference_vectors(*, reference_ids, model_version: str) -> dict[int, bytes]:
    """{reference id: its embedding with ``model_version``}, for those of ``reference_ids`` that have one."""
    ids = [int(r) for r in reference_ids]
    out: dict[int, bytes] = {}
    for i in range(0, len(ids), 900):  # SQLite's limit on query parameters
        found = ReferenceEmbedding.objects.filter(model_version=model_version, reference_id__in=ids[i : i + 900])
        out.update((r, bytes(v)) for r, v in found.values_list("reference_id", "vector"))
    return out


def customer_vectors_erase(*, customer: Customer) -> int:
    """Erasure: the customer's references leave every index and their embeddings are deleted."""
    for enrollment in Enrollment.objects.filter(customer=customer, status=Enrollment.Status.ACTIVE):
        enrollment_vectors_remove(enrollment=enrollment)
    deleted, _ = ReferenceEmbedding.objects.filter(reference__customer=customer).delete()
    return deleted
