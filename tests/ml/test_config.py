"""``ml.config.resolve_config``: the same resolved config from a mapping as from a file."""

from __future__ import annotations

import copy

import pytest
import yaml

from ml.config import DEFAULTS, resolve_config


def test_a_mapping_and_the_same_yaml_file_resolve_identically(tmp_path):
    given = {"model": {"kwargs": {"embedding_dim": 32}}, "optim": {"epochs": 3}, "data": {"datasets": ["cedar"]}}
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(given))
    from_dict = resolve_config(given, ["seed=5"])
    assert from_dict == resolve_config(str(path), ["seed=5"]) == resolve_config(path, ["seed=5"])
    assert from_dict["optim"]["epochs"] == 3 and from_dict["optim"]["lr"] == DEFAULTS["optim"]["lr"]
    assert from_dict["model"]["kwargs"] == {"embedding_dim": 32} and from_dict["seed"] == 5


def test_resolving_leaves_the_callers_mapping_and_the_defaults_alone():
    given = {"data": {"datasets": ["cedar"]}, "augment": {"rotate_deg": 2.0}}
    before, defaults = copy.deepcopy(given), copy.deepcopy(DEFAULTS)
    cfg = resolve_config(given)
    cfg["data"]["datasets"].append("bhsig_bengali")
    cfg["augment"]["rotate_deg"] = 9.0
    assert given == before and DEFAULTS == defaults


@pytest.mark.parametrize(
    ("source", "overrides", "error", "match"),
    [
        ({"optim": {"epoch": 3}}, [], KeyError, "optim.epoch"),
        ({"nonsense": 1}, [], KeyError, "nonsense"),
        ({}, ["optim.epochs"], ValueError, "key=value"),
        ({}, ["optim.lr.x=1"], KeyError, "not a section"),
    ],
)
def test_unknown_keys_and_malformed_overrides_are_refused(source, overrides, error, match):
    with pytest.raises(error, match=match):
        resolve_config(source, overrides)


def test_a_file_that_is_not_a_mapping_is_refused(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text("- 1\n- 2\n")
    with pytest.raises(ValueError, match="must be a mapping"):
        resolve_config(path)


def test_open_sections_take_any_key():
    cfg = resolve_config({"loss": {"weights": {"new_term": 0.5}}, "model": {"kwargs": {"widths": [4, 8]}}})
    assert cfg["loss"]["weights"]["new_term"] == 0.5 and cfg["loss"]["weights"]["triplet"] == 1.0
