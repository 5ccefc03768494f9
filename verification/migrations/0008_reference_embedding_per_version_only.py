"""A reference's embedding lives only in ``ReferenceEmbedding`` (one row per model version).

``ReferenceSignature.embedding`` kept a second copy of the live version's vector. Before the
column goes, a reference that has it but no ``ReferenceEmbedding`` row for its
``model_version`` gets that row. Going back copies the live version's row into the column.
"""

from django.db import migrations, models


def forwards(apps, schema_editor):
    ReferenceSignature = apps.get_model("verification", "ReferenceSignature")
    ReferenceEmbedding = apps.get_model("verification", "ReferenceEmbedding")
    rows = ReferenceSignature.objects.filter(embedding__isnull=False).exclude(model_version="")
    for ref in rows.only("id", "model_version", "embedding").iterator(chunk_size=500):
        ReferenceEmbedding.objects.get_or_create(
            reference_id=ref.id, model_version=ref.model_version, defaults={"vector": bytes(ref.embedding)}
        )


def backwards(apps, schema_editor):
    ReferenceSignature = apps.get_model("verification", "ReferenceSignature")
    ReferenceEmbedding = apps.get_model("verification", "ReferenceEmbedding")
    for ref in ReferenceSignature.objects.exclude(model_version="").only("id", "model_version").iterator(chunk_size=500):
        row = ReferenceEmbedding.objects.filter(reference_id=ref.id, model_version=ref.model_version).first()
        if row is not None:
            ReferenceSignature.objects.filter(id=ref.id).update(embedding=row.vector)


class Migration(migrations.Migration):
    dependencies = [("verification", "0007_writer_params_packed_only")]

    operations = [
        migrations.RunPython(forwards, backwards),
        migrations.RemoveField(model_name="referencesignature", name="embedding"),
        migrations.AlterField(
            model_name="referencesignature",
            name="model_version",
            field=models.CharField(
                blank=True, help_text="The model version of its live embedding (a ReferenceEmbedding row)", max_length=64
            ),
        ),
    ]
