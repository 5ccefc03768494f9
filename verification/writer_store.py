"""Writer parameters per model version (``WriterParams``): stored packed, read back whole.

An enrollment's parameters for a model version are ``ml.writer_pack`` bytes plus the
reference embeddings of that version (``ReferenceEmbedding``), in the order they were
fitted; parameters of an engine that does not pack them are kept as JSON.
"""

from __future__ import annotations

from collections.abc import Iterable

from verification import embeddings, ml_engine, vector_store
from verification.models import WriterParams


def writer_params_row(*, enrollment_id: int, model_version: str, reference_ids: list[int], params: dict) -> WriterParams:
    """An unsaved row for ``params`` fitted on ``reference_ids`` (in that order)."""
    packed = ml_engine.writer_params_pack(params)
    return WriterParams(
        enrollment_id=enrollment_id,
        model_version=model_version,
        reference_ids=[int(r) for r in reference_ids],
        packed=packed,
        params=None if packed is not None else params,
    )


def writer_params_save(*, enrollment_id: int, model_version: str, reference_ids: list[int], params: dict) -> None:
    row = writer_params_row(enrollment_id=enrollment_id, model_version=model_version, reference_ids=reference_ids, params=params)
    WriterParams.objects.update_or_create(
        enrollment_id=enrollment_id,
        model_version=model_version,
        defaults={"reference_ids": row.reference_ids, "packed": row.packed, "params": row.params},
    )


def writer_params_read(rows: Iterable[WriterParams]) -> dict[int, dict]:
    """{enrollment id: the dict ``engine.score`` takes} for rows of one model version."""
    rows = list(rows)
    wanted = {(row.model_version, r) for row in rows if row.packed is not None for r in row.reference_ids}
    vectors = {}
    for version in {v for v, _ in wanted}:
        found = vector_store.reference_vectors(reference_ids=[r for v, r in wanted if v == version], model_version=version)
        vectors.update({(version, r): v for r, v in found.items()})
    out = {}
    for row in rows:
        if row.packed is None:
            out[row.enrollment_id] = row.params
            continue
        refs = [vectors.get((row.model_version, r)) for r in row.reference_ids]
        if any(v is None for v in refs):  # a reference was erased: the enrollment is gone too
            continue
        out[row.enrollment_id] = ml_engine.writer_params_unpack(bytes(row.packed), embeddings.stack(refs))
    return out
