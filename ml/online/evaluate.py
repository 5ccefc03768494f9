"""``python -m ml evaluate`` on stroke-JSON writer folders: image, online or fused decisions.

DIR holds ``<writer>/genuine/*.json`` and optionally ``<writer>/forged/*.json``, each file
what ``POST /api/verifications/`` takes in ``strokes``. The protocol is ``ml.writer.protocol``
(the one the image evaluation uses); the decision is chosen by ``decision``:

* ``image``: the strokes are rendered (``ml.strokes.render_strokes``, as the app does) and
  scored by the shipped image engine;
* ``online``: DTW with per-writer normalisation, calibrated (``ml.online.verifier``);
* ``fused``: a logistic fusion of the image score and the online features;
* ``auto`` (default): what the app does: fused when the writer has at least
  ``MIN_PAD_REFERENCES`` pad references (and a fusion is stored for the model), image otherwise.

A writer folder that mixes images and JSON, or image writers beside stroke-JSON writers, is
refused (``FileNotFoundError`` naming the folder).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ml.data import IMAGE_EXTS, LABELS
from ml.errors import SignatureInputError
from ml.online.features import extract
from ml.online.verifier import (
    MIN_PAD_REFERENCES,
    OnlineParams,
    feature_columns,
    fused_score,
    load_params,
    online_score,
    pair_distances,
    per_reference_scale,
    reference_globals,
    reference_path_stats,
    uses_paths,
)

DECISIONS = ("auto", "image", "online", "fused")


def _writer_files(wdir: Path):
    files = {lab: sorted(p for p in (wdir / lab).glob("*") if p.is_file()) for lab in LABELS if (wdir / lab).is_dir()}
    return files


def is_stroke_folder(data) -> bool:
    """True when DIR's writer folders hold stroke JSON (``*.json``) rather than images."""
    root = Path(data)
    if not root.is_dir():
        return False
    for w in root.iterdir():
        if w.is_dir():
            for lab in LABELS:
                if (w / lab).is_dir() and any(p.suffix.lower() == ".json" for p in (w / lab).iterdir()):
                    return True
    return False


@dataclass
class StrokeSample:
    writer: str
    label: str
    path: str
    strokes: list


def scan_stroke_writers(data) -> tuple[list[StrokeSample], list[str]]:
    root = Path(data)
    if not root.is_dir():
        raise FileNotFoundError(f"data folder not found: {data}")
    samples, skipped = [], []
    for wdir in sorted(p for p in root.iterdir() if p.is_dir()):
        files = _writer_files(wdir)
        allf = [p for fs in files.values() for p in fs]
        kinds = {
            "json" if p.suffix.lower() == ".json" else "image"
            for p in allf
            if p.suffix.lower() == ".json" or p.suffix.lower() in IMAGE_EXTS
        }
        if len(kinds) > 1:
            raise FileNotFoundError(f"{wdir}: a writer folder mixes images and stroke JSON; give one kind per writer")
        if kinds == {"image"}:
            raise FileNotFoundError(f"{wdir}: image writers in a folder of stroke-JSON writers; evaluate them separately")
        for lab, fs in files.items():
            for p in fs:
                if p.suffix.lower() != ".json":
                    continue
                try:
                    strokes = json.loads(p.read_text())
                except (OSError, ValueError):
                    skipped.append(str(p))
                    continue
                samples.append(StrokeSample(wdir.name, lab, str(p), strokes))
    return samples, skipped


