"""``manage.py runserver`` with the fake signature detector (``fake_engine.FakeDetector``), for
the documents browser test: the real engine verifies, the fake detector finds the dark ink.

    python tests/support/live_fake_detector.py 127.0.0.1:8123
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parents[1])]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sigweb.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from verification import ml_engine  # noqa: E402

from fake_engine import FakeDetector  # noqa: E402

if __name__ == "__main__":
    detector = FakeDetector()
    ml_engine.detector_override(lambda path: detector)
    call_command("runserver", sys.argv[1], use_reloader=False)
