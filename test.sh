#!/usr/bin/env bash
# Run SigWeb's tests. Creates .venv and installs requirements-dev.txt and SigWeb (editable) on first use.
# Integration tests use real PostgreSQL and Redis when DATABASE_URL and REDIS_URL are set
# (.ci/run sets them) and are skipped otherwise. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
./scripts/venv.sh
exec .venv/bin/python -m pytest "$@"
