"""Whether the PostgreSQL + pgvector that PyPI's pgserver bundles runs here at all.

The bundled pgvector is compiled for the CPU of the machine that built the wheel: on a CPU
without those instructions (e.g. no AVX-512) casting a 512-value array to ``vector`` or
building an HNSW index kills the server process with an illegal instruction. Tests of the
real external engine skip with that reason there, instead of failing on a crashed server;
everywhere else they run for real.
"""

from __future__ import annotations

import functools
import shutil
import tempfile

PROBE_SQL = (
    "CREATE EXTENSION IF NOT EXISTS vector; "
    "CREATE TABLE probe AS SELECT i, (SELECT array_agg(random())::vector(512) FROM generate_series(1, 512)) AS e "
    "FROM generate_series(1, 20) i; "
    "CREATE INDEX ON probe USING hnsw (e vector_cosine_ops); "
    "SELECT i FROM probe ORDER BY e <=> (SELECT e FROM probe LIMIT 1) LIMIT 3;"
)


@functools.lru_cache(maxsize=1)
def pgvector_unusable() -> str | None:
    """None when pgserver starts PostgreSQL and pgvector answers the probe, else why not."""
    try:
        import pgserver
        from pgserver._commands import pg_ctl
    except ImportError:
        return "pgserver is not installed (pip install -r requirements-dev.txt)"
    folder = tempfile.mkdtemp(prefix="sigweb_pgvector_probe_")
    try:
        try:
            server = pgserver.get_server(folder, cleanup_mode="stop")
        except Exception as exc:  # no way to run PostgreSQL here
            return f"pgserver could not start PostgreSQL: {exc}"
        try:
            server.psql(PROBE_SQL)
        except Exception as exc:
            try:  # the crashed server would otherwise take a minute to refuse a clean stop
                pg_ctl(["-m", "immediate", "stop"], pgdata=server.pgdata, user=server.system_user)
            except Exception:
                pass
            return (
                "pgserver's bundled pgvector failed a 512-dimension HNSW probe (on a CPU without the instructions "
                f"it was built for, e.g. AVX-512, its server dies with an illegal instruction): {str(exc)[:200]}"
            )
        finally:
            server.cleanup()
        return None
    finally:
        shutil.rmtree(folder, ignore_errors=True)
