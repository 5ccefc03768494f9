"""Model versions: which checkpoint is live, switching to another (re-embed), training one."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from verification.errors import DomainError
from verification.ml_engine import SignatureEngine, engine_load, operating_points, train_config_resolve, train_run
from verification.models import Job, ModelVersion
from verification.services.audit import audit_record
from verification.services.jobs import job_create, job_finishing, job_progress, job_succeed

log = logging.getLogger(__name__)


def _fields_from_engine(engine: SignatureEngine, checkpoint_path: str) -> dict:
    ck = engine.checkpoint or {}
    return {
        "checkpoint_path": checkpoint_path,
        "preprocess_version": str(engine.preprocess_version),
        "embedding_dim": int(engine.embedding_dim),
        "threshold": float(engine.threshold),
        "thresholds": operating_points(engine),
        "metrics": _jsonable(ck.get("metrics", {}) if isinstance(ck, dict) else {}),
    }


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def model_version_active() -> ModelVersion:
    """The live model version; on first use registers and activates the configured default."""
    active = ModelVersion.objects.filter(is_active=True).first()
    if active is not None:
        return active
    path = settings.SIGWEB_MODEL_PATH or ""
    engine = engine_load(path)
    try:
        with transaction.atomic():
            mv, _ = ModelVersion.objects.get_or_create(name=engine.model_version, defaults=_fields_from_engine(engine, path))
            if not ModelVersion.objects.select_for_update().filter(is_active=True).exists():
                mv.is_active = True
                mv.activated_at = timezone.now()
                mv.save(update_fields=["is_active", "activated_at"])
    except IntegrityError:  # another process activated one at the same moment
        pass
    return ModelVersion.objects.get(is_active=True)


def engine_for_version(name: str) -> SignatureEngine:
    """The engine that computed embeddings for ``name`` (a ModelVersion.name)."""
    mv = ModelVersion.objects.filter(name=name).first()
    if mv is None:
        raise DomainError(f"model version {name} is not registered", code="unknown_model_version", status=409)
    return engine_load(mv.checkpoint_path)


def active_engine() -> tuple[ModelVersion, SignatureEngine]:
    mv = model_version_active()
    return mv, engine_load(mv.checkpoint_path)


def _model_audit_fields(mv: ModelVersion) -> dict:
    return {"model_version": mv.name, "checkpoint_path": mv.checkpoint_path, "threshold": mv.threshold, "is_active": mv.is_active}


def model_version_register(*, checkpoint_path: str, registered_by=None) -> ModelVersion:
    """Register a checkpoint file (validated by loading it); does not activate it."""
    try:  # a name too long for the file system or with a NUL byte is "not found", not a 500
        found = bool(checkpoint_path) and Path(checkpoint_path).is_file()
    except (OSError, ValueError):
        found = False
    if not found:
        raise DomainError(f"checkpoint not found: {checkpoint_path[:200]}", code="bad_checkpoint")
    engine = engine_load(checkpoint_path)
    with transaction.atomic():
        mv, created = ModelVersion.objects.get_or_create(
            name=engine.model_version, defaults=_fields_from_engine(engine, checkpoint_path)
        )
        if created:
            audit_record(action="model_version.register", actor=registered_by, after=_model_audit_fields(mv))
    return mv


def model_version_activate(*, model_version: ModelVersion, created_by=None) -> Job:
    """Start the re-embed job that switches every enrollment to ``model_version``, then activates it
    (``services/model_switch.py``); a switch that failed for this version goes on from its cursor."""
    if model_version.is_active:
        raise DomainError(f"{model_version.name} is already active", code="already_active", status=409)
    switches = Job.objects.filter(kind=Job.Kind.REEMBED)
    if switches.filter(status__in=[Job.Status.QUEUED, Job.Status.RUNNING]).exists():
        raise DomainError("a model switch is already running", code="switch_running", status=409)
    params = {"model_version_id": model_version.id}
    failed = switches.filter(status=Job.Status.FAILED, params__model_version_id=model_version.id).order_by("-created_at").first()
    if failed is not None and "cursor" in failed.params and not failed.params.get("chunks_sent"):
        params["cursor"] = failed.params["cursor"]  # go on where the failed switch stopped
    with transaction.atomic():
        job = job_create(kind=Job.Kind.REEMBED, params=params, created_by=created_by)
        audit_record(
            action="model_version.activate_start",
            actor=created_by,
            after={"model_version": model_version.name, "job": job.id, "resumed_from": params.get("cursor")},
        )
        return job


def model_train_start(*, config: dict, created_by=None) -> Job:
    """Queue a full writer-independent training run; ``config`` overrides ml.train's defaults."""
    if not isinstance(config, dict):
        raise DomainError("config must be a JSON object", code="invalid")
    if "out" in config:
        config = {**config, "out": str(train_output_path(config["out"]))}
    _resolve_train_config(config, out=str(Path(settings.SIGWEB_TRAIN_OUTPUT_DIR) / "validate"))  # fail fast on bad keys
    with transaction.atomic():
        job = job_create(kind=Job.Kind.TRAIN, params={"config": config}, created_by=created_by)
        audit_record(action="model_version.train_start", actor=created_by, after={"job": job.id, "config": config})
        return job


