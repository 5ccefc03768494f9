"""The facade's pen-dynamics part (``ml.online``): online templates and scores of pad signatures,
their pace and profiles. Keyed by the image model's version (``ml/online/params.json``); the
rules using these numbers (path, operating points, replay tolerance, pace bounds) live in
``verification.decisions``."""

from __future__ import annotations

from typing import Any

from ml.online import pad as online_pad
from ml.online.verifier import MIN_PAD_REFERENCES, load_params
from verification.ml_engine.core import SignatureEngine

__all__ = [
    "ONLINE_MIN_PAD_REFERENCES",
    "online_params",
    "online_params_for",
    "online_score",
    "online_template",
    "online_template_key",
    "online_writer",
    "pad_dynamics_profile",
    "pad_pace",
]

ONLINE_MIN_PAD_REFERENCES = MIN_PAD_REFERENCES


def online_params(engine: SignatureEngine):
    """The online parameters stored for this engine's model version (``ml.online.verifier.load_params``)."""
    return online_params_for(engine.model_version)


def online_params_for(model_version: str):
    """The online parameters stored for ``model_version``, else the table's default entry."""
    return load_params(model_version)


def online_template(engine: SignatureEngine, strokes: Any):
    """A pad signature's compact template (``ml.online.pad.PackedTemplate``), None without usable times."""
    return online_pad.template_or_none(strokes, online_params(engine))


def online_template_key(engine: SignatureEngine) -> str:
    return online_pad.params_key(online_params(engine))


def online_score(engine: SignatureEngine, *, references: list, query_strokes: Any, image_score: float, writer=None):
    """Online and fused scores, replay distance and ``writer`` (``ml.online.pad.app_score``), or None."""
    return online_pad.app_score(online_params(engine), references, query_strokes, float(image_score), writer)


def online_writer(engine: SignatureEngine, *, references: list):
    """A writer's online data from its stored templates (``ml.online.pad.app_writer``), or None."""
    return online_pad.app_writer(online_params(engine), references)


def pad_pace(strokes: Any) -> dict | None:
    """Duration and pen-down speed of a pad signature (``ml.online.pad.pace``), None without times."""
    return online_pad.pace(strokes)


def pad_dynamics_profile(strokes: Any) -> dict | None:
    """Speed and pressure over time for the review page (``ml.online.pad.dynamics_profile``)."""
    return online_pad.dynamics_profile(strokes)
