"""``python -m ml detect``, ``detect-train`` and ``detect-eval``: the detection commands."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def detect_files(paths: list[str], detector, *, min_score: float, max_boxes: int) -> tuple[dict, int]:
    """Every page of every file -> ({key: boxes or {"error": ...}}, exit status).

    The key is the path as given; a PDF page's key is ``PATH#N`` (N from 1), and so is each
    frame of a multi-frame image. A file that cannot be read gets ``{"error": message}``,
    the others are still processed, and the status is then 2 (0 otherwise).
    """
    from ml.detection import WORK_SIDE
    from ml.documents import is_pdf, read_pages
    from ml.errors import DocumentInputError

    out, status = {}, 0
    for path in paths:
        try:
            data = Path(path).read_bytes()
            pages = read_pages(data, name=path, reduce_to=WORK_SIDE)  # boxes still in pixels of the page as read
        except (OSError, DocumentInputError) as exc:
            out[path] = {
                "error": str(exc)
                if isinstance(exc, DocumentInputError)
                else f"{path}: cannot read the file ({exc.strerror or exc})"
            }
            status = 2
            continue
        numbered = is_pdf(data) or len(pages) > 1
        for page in pages:
            key = f"{path}#{page.index}" if numbered else path
            out[key] = detector.detect(page.image, min_score=min_score, max_boxes=max_boxes, size=page.size)
    return out, status


def cmd_detect(a) -> int:
    from ml.detection import Detector

    detector = Detector.load(a.model)
    result, status = detect_files(a.paths, detector, min_score=a.min_score, max_boxes=a.max_boxes)
    text = json.dumps(result, indent=1)
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(text + "\n")
    else:
        print(text)
    for value in result.values():
        if isinstance(value, dict):
            print(f"error: {value['error']}", file=sys.stderr)
    return status


def evaluate_pages(detector, data: str, *, iou: float = 0.5) -> dict:
    """AP and recall of ``detector`` on the validation pages of a YOLO-labelled folder."""
    from ml.detection.data import list_pages, load_page, split
    from ml.detection.metrics import average_precision

    _, val = split(list_pages(data))
    dets, truths = [], []
    for image_path, label_path in val:
        image, boxes = load_page(image_path, label_path)
        dets.append(detector.detect(image))
        truths.append(boxes)
    res = average_precision(dets, truths, iou=iou)
    res.update(pages=len(val), pages_with_signatures=sum(len(t) > 0 for t in truths), model=detector.version, data=data)
    return res


def cmd_detect_eval(a) -> int:
    from ml.detection import Detector

    if not Path(a.data, "images").is_dir():
        raise FileNotFoundError(f"no images folder in {a.data}")
    res = evaluate_pages(Detector.load(a.model), a.data)
    text = json.dumps(res, indent=2)
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(text + "\n")
    print(text)
    return 0


def _train_command(a, what: str, defaults: dict, train) -> int:
    """``detect-train`` and ``detect-refine``: settings resolved, data checked, the model's path printed."""
    import torch

    from ml.detection.train import resolve

    torch.set_num_threads(1)
    try:
        cfg = resolve(a.overrides, a.config, defaults=defaults)
    except (KeyError, ValueError, OSError) as exc:
        raise FileNotFoundError(f"bad {what} training config: {exc}") from None
    if not Path(cfg["data"], "images").is_dir():
        raise FileNotFoundError(f"no images folder in {cfg['data']}")
    print(json.dumps({"model": str(train(cfg, log=lambda m: print(m, flush=True)))}))
    return 0


def cmd_detect_train(a) -> int:
    from ml.detection import train

    return _train_command(a, "detector", train.DEFAULTS, train.train)


def cmd_detect_refine(a) -> int:
    from ml.detection import refine_train

    return _train_command(a, "refiner", refine_train.DEFAULTS, refine_train.train)


def cmd_detect_refine_merge(a) -> int:
    import torch

    from ml.detection.refine_train import merge

    torch.set_num_threads(1)
    try:
        path = merge(a.inputs, a.out, passes=a.passes, log=lambda m: print(m, flush=True))
    except ValueError as exc:
        raise FileNotFoundError(str(exc)) from None
    print(json.dumps({"model": str(path)}))
    return 0


def cmd_detect_merge_heads(a) -> int:
    import torch

    from ml.detection.train import merge_heads

    torch.set_num_threads(1)
    try:
        path = merge_heads(a.inputs, a.out, refiner=a.refiner, data=a.data or None, log=lambda m: print(m, flush=True))
    except ValueError as exc:
        raise FileNotFoundError(str(exc)) from None
    print(json.dumps({"model": str(path)}))
    return 0


def add_parsers(sub) -> None:
    from ml.detection import MAX_BOXES, MIN_SCORE

    d = sub.add_parser("detect", help="find handwritten signatures on page images and PDFs (boxes as JSON)")
    d.add_argument("paths", nargs="+", metavar="PATH", help="page images (PNG, JPEG, TIFF) or PDFs")
    d.add_argument("--json", help="write the result here (default: standard output)")
    d.add_argument("--model", help="detector checkpoint (default: the shipped ml/weights/detector.pt)")
    d.add_argument("--min-score", type=float, default=MIN_SCORE)
    d.add_argument("--max-boxes", type=int, default=MAX_BOXES)
    d.set_defaults(func=cmd_detect)

    t = sub.add_parser("detect-train", help="train the signature detector (writes OUT/best.pt)")
    t.add_argument("--config", help="YAML file of settings (see ml/detection/train.py DEFAULTS)")
    t.add_argument("overrides", nargs="*", help="key=value settings, e.g. epochs=2 out=runs/detector")
    t.set_defaults(func=cmd_detect_train)

    r = sub.add_parser(
        "detect-refine", help="train the second-stage box refiner on a detector (writes OUT/detector.pt, the two-stage detector)"
    )
    r.add_argument("--config", help="YAML file of settings (see ml/detection/refine_train.py DEFAULTS)")
    r.add_argument("overrides", nargs="*", help="key=value settings, e.g. epochs=2 out=runs/refiner")
    r.set_defaults(func=cmd_detect_refine)

    m = sub.add_parser("detect-refine-merge", help="one detector whose refiner averages the refiners of several checkpoints")
    m.add_argument("out", help="the two-stage checkpoint to write")
    m.add_argument("inputs", nargs="+", metavar="CHECKPOINT", help="detect-refine outputs on the same first stage")
    m.add_argument("--passes", type=int, default=0, help="looks per box (default: as the first input was trained)")
    m.set_defaults(func=cmd_detect_refine_merge)

    h = sub.add_parser(
        "detect-merge-heads", help="one detector whose first stage averages the heads of several detect-train outputs"
    )
    h.add_argument("out", help="the checkpoint to write")
    h.add_argument("inputs", nargs="+", metavar="CHECKPOINT", help="first-stage checkpoints on the same trunk")
    h.add_argument("--refiner", help="a two-stage checkpoint whose second stage the result takes")
    h.add_argument("--data", default="../shared/data/documents/train", help="score its validation pages ('' : do not)")
    h.set_defaults(func=cmd_detect_merge_heads)

    e = sub.add_parser("detect-eval", help="AP@0.5 and recall of the detector on the validation pages")
    e.add_argument("--data", default="../shared/data/documents/train", help="folder with images/ and labels/ (YOLO)")
    e.add_argument("--model", help="detector checkpoint (default: the shipped ml/weights/detector.pt)")
    e.add_argument("--json", help="write the result here")
    e.set_defaults(func=cmd_detect_eval)
