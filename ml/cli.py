"""``python -m ml``: train, calibrate, ensemble, evaluate, identify, overlay, convert-online, embed, export, compare,
calibration-study, detect.

Every command fails with one clear line on stderr and exit status 2 on bad arguments,
missing or empty data folders, unreadable files and checkpoints of the wrong kind.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path


class CliError(Exception):
    """A user error: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line instead of argparse's usage dump
        raise CliError(f"{self.prog}: {message} (see --help)")


def _cmd_train(a):
    from ml.train import resolve_config, train

    try:
        cfg = resolve_config(a.config, a.overrides)
    except (KeyError, ValueError, OSError) as exc:
        raise CliError(f"bad config: {exc}") from None
    root = Path(cfg["data"]["root"])
    if not root.is_dir():
        raise CliError(f"data folder not found: {root}")
    if a.resume and not Path(a.resume).is_file():
        raise CliError(f"resume checkpoint not found: {a.resume}")
    path = train(cfg, resume=a.resume)
    print(json.dumps({"model": str(path)}))


def _cmd_calibrate(a):
    if a.buckets:
        from ml.calibration import refit_buckets

        print(json.dumps(refit_buckets(a.model, a.out or a.model)))
        return
    from ml.train import calibrate

    calibrate(a.model, a.out or a.model)


def _cmd_ensemble(a):
    from ml import checkpoint as ckpt
    from ml.ensemble import combine
    from ml.train import calibrate

    combined = combine(a.models)
    staging = Path(a.out).with_name(Path(a.out).name + ".uncalibrated")
    ckpt.save(combined, staging)
    try:  # OUT appears only once it is calibrated, so the engine never loads half an ensemble
        calibrate(staging, a.out)
    finally:
        staging.unlink(missing_ok=True)


def _cmd_evaluate(a):
    from ml.evaluate import evaluate
    from ml.online.evaluate import evaluate_strokes, is_stroke_folder

    if a.references < 1:
        raise CliError("--references must be at least 1")
    if a.plots and importlib.util.find_spec("matplotlib") is None:
        raise CliError("--plots needs matplotlib (requirements-dev.txt)")
    if is_stroke_folder(a.data):  # pad signatures as stroke JSON: image, online or fused decisions
        if a.plots:
            raise CliError("--plots is for image folders")
        try:
            report = evaluate_strokes(a.data, references=a.references, seed=a.seed, model=a.model, decision=a.decision,
                                      engine_device=a.device)  # fmt: skip
        except ValueError as exc:
            raise CliError(str(exc)) from None
    elif a.decision not in ("auto", "image"):
        raise CliError(f"--decision {a.decision} needs stroke JSON (<writer>/genuine/*.json)")
    else:
        report = evaluate(a.data, references=a.references, seed=a.seed, model=a.model, plots=a.plots, engine_device=a.device,
                          cleaner=a.cleaner)  # fmt: skip
        report["decision_path"] = "image"
    _print_json(report, a.json)


def _print_json(obj, path: str | None) -> None:
    text = json.dumps(obj, indent=2)
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text + "\n")
    print(text)


def _cmd_identify(a):
    from ml import identify_eval
    from ml.engine import Engine

    if a.references < 1 or a.unenrolled < 0 or a.shortlist < 1:
        raise CliError("--references and --shortlist must be at least 1, --unenrolled at least 0")
    if not a.fit_margin and len(a.data or ()) != 1:
        raise CliError("give one --data folder (or --fit-margin, with validation pad users' folders or none)")
    if missing := [d for d in a.data or () if not Path(d).is_dir()]:
        raise CliError(f"data folder not found: {missing[0]}")
    engine, protocol = Engine.load(a.model), dict(references=a.references, unenrolled=a.unenrolled, shortlist=a.shortlist)
    try:
        if a.fit_margin:
            print(json.dumps(identify_eval.fit_and_store(engine, a.data, seeds=a.seeds, **protocol), indent=2))
        else:
            _print_json(identify_eval.report(a.data[0], engine, a.seed, a.margin, a.decision, **protocol), a.json)
    except (ValueError, FileNotFoundError) as exc:
        raise CliError(str(exc)) from None


def _cmd_overlay(a):
    from ml.overlay import write_overlays

    print(json.dumps({"out": a.out, "n": write_overlays(a.data, a.out, seed=a.seed, style=a.style)}))


