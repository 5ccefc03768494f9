"""Every Celery queue SigWeb uses, named in one place.

``gpu``: embedding, enrollment fitting, verification scoring, re-embedding and training.
Run one worker process per GPU on it (``celery -A sigweb worker -Q gpu --concurrency 1``).
``default``: everything else.
"""

from enum import StrEnum


class Queue(StrEnum):
    DEFAULT = "default"
    GPU = "gpu"
