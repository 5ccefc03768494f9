"""scripts/check_wording.py keeps numbered work periods, run letters and remarks about the
machines out of docs, configs, code and tests, and the repository passes it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("check_wording", ROOT / "scripts" / "check_wording.py")
check_wording = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check_wording)

SESSION = "ses" + "sion"  # spelled apart so that this file passes the check it tests


@pytest.mark.parametrize(
    "line",
    [
        f"trained in {SESSION} 5 on two cores",
        f"the {SESSION}-3 recipe",
        f"shipped in {SESSION}s 3-4",
        f"as in this {SESSION}, again",
        "Run " + "D2 against the shipped model",
        "the recipe of run " + "B",
        "runs " + "F and G were not shipped",
        "compare_models_run" + "_h.json",
        "no GPU was " + "le" + "nt here",
    ],
)
def test_each_kind_of_history_wording_is_found(line):
    found = check_wording.findings(f"first line\n{line}\n")
    assert [(n, text) for n, _, text in found] == [(2, line)]


@pytest.mark.parametrize(
    "line",
    [
        "Sessions are Django's: the session cookie is secure in production.",
        "Celery workers run a task at most once per delivery.",
        "the seed2 model, shipped 2026-11-22, on 2 CPU cores",
        "runs/sigfast_d512_lightaug_f4_seed2/last.pt",
        "Run the suite with ./test.sh",
    ],
)
def test_ordinary_wording_passes(line):
    assert check_wording.findings(line) == []


def test_the_repository_passes_the_wording_check():
    report = check_wording.check(check_wording.tracked_files())
    assert report == [], "\n".join(report)