def _cmd_convert_online(a):
    from ml.online.convert import convert

    print(json.dumps(convert(a.dataset, a.src, a.out)))


def _cmd_embed(a):
    from ml.evaluate import embed_folder

    n = embed_folder(a.data, a.out, model=a.model, engine_device=a.device)
    print(json.dumps({"out": a.out, "n": n}))


def _cmd_export(a):
    from ml.export import export

    print(json.dumps(export(a.model, a.out, fmt=a.format), indent=2))


def _cmd_compare(a):
    from ml import selection

    if len(a.models) < 2:
        raise CliError("give at least two models")
    try:
        if a.data:
            models = [selection.scored_folder(p, a.refs, a.data) for p in a.models]
            res = {"paths": a.models, "data": a.data, "mode": "shipped decision", "bootstrap": a.boot}
        else:
            models, dropped = selection.scored_validation(a.models, a.refs, a.folds)
            if dropped:
                more = " ..." if len(dropped) > 5 else ""
                print(f"note: {len(dropped)} validation writers not shared by every model left out: "
                      f"{', '.join(dropped[:5])}{more}", file=sys.stderr)  # fmt: skip
            res = {"paths": a.models, "mode": selection.SELECTION_MODE, "folds": a.folds, "bootstrap": a.boot,
                   "left_out_writers": dropped}  # fmt: skip
        res["by_refs"] = selection.compare(models, a.refs, a.boot)
    except selection.NotComparableError as exc:
        raise CliError(str(exc)) from None
    print(selection.write_json(res, a.json))


