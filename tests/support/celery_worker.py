"""Start a real Celery worker process (tests only): ``python tests/support/celery_worker.py -A sigweb worker ...``.

It is the ``celery`` command itself; with ``SIGWEB_TEST_FAKE_ENGINE=1`` it first installs the
test fake engine (used only while ml/weights/sigweb.pt does not exist yet).
"""

import os
import sys
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[2]), str(Path(__file__).resolve().parent)]

if os.environ.get("SIGWEB_TEST_FAKE_ENGINE") == "1":
    from fake_engine import FakeEngine

    from verification import ml_engine

    ml_engine.engine_override(lambda path: FakeEngine(path))

from celery.__main__ import main  # noqa: E402

if __name__ == "__main__":
    sys.argv[0] = "celery"
    sys.exit(main())
