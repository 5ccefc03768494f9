"""Template context for every page: the server's rules that the scripts read (``rules-data``)."""

from __future__ import annotations

from verification.decisions import front_end_rules


def sigweb_rules(request) -> dict:
    """``{{ sigweb_rules|json_script:"rules-data" }}`` in templates/base.html: non-executable JSON (CSP)."""
    return {"sigweb_rules": front_end_rules()}
