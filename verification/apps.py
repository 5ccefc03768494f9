from django.apps import AppConfig


class VerificationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "verification"
    verbose_name = "Signature verification"

    def ready(self):
        # registers the Celery tasks in every process (the web process sends them by name)
        from verification import tasks  # noqa: F401