def _cmd_calibration_study(a):
    from ml import selection
    from ml.engine import Engine

    engine = Engine.load(a.model)
    val_emb, rows = selection.shipped_rows(engine)
    res = {"model": engine.model_version, "validation_identities": len(val_emb), "folds": a.folds,
           "refs": a.refs, "modes": selection.study(rows, a.folds, a.refs)}  # fmt: skip
    print(selection.write_json(res, a.json))


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m ml", description="SigWeb's signature verification engine.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    t = sub.add_parser("train", help="writer-independent training, then calibration (writes model.pt)")
    t.add_argument("--config", help="YAML config file (see configs/)")
    t.add_argument("--resume", help="a last.pt to resume from")
    t.add_argument("overrides", nargs="*", help="key.sub=value overrides, e.g. optim.epochs=3")
    t.set_defaults(func=_cmd_train)

    c = sub.add_parser("calibrate", help="fit the writer-dependent decision on validation writers")
    c.add_argument("--model", required=True, help="a best.pt or model.pt")
    c.add_argument("--out", help="where to write (default: overwrite --model)")
    c.add_argument("--buckets", action="store_true", help="add per-reference-count operating points to a calibrated model")
    c.set_defaults(func=_cmd_calibrate)

    s = sub.add_parser("ensemble", help="combine trained checkpoints into one model, then calibrate it")
    s.add_argument("--models", nargs="+", required=True, help="two or more checkpoints trained on the same writer split")
    s.add_argument("--out", required=True)
    s.set_defaults(func=_cmd_ensemble)

    e = sub.add_parser("evaluate", help="EER, FAR/FRR and AUC on a folder of writers")
    e.add_argument("--data", required=True, help="folder of <writer>/{genuine,forged}/*")
    e.add_argument("--references", type=int, default=5, help="references per writer (default 5)")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--json", help="write the report here")
    e.add_argument("--model", help="checkpoint (default: the shipped model)")
    e.add_argument("--plots", help="folder for ROC/DET curves and score histograms (PNG)")
    e.add_argument("--device", default="cpu")
    e.add_argument("--decision", choices=["auto", "image", "online", "fused"], default="auto",
                   help="stroke JSON only: which decision scores (default: what the app does: fused with >= 3 pad "
                   "references, image otherwise)")  # fmt: skip
    e.add_argument("--cleaner", help="cleaning of scans: an ml.cleaner version or 'none' (default: what the model records)")
    e.set_defaults(func=_cmd_evaluate)

    i = sub.add_parser("identify", help="1:N identification on a folder of writers (top-1/top-5, match and false-match rates)")
    i.add_argument("--data", nargs="+", help="<writer>/{genuine,forged}/* (images or stroke JSON); --fit-margin: pad users'")
    i.add_argument("--references", type=int, default=5, help="references per enrolled writer (default 5)")
    i.add_argument("--seed", type=int, default=0)
    i.add_argument("--unenrolled", type=int, default=0, help="writers left out of enrollment, drawn with the seed")
    i.add_argument("--shortlist", type=int, default=20, help="writers re-scored per query (default 20)")
    i.add_argument("--margin", type=float, help="outcome margin (default: the model's, fitted on validation writers)")
    i.add_argument("--json", help="write the report here")
    i.add_argument("--model", help="checkpoint (default: the shipped model)")
    i.add_argument("--decision", choices=["auto", "image", "online", "fused"], default="auto", help="stroke JSON: which path")
    i.add_argument("--fit-margin", action="store_true", help="fit the margin on the model's validation writers and store it")
    i.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4], help="--fit-margin: protocol seeds")
    i.set_defaults(func=_cmd_identify)

    y = sub.add_parser("overlay", help="draw printed lines, printed text and stamps over every signature of a folder")
    y.add_argument("--data", required=True, help="folder of <writer>/{genuine,forged}/*")
    y.add_argument("--out", required=True, help="written with the same layout, as PNG")
    y.add_argument("--seed", type=int, default=0)
    y.add_argument("--style", choices=["eval", "unseen"], default="eval",
                   help="eval: cheque-like lines, text and seals; unseen: form boxes, double rules, oval stamps")  # fmt: skip
    y.set_defaults(func=_cmd_overlay)

    o = sub.add_parser("convert-online", help="SVC2004 / SUSIG online files -> stroke-JSON writer folders")
    o.add_argument("--dataset", required=True, choices=["svc2004", "susig-visual", "susig-blind"])
    o.add_argument("--src", required=True, help="the dataset's folder (svc2004_task2, susig/visual or susig/blind)")
    o.add_argument("--out", required=True)
    o.set_defaults(func=_cmd_convert_online)

    m = sub.add_parser("embed", help="embeddings of a folder of writers as .npz")
    m.add_argument("--data", required=True)
    m.add_argument("--out", required=True, help="output .npz")
    m.add_argument("--model")
    m.add_argument("--device", default="cpu")
    m.set_defaults(func=_cmd_embed)

    x = sub.add_parser("export", help="TorchScript or ONNX export of the embedding network, with a parity check")
    x.add_argument("--model", help="checkpoint (default: the shipped model)")
    x.add_argument("--out", required=True)
    x.add_argument("--format", choices=["torchscript", "onnx"], default="torchscript")
    x.set_defaults(func=_cmd_export)

    k = sub.add_parser("compare", help="paired writer bootstrap of models on validation writers (the selection rule)")
    k.add_argument("--models", nargs="+", required=True, help="two or more calibrated checkpoints; the first is the reference")
    k.add_argument("--refs", nargs="+", type=int, default=[5, 10, 1])
    k.add_argument("--folds", type=int, default=4)
    k.add_argument("--boot", type=int, default=2000, help="bootstrap resamples (default 2000)")
    k.add_argument("--data", help="score this evaluate-layout folder with each model's shipped decision instead "
                   "(never test writers)")  # fmt: skip
    k.add_argument("--json", help="write the result here")
    k.set_defaults(func=_cmd_compare)

    v = sub.add_parser("calibration-study", help="cross-validated calibration modes on the validation writers")
    v.add_argument("--model", help="checkpoint (default: the shipped model)")
    v.add_argument("--folds", type=int, default=4)
    v.add_argument("--refs", type=int, default=5, help="reference count the comparison is made at")
    v.add_argument("--json", help="write the result here")
    v.set_defaults(func=_cmd_calibration_study)

    from ml.detection.cli import add_parsers as add_detection_parsers

    add_detection_parsers(sub)
    return p


def main(argv=None) -> int:
    from ml.errors import CheckpointError, SignatureInputError

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help(sys.stderr)
            print(
                "error: no command given (train, calibrate, ensemble, evaluate, identify, embed, export, compare "
                "or calibration-study)",
                file=sys.stderr,
            )
            return 2
        return args.func(args) or 0
    except (CliError, CheckpointError, SignatureInputError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
