"""A model version records its operating point per reference-count bucket.

Versions registered before this field get it from their checkpoint where the checkpoint still
loads as that same version; one that does not (moved, deleted, or an empty path whose shipped
default has since changed) keeps an empty ``thresholds`` and is decided as
before, at ``engine.threshold_for`` of whichever engine serves it.
"""

import logging

from django.db import migrations, models

log = logging.getLogger(__name__)


def forwards(apps, schema_editor):
    from verification.ml_engine import engine_load, operating_points

    ModelVersion = apps.get_model("verification", "ModelVersion")
    for mv in ModelVersion.objects.filter(thresholds={}):
        try:
            engine = engine_load(mv.checkpoint_path)
            if engine.model_version != mv.name:
                log.warning(
                    "model version %s: its checkpoint path now holds %s; thresholds not filled", mv.name, engine.model_version
                )
                continue
            mv.thresholds = operating_points(engine)
        except Exception as exc:  # a checkpoint that no longer loads or answers: leave it empty
            log.warning("model version %s: thresholds not filled (%s)", mv.name, exc)
            continue
        mv.save(update_fields=["thresholds"])


class Migration(migrations.Migration):
    dependencies = [
        ("verification", "0008_reference_embedding_per_version_only"),
    ]

    operations = [
        migrations.AddField(
            model_name="modelversion",
            name="thresholds",
            field=models.JSONField(
                blank=True, default=dict, help_text="Operating point per reference-count bucket ('1', '2-4', '5-9', '10+')"
            ),
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
