"""The engine interface: the test fake and the real engine both implement ``SignatureEngine``."""

from __future__ import annotations

import inspect

import pytest

from verification import ml_engine
from verification.errors import DomainError
from verification.ml_engine import SignatureEngine

from fake_engine import FakeEngine

METHODS = [name for name, value in vars(SignatureEngine).items() if inspect.isfunction(value) and not name.startswith("_")]
ATTRIBUTES = sorted(SignatureEngine.__annotations__)


def _parameters(function) -> list[tuple[str, object]]:
    """Names and defaults, without ``self`` (a static method has none)."""
    return [(p.name, p.default) for p in inspect.signature(function).parameters.values() if p.name != "self"]


def test_the_protocol_names_what_the_app_uses():
    assert set(METHODS) >= {
        "prepare",
        "preview_png",
        "embed",
        "embed_images",
        "fit_writer",
        "score",
        "verify",
        "reference_consistency",
        "identify",
    }
    assert set(ATTRIBUTES) >= {"model_version", "preprocess_version", "embedding_dim", "threshold", "canvas", "checkpoint"}


def test_fake_engine_satisfies_the_protocol():
    fake = FakeEngine()
    assert isinstance(fake, SignatureEngine)
    for name in METHODS:
        assert _parameters(getattr(FakeEngine, name)) == _parameters(getattr(SignatureEngine, name)), name


def test_an_object_without_the_methods_is_not_an_engine():
    class Partial:
        model_version = "x"

        def prepare(self, source):
            return source

    assert not isinstance(Partial(), SignatureEngine)


def test_real_engine_has_the_protocol_signatures():
    engine_module = pytest.importorskip("ml.engine")
    for name in METHODS:
        assert _parameters(getattr(engine_module.Engine, name)) == _parameters(getattr(SignatureEngine, name)), name


def test_training_config_from_a_dict_refuses_unknown_keys():
    cfg = ml_engine.train_config_resolve({"out": "x", "optim": {"epochs": 2}})
    assert cfg["optim"]["epochs"] == 2 and cfg["out"] == "x"
    with pytest.raises(DomainError) as exc:
        ml_engine.train_config_resolve({"optim": {"epochz": 2}})
    assert exc.value.code == "invalid_config"
