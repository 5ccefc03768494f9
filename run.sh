#!/usr/bin/env bash
# Set up and run SigWeb on the embedded default (SQLite, in-memory channels, in-process jobs)
# at http://127.0.0.1:8000 . Creates .venv, installs requirements-dev.txt and SigWeb (editable), migrates, seeds the demo.
set -euo pipefail
cd "$(dirname "$0")"
./scripts/venv.sh
.venv/bin/python manage.py migrate --noinput
.venv/bin/python manage.py seed_demo
echo
echo "SigWeb: http://127.0.0.1:8000  (API docs: /api/docs/, admin: /admin/; users admin / analyst, password above)"
# jobs run in this process: keep freed memory rather than fault it in again for every page
# (docs/BENCHMARKS.md, detector latency); set either variable to override
export MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-268435456}" MALLOC_TRIM_THRESHOLD_="${MALLOC_TRIM_THRESHOLD_:-268435456}"
exec .venv/bin/python manage.py runserver "${SIGWEB_BIND:-127.0.0.1:8000}"