class StrokeScorer:
    """Templates, image embeddings and a cache of DTW distances for one folder."""

    def __init__(self, samples: list[StrokeSample], params: OnlineParams, engine=None):
        self.params = params
        self.engine = engine
        self.samples, self.templates, self.skipped = [], [], []
        for s in samples:
            try:
                tpl = extract(s.strokes, params.rate_hz)
            except SignatureInputError:
                self.skipped.append(s.path)
                continue
            self.samples.append(s)
            self.templates.append(tpl)
        self.emb = None
        if engine is not None and self.samples:
            self.emb = engine.embed([s.strokes for s in self.samples])
        self._dist: dict[tuple[int, int], float] = {}

    def by_writer(self) -> dict:
        by: dict[str, dict[str, list[int]]] = {}
        for i, s in enumerate(self.samples):
            by.setdefault(s.writer, {"genuine": [], "forged": []})[s.label].append(i)
        return {w: {k: np.array(v, int) for k, v in d.items()} for w, d in by.items()}

    def distances(self, q_idx, r_idx, paths: bool = False) -> np.ndarray:
        """(Q, R) DTW distances; with ``paths`` (3, Q, R): also each best path's bend and shift
        (``pair_distances``), cached with the distance when the feature set uses them."""
        with_paths = uses_paths(self.params.features)
        pairs = [(int(q), int(r)) for q in q_idx for r in r_idx]
        key = lambda a, b: (a, b) if a <= b else (b, a)  # DTW is symmetric (a path's bend and shift too)
        todo = sorted({key(a, b) for a, b in pairs if key(a, b) not in self._dist})
        if todo:
            d = pair_distances([self.templates[a] for a, _ in todo], [self.templates[b] for _, b in todo], self.params.window,
                               self.params.channels, paths=with_paths)  # fmt: skip
            self._dist.update(zip(todo, d.T.tolist() if with_paths else d.tolist()))
        v = np.array([self._dist[key(a, b)] for a, b in pairs])
        if with_paths:
            v = v.T.reshape(3, len(q_idx), len(r_idx))
            return v if paths else v[0]
        if paths:
            raise ValueError("this feature set keeps no path bends")
        return v.reshape(len(q_idx), len(r_idx))

    def fit(self, refs: np.ndarray) -> dict:
        r = np.asarray(refs, int)
        paths = uses_paths(self.params.features)
        wd = {"refs": r, "scale": float("nan"), "per_ref": None, "pressure": all(self.templates[i].has_pressure for i in r)}
        m = self.distances(r, r, paths=paths)
        d = m[0] if paths else m
        if len(r) > 1:
            wd.update(scale=float(d[np.triu_indices(len(r), 1)].mean()), per_ref=per_reference_scale(d))
        if self.params.features.startswith("base+tnorm+global"):
            wd["globals"] = reference_globals([self.templates[i] for i in r], self.params.rate_hz)
        if paths:
            wd["path_stats"] = reference_path_stats(*m)
        if self.engine is not None:
            wd["image"] = self.engine.fit_writer(self.emb[r])
        return wd

    def features(self, wd: dict, queries: np.ndarray) -> np.ndarray:
        q = np.asarray(queries, int)
        paths = uses_paths(self.params.features)
        dist = self.distances(q, wd["refs"], paths=paths)
        tq = [self.templates[i] for i in q]
        p = self.params
        return feature_columns(dist if paths else dist[None], tq, wd, p.features, p.globals, p.rate_hz)

    def image_scores(self, wd: dict, queries: np.ndarray) -> np.ndarray:
        return self.engine.score(wd["image"], self.emb[np.asarray(queries, int)])[0]

    def path_for(self, decision: str, n_refs: int) -> str:
        if decision != "auto":
            return decision
        return "fused" if n_refs >= MIN_PAD_REFERENCES and self.params.fused_w is not None else "image"

    def score(self, wd: dict, queries: np.ndarray, path: str) -> np.ndarray:
        q = np.asarray(queries, int)
        if path == "image":
            return self.image_scores(wd, q)
        f = self.features(wd, q)
        if path == "online":
            return online_score(self.params, f)
        return fused_score(self.params, self.image_scores(wd, q), f)

    def threshold(self, path: str, n_refs: int, pressure: bool = True) -> float:
        """The app's operating point; ``pressure``: the query and the references all carry pressure."""
        if path == "image":  # the app's image operating point for this many references
            return float(self.engine.threshold_for(n_refs))
        return self.params.threshold_for(path, n_refs, pressure)


def evaluate_strokes(
    data: str, references: int = 5, seed: int = 0, model: str | None = None, decision: str = "auto",
    engine_device: str = "cpu", params: OnlineParams | None = None, scorer: StrokeScorer | None = None,
) -> dict:  # fmt: skip
    from ml.engine import Engine
    from ml.metrics import rates_at_writer_thresholds, summarize
    from ml.writer import protocol

    if decision not in DECISIONS:
        raise ValueError(f"--decision must be one of {', '.join(DECISIONS)}")
    if scorer is None:
        engine = Engine.load(model, device=engine_device)
        params = params or load_params(engine.model_version)
        samples, skipped = scan_stroke_writers(data)
        if not samples:
            raise FileNotFoundError(f"no stroke JSON in {data}: expected <writer>/genuine/*.json")
        scorer = StrokeScorer(samples, params, engine)
        scorer.skipped = skipped + scorer.skipped
    engine = scorer.engine
    by = scorer.by_writer()
    if sum(1 for d in by.values() if len(d["genuine"]) >= 2) < 2:
        raise FileNotFoundError(f"{data}: evaluation needs at least two writers with two genuine signatures each")
    paths, used, pressure = [], [], []

    def fit(refs):
        wd = scorer.fit(refs)
        wd["path"] = scorer.path_for(decision, len(refs))
        pressure.append(wd["pressure"])
        return wd

    scores, t_w = {}, {}
    for w, r, s in protocol(by, references, seed, fit, lambda wd, q: scorer.score(wd, q, wd["path"])):
        scores[w] = s
        used.append(r)
        paths.append(scorer.path_for(decision, r))
        # the point of the references this writer really had; pressure as its references have it (a
        # writer's signatures come from one device: a pressure-free folder is decided as a mouse is)
        t_w[w] = scorer.threshold(paths[-1], r, pressure[-1])
    pg, ps, pr = ({w: s[k] for w, s in scores.items()} for k in ("genuine", "skilled", "random"))
    cat = lambda d: np.concatenate(list(d.values())) if d else np.zeros(0)
    kinds = sorted(set(paths))
    path = kinds[0] if len(kinds) == 1 else "mixed"
    points = {scorer.threshold(kinds[0], int(references), p) for p in set(pressure)} if len(kinds) == 1 else set()
    shipped = points.pop() if len(points) == 1 else None
    report = summarize(cat(pg), cat(ps), cat(pr), pg, ps, pr, shipped_threshold=shipped)
    if len(set(t_w.values())) > 1:  # as ml.evaluate: a writer with fewer genuine signatures than R may fall in a lower bucket
        per_writer = rates_at_writer_thresholds(pg, ps, pr, t_w)
        report.setdefault("at_threshold", {}).update({**per_writer, "per_writer_thresholds": True})
    report.update(
        {
            "n_writers": len(pg),
            "references": int(references),
            "references_min_used": int(min(used)),
            "seed": int(seed),
            "model": engine.model_version,
            "operating_point": engine.operating_point if path == "image" else f"{path}: {scorer.params.fitted_on}",
            "skipped_files": scorer.skipped,
            "decision_path": path,
            "decision_paths": {k: paths.count(k) for k in kinds},
            "online": {"rate_hz": scorer.params.rate_hz, "window": scorer.params.window, "channels": scorer.params.channels},
        }
    )
    return report
