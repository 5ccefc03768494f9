"""Writer parameters live only in ``WriterParams`` (packed, about 2 KB), not also as JSON.

``Enrollment.writer_params`` held ``Engine.fit_writer``'s whole output as JSON (about 67 KB,
most of it the references' embeddings as text). Before the column goes, every enrollment
that has JSON parameters but no ``WriterParams`` row for its model version gets one:

* its JSON references are matched, one to one, with the enrollment's stored embeddings
  (cosine above 0.9999: ``fit_writer`` stores the unit-scaled embeddings);
* when all match, the row holds the packed parameters and those references' ids in the
  order fitted, and each reference gets its ``ReferenceEmbedding`` for that version if it
  had none;
* otherwise (parameters another engine made, or references that changed) the row keeps the
  JSON, which ``writer_store`` reads as it is.

Going back rebuilds the JSON from the rows.
"""

import numpy as np
from django.db import migrations


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)


def _matched_reference_ids(enrollment, json_refs) -> list[int] | None:
    """The ids of the enrollment's references that ``json_refs`` are, in their order; None
    when one of them has no counterpart."""
    from verification import embeddings

    refs = [r for r in enrollment.references.all() if r.embedding is not None]
    if not refs or not json_refs:
        return None
    ours = _unit(embeddings.stack([r.embedding for r in refs]))
    theirs = np.asarray(json_refs, np.float32)
    if theirs.ndim != 2 or theirs.shape[1] != ours.shape[1]:
        return None
    sims = _unit(theirs) @ ours.T
    picked: list[int] = []
    for row in sims:
        j = int(np.argmax(row))
        if row[j] < 0.9999 or j in picked:
            return None
        picked.append(j)
    return [refs[j].id for j in picked]


def forwards(apps, schema_editor):
    from verification.ml_engine import writer_params_pack

    Enrollment = apps.get_model("verification", "Enrollment")
    ReferenceEmbedding = apps.get_model("verification", "ReferenceEmbedding")
    WriterParams = apps.get_model("verification", "WriterParams")
    for enrollment in Enrollment.objects.filter(writer_params__isnull=False).iterator(chunk_size=200):
        if WriterParams.objects.filter(enrollment=enrollment, model_version=enrollment.model_version).exists():
            continue
        params = enrollment.writer_params
        ref_ids = _matched_reference_ids(enrollment, params.get("references"))
        packed = writer_params_pack(params) if ref_ids else None
        if packed is not None:
            for ref in enrollment.references.filter(id__in=ref_ids):
                ReferenceEmbedding.objects.get_or_create(
                    reference=ref, model_version=enrollment.model_version, defaults={"vector": ref.embedding}
                )
        WriterParams.objects.create(
            enrollment=enrollment,
            model_version=enrollment.model_version,
            reference_ids=ref_ids if packed is not None else [],
            packed=packed,
            params=None if packed is not None else params,
        )


def backwards(apps, schema_editor):
    from verification import embeddings
    from verification.ml_engine import writer_params_unpack

    Enrollment = apps.get_model("verification", "Enrollment")
    ReferenceEmbedding = apps.get_model("verification", "ReferenceEmbedding")
    WriterParams = apps.get_model("verification", "WriterParams")
    for enrollment in Enrollment.objects.iterator(chunk_size=200):
        row = WriterParams.objects.filter(enrollment=enrollment, model_version=enrollment.model_version).first()
        if row is None:
            continue
        if row.packed is None:
            enrollment.writer_params = row.params
        else:
            found = dict(
                ReferenceEmbedding.objects.filter(
                    model_version=row.model_version, reference_id__in=row.reference_ids
                ).values_list("reference_id", "vector")
            )
            if any(r not in found for r in row.reference_ids):
                continue
            params = writer_params_unpack(bytes(row.packed), embeddings.stack([found[r] for r in row.reference_ids]))
            enrollment.writer_params = {k: (v.tolist() if hasattr(v, "tolist") else v) for k, v in params.items()}
        enrollment.save(update_fields=["writer_params"])


class Migration(migrations.Migration):
    dependencies = [("verification", "0006_docs_documents")]

    operations = [
        migrations.RunPython(forwards, backwards),
        migrations.RemoveField(model_name="enrollment", name="writer_params"),
    ]
