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


@pytest.mark.slow
def test_one_verdict_migration_keeps_the_newest_of_conflicting_verdicts():
    AFTER, BEFORE = _migration("a_link_purpose_approval_audit")
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    Customer = apps.get_model("verification", "Customer")
    Verification = apps.get_model("verification", "Verification")
    Review = apps.get_model("verification", "Review")
    customer = Customer.objects.create(external_ref="MIG-1", name="m")
    v1 = Verification.objects.create(customer=customer, source="pad", status="done")
    v2 = Verification.objects.create(customer=customer, source="pad", status="done")
    Review.objects.create(verification=v1, verdict="genuine")
    newest = Review.objects.create(verification=v1, verdict="forgery")
    only = Review.objects.create(verification=v2, verdict="genuine")

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)
    apps = executor.loader.project_state(AFTER).apps
    Review = apps.get_model("verification", "Review")
    assert sorted(Review.objects.values_list("id", "verdict")) == sorted([(newest.id, "forgery"), (only.id, "genuine")])
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
