"""Data migrations that change existing rows."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def _migration(suffix: str):
    """(this migration, its parents), found by name: numbers change when branches merge."""
    graph = MigrationExecutor(connection).loader.graph
    node = next(n for n in graph.nodes if n[0] == "verification" and n[1].endswith(suffix))
    return [node], sorted(p.key for p in graph.node_map[node].parents)


def _apps_before(suffix: str):
    """(the migration's node, the models as they were just before it), the database migrated there."""
    after, before = _migration(suffix)
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    return after, executor.loader.project_state(before).apps


def _migrate(nodes=None) -> MigrationExecutor:
    """The database migrated to ``nodes`` (None: the latest migrations)."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(nodes or executor.loader.graph.leaf_nodes())
    return executor


@pytest.mark.slow
def test_one_verdict_migration_keeps_the_newest_of_conflicting_verdicts():
    AFTER, apps = _apps_before("a_link_purpose_approval_audit")
    Customer = apps.get_model("verification", "Customer")
    Verification = apps.get_model("verification", "Verification")
    Review = apps.get_model("verification", "Review")
    customer = Customer.objects.create(external_ref="MIG-1", name="m")
    v1 = Verification.objects.create(customer=customer, source="pad", status="done")
    v2 = Verification.objects.create(customer=customer, source="pad", status="done")
    Review.objects.create(verification=v1, verdict="genuine")
    newest = Review.objects.create(verification=v1, verdict="forgery")
    only = Review.objects.create(verification=v2, verdict="genuine")

    apps = _migrate(AFTER).loader.project_state(AFTER).apps
    Review = apps.get_model("verification", "Review")
    assert sorted(Review.objects.values_list("id", "verdict")) == sorted([(newest.id, "forgery"), (only.id, "genuine")])
    _migrate()


@pytest.mark.slow
def test_json_writer_params_move_to_packed_rows_before_the_column_goes():
    """Enrollments whose parameters were only JSON get a packed ``WriterParams`` row (their
    references matched to stored embeddings, in fitted order) that reads back to the same
    parameters; JSON that matches no stored reference is kept as JSON."""
    import numpy as np

    from ml.writer import fit_writer
    from verification import embeddings
    from verification.writer_store import writer_params_read

    AFTER, apps = _apps_before("writer_params_packed_only")
    Customer = apps.get_model("verification", "Customer")
    Enrollment = apps.get_model("verification", "Enrollment")
    ReferenceSignature = apps.get_model("verification", "ReferenceSignature")
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(4, 64)).astype(np.float32)
    wd = fit_writer(vectors[::-1], rng.normal(size=(40, 64)))  # fitted in another order than stored
    wd["model_version"] = "v-json"
    customer = Customer.objects.create(external_ref="MIG-2", name="m")
    refs = [
        ReferenceSignature.objects.create(
            customer=customer, source="pad", status="embedded", model_version="v-json", embedding=embeddings.to_bytes(v)
        )
        for v in vectors
    ]
    packed_one = Enrollment.objects.create(customer=customer, status="active", model_version="v-json", writer_params=wd)
    packed_one.references.set(refs)
    foreign = dict(wd, references=rng.normal(size=(4, 64)).tolist())  # matches none of the stored embeddings
    kept_json = Enrollment.objects.create(customer=customer, status="revoked", model_version="v-json", writer_params=foreign)
    kept_json.references.set(refs)

    _migrate(AFTER)
    from verification.models import WriterParams

    row = WriterParams.objects.get(enrollment_id=packed_one.id, model_version="v-json")
    assert row.params is None and 0 < len(row.packed) <= 8192
    assert row.reference_ids == [r.id for r in refs[::-1]]
    back = writer_params_read([row])[packed_one.id]
    for key in ("references", "svm_w"):
        assert np.allclose(back[key], np.asarray(wd[key], np.float32), atol=1e-5), key
    assert back["svm_b"] == wd["svm_b"] and back["n_refs"] == 4 and back["self_sim"] == pytest.approx(wd["self_sim"])
    other = WriterParams.objects.get(enrollment_id=kept_json.id)
    assert other.packed is None and other.params == foreign
    assert writer_params_read([other])[kept_json.id] == foreign
    _migrate()


@pytest.mark.slow
def test_reference_embeddings_move_to_per_version_rows_before_the_column_goes():
    AFTER, apps = _apps_before("reference_embedding_per_version_only")
    Customer = apps.get_model("verification", "Customer")
    ReferenceSignature = apps.get_model("verification", "ReferenceSignature")
    ReferenceEmbedding = apps.get_model("verification", "ReferenceEmbedding")
    customer = Customer.objects.create(external_ref="MIG-3", name="m")
    only_column = ReferenceSignature.objects.create(
        customer=customer, source="pad", status="embedded", model_version="v1", embedding=b"\x00\x00\x80\x3f" * 8
    )
    both = ReferenceSignature.objects.create(
        customer=customer, source="pad", status="embedded", model_version="v1", embedding=b"\x00\x00\x00\x40" * 8
    )
    ReferenceEmbedding.objects.create(reference_id=both.id, model_version="v1", vector=b"\x00\x00\x00\x40" * 8)
    ReferenceEmbedding.objects.create(reference_id=both.id, model_version="v2", vector=b"\x00\x00\x40\x40" * 8)
    ReferenceSignature.objects.create(customer=customer, source="pad", status="pending")

    _migrate(AFTER)
    from verification.models import ReferenceEmbedding as Stored

    rows = sorted((r, v, bytes(b)) for r, v, b in Stored.objects.values_list("reference_id", "model_version", "vector"))
    assert rows == [
        (only_column.id, "v1", b"\x00\x00\x80\x3f" * 8),
        (both.id, "v1", b"\x00\x00\x00\x40" * 8),
        (both.id, "v2", b"\x00\x00\x40\x40" * 8),
    ]
    _migrate()


@pytest.mark.slow
def test_model_versions_get_their_per_bucket_thresholds_from_checkpoints_that_still_load(fake_engine):
    """A version whose checkpoint loads as itself gets its thresholds; one whose path now holds
    another version, or no longer loads, keeps an empty map (and its single ``threshold``)."""
    from verification.ml_engine import engine_load

    AFTER, apps = _apps_before("model_version_thresholds")
    ModelVersion = apps.get_model("verification", "ModelVersion")
    fake_engine.threshold_for = lambda n: 0.4 if n < 5 else 0.6  # an engine with two operating points
    same = ModelVersion.objects.create(name=fake_engine.model_version, checkpoint_path="", threshold=0.6)
    moved = ModelVersion.objects.create(name="sigfast-00000000", checkpoint_path="", threshold=0.7)
    other = engine_load("/elsewhere.pt")
    other.threshold_for = lambda n: (_ for _ in ()).throw(RuntimeError("cannot read the checkpoint"))
    broken = ModelVersion.objects.create(name=other.model_version, checkpoint_path="/elsewhere.pt", threshold=0.5)

    _migrate(AFTER)
    from verification.models import ModelVersion as Stored

    assert Stored.objects.get(id=same.id).thresholds == {"1": 0.4, "2-4": 0.4, "5-9": 0.6, "10+": 0.6}
    assert Stored.objects.get(id=moved.id).thresholds == {}
    assert Stored.objects.get(id=broken.id).thresholds == {}
    _migrate()
