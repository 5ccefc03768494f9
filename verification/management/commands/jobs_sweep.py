"""One run of the job sweeper: resend lost jobs, fail dead long jobs (see services/job_sweep.py)."""

import json

from django.core.management.base import BaseCommand

from verification.services.job_sweep import jobs_sweep


class Command(BaseCommand):
    help = "Resend jobs that were lost (never started, or whose worker died) and fail dead long jobs."

    def handle(self, *args, **options):
        self.stdout.write(json.dumps(jobs_sweep()))