def train_output_path(out) -> Path:
    """Where a training run may write: ``out`` resolved inside SIGWEB_TRAIN_OUTPUT_DIR, else 400.

    A relative ``out`` is taken relative to that folder; an absolute one, or one that
    climbs out of it (``..``, a symbolic link), is refused.
    """
    root = Path(settings.SIGWEB_TRAIN_OUTPUT_DIR).resolve()
    if not isinstance(out, str) or not out.strip() or "\x00" in out:
        raise DomainError("config.out must be a folder name inside the training output folder", code="invalid_config")
    path = (root / out).resolve()
    if path == root or not path.is_relative_to(root):
        raise DomainError(
            "config.out must be a folder inside the training output folder (SIGWEB_TRAIN_OUTPUT_DIR)",
            code="invalid_config",
        )
    return path


def _resolve_train_config(config: dict, *, out: str) -> dict:
    """ml's defaults + ``config`` (unknown keys refused, 400 ``invalid_config``)."""
    return train_config_resolve({"out": out, **config})


def model_train(*, job: Job) -> None:
    """Full writer-independent training through ``ml.train.train``; registers (not activates) the result."""
    config = dict(job.params.get("config") or {})
    out = train_output_path(config["out"]) if config.get("out") else train_output_path(str(job.id))
    cfg = _resolve_train_config({**config, "out": str(out)}, out=str(out))
    if not cfg.get("threads"):  # inference keeps torch at SIGWEB_TORCH_THREADS; training uses every core
        cfg["threads"] = os.cpu_count() or 1

    def progress(fraction: float, message: str = "") -> None:
        job_progress(job=job, fraction=0.95 * float(fraction), message=message or "training")

    checkpoint = str(train_run(cfg, progress=progress))
    engine = engine_load(checkpoint)
    with job_finishing(job_id=job.id) as locked:
        if locked is None:
            return
        mv, _ = ModelVersion.objects.get_or_create(name=engine.model_version, defaults=_fields_from_engine(engine, checkpoint))
        audit_record(
            action="model_version.train_finish",
            actor=job.created_by,
            after={**_model_audit_fields(mv), "job": job.id, "checkpoint": checkpoint},
        )
        job_succeed(job=locked, result={"model_version": mv.name, "model_version_id": mv.id, "checkpoint": checkpoint})


def model_train_failed(job: Job) -> None:
    """A training job failed (inside ``job_fail``'s transaction): audited, nothing registered."""
    audit_record(action="model_version.train_fail", actor=job.created_by, after={"job": str(job.id), "error": job.error[:500]})


def model_reembed_failed(job: Job) -> None:
    """A model switch failed: the active version stays as it was; audited."""
    audit_record(
        action="model_version.activate_fail",
        actor=job.created_by,
        after={"job": str(job.id), "model_version_id": job.params.get("model_version_id"), "error": job.error[:500]},
    )
