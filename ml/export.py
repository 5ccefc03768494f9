"""Export of the embedding network (TorchScript or ONNX) with a parity check.

The exported network takes (B, 1, 150, 220) float32 preprocessed signatures and returns
(B, D) L2-normalised embeddings; preprocessing stays in Python (``ml.preprocess``), whose
version is written beside the export in ``<out>.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from ml import checkpoint as ckpt

PARITY_ATOL = 1e-4


def export(model_path: str | None, out: str, fmt: str = "torchscript", seed: int = 0) -> dict:
    ck = ckpt.load(model_path)
    model = ckpt.build_model(ck)
    h, w = ck["preprocess"]["canvas"]
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(4, 1, h, w, generator=g) > 0.93).float()  # sparse bright strokes, like real inputs
    with torch.inference_mode():
        ref = model(x).numpy()
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    if fmt == "torchscript":
        traced = torch.jit.trace(model, x[:1])
        traced = torch.jit.freeze(traced.eval())
        traced.save(out)
        loaded = torch.jit.load(out)
        with torch.inference_mode():
            got = loaded(x).numpy()
    elif fmt == "onnx":
        try:
            import onnxruntime as ort
        except ImportError:
            raise RuntimeError("ONNX export needs the onnx, onnxscript and onnxruntime packages (requirements.txt)") from None
        # one self-contained file (the weights inside, not in a .data file beside it)
        torch.onnx.export(
            model,
            (x[:1],),
            out,
            input_names=["image"],
            output_names=["embedding"],
            dynamic_shapes=({0: torch.export.Dim("batch")},),
            external_data=False,
        )
        sess = ort.InferenceSession(out, providers=["CPUExecutionProvider"])
        got = sess.run(None, {"image": x.numpy()})[0]
    else:
        raise ValueError(f"unknown export format {fmt!r}")
    diff = float(np.abs(got - ref).max())
    meta = {
        "format": fmt,
        "out": out,
        "arch": ck["arch"],
        "embedding_dim": int(ref.shape[1]),
        "input_shape": [None, 1, h, w],
        "preprocess_version": ck["preprocess"]["version"],
        "parity_max_abs_diff": diff,
        "parity_ok": diff <= PARITY_ATOL,
    }
    Path(out + ".json").write_text(json.dumps(meta, indent=2) + "\n")
    if not meta["parity_ok"]:
        raise RuntimeError(f"export parity failed: max |diff| {diff:.2e} > {PARITY_ATOL:.0e}")
    return meta
