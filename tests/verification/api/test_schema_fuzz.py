"""Property-based fuzzing of every API operation from SigWeb's own OpenAPI schema (schemathesis).

Hypothesis generates requests for each operation (a fixed seed, a bounded number of
examples), sends them through Django's WSGI handler with an admin token against the fake
engine, and checks that:

* no response is a 5xx;
* no error body is HTML (every error is the JSON envelope);
* every status code is documented for its operation, and every body and content type
  conforms to the documented schema (a client generated from the schema works).

``SIGWEB_FUZZ_EXAMPLES`` raises the examples per operation for a longer local run.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

EXAMPLES = int(os.environ.get("SIGWEB_FUZZ_EXAMPLES", "10"))

schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
wsgi_app = get_wsgi_application()


def no_html_error_body(ctx, response, case: Case):
    """Errors speak JSON: Django's HTML error pages must never reach an API client."""
    content_type = response.headers.get("Content-Type", response.headers.get("content-type", [""]))
    content_type = content_type[0] if isinstance(content_type, list) else content_type
    if response.status_code >= 400:
        assert "html" not in content_type.lower(), f"{response.status_code} with an HTML body ({content_type})"
        assert not response.text.lstrip().lower().startswith("<!doctype"), "an HTML page as an error body"
    return None


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def fuzz_world(settings_fixture_alias, enrolled_customer, monkeypatch):
    """An enrolled customer (so some generated ids exist) and an admin's API token; throttles
    and the hourly limit off, so the fuzzer explores behaviour rather than 429s. A fast
    password hasher: the token endpoint hashes every generated password. Long jobs (train,
    re-embed) a fuzzed request starts stay queued: their background thread would share the
    in-memory test database with the next request, whose reads then meet SQLite's shared-cache
    table locks ("database table is locked"), which a file database in WAL mode never shows."""
    from django.contrib.auth.models import User
    from rest_framework.authtoken.models import Token

    monkeypatch.setattr("verification.services.job_dispatch._run_in_thread", lambda *args: None)

    s = settings_fixture_alias
    s.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    admin = User.objects.create_user("fuzz-admin", password="fuzz-admin-pw", is_staff=True, is_superuser=True)
    s.SIGWEB_THROTTLE_RATES = {k: "off" for k in s.SIGWEB_THROTTLE_RATES}
    s.SIGWEB_CUSTOMER_VERIFICATIONS_PER_HOUR = 0
    s.AXES_ENABLED = False
    s.SIGWEB_MAX_WAIT_SECONDS = 0.5
    enrolled_customer()
    return {"Authorization": f"Token {Token.objects.create(user=admin).key}"}


@pytest.fixture
def settings_fixture_alias(settings):
    return settings


# One pytest test per operation, named by it ("GET /api/customers/"): schemathesis's own
# ``schema.parametrize()`` gives every operation the same node id, and pytest-xdist, which runs
# the suite in two processes, keeps only one test per node id.
OPERATIONS = [result.ok() for result in schema.get_all_operations()]


@pytest.mark.slow
@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.label for op in OPERATIONS])
def test_api_operation_conforms_to_its_schema(operation, fuzz_world):
    # valid and invalid requests alike, as schemathesis's default generation modes
    cases = st.one_of(*(operation.as_strategy(generation_mode=mode) for mode in GenerationMode))

    @given(case=cases)
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,  # a fixed seed: the same cases on every run
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def conforms(case: Case):
        response = case.call(app=wsgi_app, headers=fuzz_world)
        no_html_error_body(None, response, case)
        case.validate_response(response, checks=CHECKS)

    conforms()


def test_every_operation_of_the_schema_is_fuzzed():
    assert len(OPERATIONS) == len({op.label for op in OPERATIONS}) >= 40
    assert {"GET /api/customers/", "POST /api/verifications/", "POST /api/identifications/"} <= {op.label for op in OPERATIONS}
