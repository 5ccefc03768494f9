from django.core.management.base import BaseCommand

from verification.services.document_retention import documents_retention_apply


class Command(BaseCommand):
    help = "Delete document pages attached to no verification after SIGWEB_DOCUMENT_RETENTION_DAYS days (audited)."

    def handle(self, *args, **options):
        summary = documents_retention_apply()
        self.stdout.write(
            f"deleted {summary['pages']} page(s); {summary['documents']} document(s) emptied (retention {summary['days']} days)"
        )
