"""Printed lines, printed text and stamps drawn over clean signatures.

``overlay(gray, rng, material)`` puts a signature (uint8 grey, ink dark on white) on a
larger sheet with a printed baseline crossing its lower part, a line of printed text beside
it and a stamp over it, composited darkest-wins (ink on paper). It returns an RGB image:
stamps may be coloured. ``write_overlays(DATA, OUT, seed)`` does this to every
``<writer>/{genuine,forged}/*`` image (``python -m ml overlay``), one seeded generator per
file, so the same seed always writes the same files.

Two materials keep evaluation apart from training (``ml.cleaner_train``):

* ``EVAL``: text in cv2's PLAIN and COMPLEX_SMALL faces (upright and italic) and printed
  crops from the held-out document pages (``page_split``: one page in five, by name);
* ``TRAIN``: SIMPLEX, DUPLEX, COMPLEX and TRIPLEX faces and the other document pages.
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

__all__ = ["EVAL", "TRAIN", "Material", "load_pages", "overlay", "page_split", "write_overlays"]

PAGES = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "documents" / "train"
WORDS = ("Signature", "Name", "Date", "Authorised signatory", "For and on behalf of", "Witness", "Account No",
         "Pay to the order of", "Director", "Received by", "Place", "Customer", "Agreed and accepted")  # fmt: skip
STAMP_WORDS = ("APPROVED", "PAID", "RECEIVED", "COPY", "NOTARY PUBLIC", "CERTIFIED", "COMPANY SEAL", "BANK", "VERIFIED")
INKS = {"black": (20, 20, 20), "gray": (90, 90, 90), "blue": (40, 60, 170), "red": (190, 30, 40), "violet": (110, 40, 150),
        "green": (30, 120, 60)}  # fmt: skip


@dataclass
class Material:
    name: str
    fonts: tuple
    pages: list = field(default_factory=list)  # grey page crops (ink dark on white), loaded by load_pages


EVAL = Material("eval", (cv2.FONT_HERSHEY_PLAIN, cv2.FONT_HERSHEY_COMPLEX_SMALL,
                         cv2.FONT_HERSHEY_PLAIN | cv2.FONT_ITALIC, cv2.FONT_HERSHEY_COMPLEX_SMALL | cv2.FONT_ITALIC))  # fmt: skip
TRAIN = Material("train", (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_COMPLEX, cv2.FONT_HERSHEY_TRIPLEX))


def page_split(name: str) -> str:
    """'eval' for one document page in five (by a hash of its file name), else 'train'."""
    return "eval" if zlib.crc32(Path(name).stem.encode()) % 5 == 0 else "train"


def load_pages(material: Material, folder: str | os.PathLike = PAGES, limit: int = 400) -> Material:
    """Fill ``material.pages`` with printed strips of its document pages, outside signature boxes."""
    folder = Path(folder)
    files = sorted((folder / "images").glob("*.jpg")) if (folder / "images").is_dir() else []
    out = []
    for f in files:
        if page_split(f.name) != material.name:
            continue
        g = cv2.imread(str(f), cv2.IMREAD_GRAYSCALE)
        if g is None:
            continue
        h, w = g.shape
        sig = np.zeros_like(g, bool)
        lab = folder / "labels" / (f.stem + ".txt")
        for row in lab.read_text().split("\n") if lab.is_file() else []:
            v = row.split()
            if len(v) == 5:
                cx, cy, bw, bh = (float(t) for t in v[1:])
                x0, y0 = int((cx - bw / 2 - 0.02) * w), int((cy - bh / 2 - 0.02) * h)
                sig[max(0, y0) : int((cy + bh / 2 + 0.02) * h), max(0, x0) : int((cx + bw / 2 + 0.02) * w)] = True
        bg = cv2.medianBlur(g, 21).astype(np.float32)
        flat = np.clip(g / np.maximum(bg, 1) * 255, 0, 255).astype(np.uint8)
        flat[flat > 170] = 255
        kept = 0
        for y in range(0, h - 24, 24):  # horizontal strips with print and no signature, a few per page
            strip, m = flat[y : y + 24], sig[y : y + 24]
            if m.any() or (strip < 128).mean() < 0.03 or kept >= 6:
                continue
            cols = np.nonzero((strip < 128).any(0))[0]
            out.append(strip[:, cols[0] : cols[-1] + 1].copy())
            kept += 1
        if len(out) >= limit:
            break
    material.pages = out[:limit]
    return material


# --------------------------------------------------------------------------- primitives


def _ink(rng, gray_only: bool = False) -> tuple:
    names = ["black", "gray"] if gray_only else list(INKS)
    c = np.array(INKS[names[int(rng.integers(len(names)))]], float) + rng.normal(0, 12, 3)
    return tuple(int(v) for v in np.clip(c, 0, 200))


def draw_line(sheet, rng, y, x0, x1, thick, dotted=False, slope=0.0):
    color = _ink(rng, gray_only=rng.random() < 0.7)
    p0, p1 = np.array([x0, y], float), np.array([x1, y + slope * (x1 - x0)], float)
    if not dotted:
        cv2.line(sheet, tuple(int(v) for v in p0), tuple(int(v) for v in p1), color, thick, cv2.LINE_AA)
        return
    step = max(3, int(rng.uniform(2.0, 4.5) * max(thick, 1)))
    dash = int(rng.integers(0, max(1, step - 1)))  # 0: round dots, otherwise dashes
    n = int(np.hypot(*(p1 - p0)) // step)
    for i in range(n):
        a = p0 + (p1 - p0) * i / max(n, 1)
        if dash:
            b = a + (p1 - p0) / np.hypot(*(p1 - p0)) * dash
            cv2.line(sheet, tuple(int(v) for v in a), tuple(int(v) for v in b), color, thick, cv2.LINE_AA)
        else:
            cv2.circle(sheet, tuple(int(v) for v in a), max(1, thick // 2 + 1), color, -1, cv2.LINE_AA)


def _text_string(rng) -> str:
    s = WORDS[int(rng.integers(len(WORDS)))]
    if rng.random() < 0.6:
        s += ": " + "".join(rng.choice(list("ABCDEFGHJKLMNPRSTUVWXYZ0123456789 .-/"), int(rng.integers(4, 14))))
    return s


def draw_text(sheet, rng, material, x, y, height):
    """One line of printed text whose capitals are about ``height`` pixels tall, bottom-left at (x, y)."""
    if material.pages and rng.random() < 0.5:
        strip = material.pages[int(rng.integers(len(material.pages)))]
        s = height * 1.6 / strip.shape[0]
        strip = cv2.resize(
            strip, (max(1, int(strip.shape[1] * s)), max(1, int(strip.shape[0] * s))), interpolation=cv2.INTER_LINEAR
        )
        y0, x0 = max(0, int(y - strip.shape[0] * 0.8)), max(0, int(x))
        h, w = min(strip.shape[0], sheet.shape[0] - y0), min(strip.shape[1], sheet.shape[1] - x0)
        if h > 0 and w > 0:
            sheet[y0 : y0 + h, x0 : x0 + w] = np.minimum(sheet[y0 : y0 + h, x0 : x0 + w], strip[:h, :w, None])
        return
    font = material.fonts[int(rng.integers(len(material.fonts)))]
    (_, th), _ = cv2.getTextSize("H", font, 1.0, 1)
    scale = height / max(th, 1)
    thick = max(1, int(round(scale * rng.uniform(0.6, 1.6))))
    cv2.putText(
        sheet, _text_string(rng), (int(x), int(y)), font, scale, _ink(rng, gray_only=rng.random() < 0.8), thick, cv2.LINE_AA
    )


def _stamp_layer(rng, material, size) -> np.ndarray:
    """A stamp on a white square of side ``size``: a single-channel darkness map in [0, 1]."""
    m = np.zeros((size, size), np.uint8)
    c, r = size // 2, int(size * rng.uniform(0.42, 0.48))
    t = max(1, int(size * rng.uniform(0.012, 0.03)))
    font = material.fonts[int(rng.integers(len(material.fonts)))]
    word = STAMP_WORDS[int(rng.integers(len(STAMP_WORDS)))]
    shape = rng.integers(3)
    if shape < 2:  # round seal: one or two rings, text around, a word or star in the middle
        cv2.circle(m, (c, c), r, 255, t, cv2.LINE_AA)
        inner = int(r * rng.uniform(0.62, 0.75))
        if shape == 1:
            cv2.circle(m, (c, c), inner, 255, max(1, t // 2), cv2.LINE_AA)
        ring = f" {word} * {rng.integers(1000, 9999)} * "
        ch = (r - inner) * 0.55
        (_, th), _ = cv2.getTextSize("H", font, 1.0, 1)
        scale = ch / max(th, 1)
        for i, char in enumerate(ring):
            a = -np.pi / 2 + 2 * np.pi * i / len(ring)
            patch = np.zeros((int(ch * 2.4) + 4, int(ch * 2.4) + 4), np.uint8)
            ph = patch.shape[0]
            cv2.putText(patch, char, (int(ph * 0.3), int(ph * 0.7)), font, scale, 255, max(1, t // 2), cv2.LINE_AA)
            rot = cv2.getRotationMatrix2D((ph / 2, ph / 2), -np.degrees(a) - 90, 1.0)
            patch = cv2.warpAffine(patch, rot, (ph, ph))
            px, py = int(c + (r + inner) / 2 * np.cos(a) - ph / 2), int(c + (r + inner) / 2 * np.sin(a) - ph / 2)
            if 0 <= px and 0 <= py and px + ph <= size and py + ph <= size:
                m[py : py + ph, px : px + ph] = np.maximum(m[py : py + ph, px : px + ph], patch)
        cv2.putText(m, "*" if rng.random() < 0.5 else word[:4], (int(c - inner * 0.6), int(c + inner * 0.2)), font,
                    inner / 60, 255, max(1, t // 2), cv2.LINE_AA)  # fmt: skip
    else:  # rectangular stamp: frame(s) and two lines of text
        hh = int(r * rng.uniform(0.4, 0.7))
        cv2.rectangle(m, (c - r, c - hh), (c + r, c + hh), 255, t, cv2.LINE_AA)
        if rng.random() < 0.5:
            cv2.rectangle(m, (c - r + 3 * t, c - hh + 3 * t), (c + r - 3 * t, c + hh - 3 * t), 255, max(1, t // 2))
        (tw, th), _ = cv2.getTextSize(word, font, 1.0, 1)
        scale = min(1.6 * r / max(tw, 1), 0.6 * hh / max(th, 1))
        cv2.putText(m, word, (c - int(tw * scale / 2), c), font, scale, 255, max(1, t), cv2.LINE_AA)
        date = f"{rng.integers(1, 29):02d} {rng.integers(1, 13):02d} {rng.integers(1990, 2030)}"
        cv2.putText(m, date, (c - int(tw * scale / 2), c + int(hh * 0.6)), font, scale * 0.6, 255, max(1, t // 2), cv2.LINE_AA)
    rot = cv2.getRotationMatrix2D((c, c), float(rng.uniform(-35, 35)), 1.0)
    m = cv2.warpAffine(m, rot, (size, size)).astype(np.float32) / 255.0
    texture = cv2.GaussianBlur(rng.random((size, size)).astype(np.float32), (0, 0), max(1.0, size / 80))
    texture = np.clip((texture - texture.mean()) / (texture.std() + 1e-6) * 0.25 + 0.85, 0.3, 1.0)  # uneven stamp ink
    return m * texture * rng.uniform(0.55, 1.0)


def draw_stamp(sheet, rng, material, cx, cy, size):
    dark = _stamp_layer(rng, material, size)
    color = np.array(_ink(rng, gray_only=rng.random() < 0.35), np.float32)
    y0, x0 = int(cy - size / 2), int(cx - size / 2)
    sy0, sx0 = max(0, -y0), max(0, -x0)
    y0, x0 = max(0, y0), max(0, x0)
    h, w = min(size - sy0, sheet.shape[0] - y0), min(size - sx0, sheet.shape[1] - x0)
    if h <= 0 or w <= 0:
        return
    d = dark[sy0 : sy0 + h, sx0 : sx0 + w, None]
    layer = 255.0 - d * (255.0 - color)  # semi-transparent: light where the stamp ink is thin
    region = sheet[y0 : y0 + h, x0 : x0 + w]
    region[:] = np.minimum(region, layer.astype(np.uint8))


# --------------------------------------------------------------------------- whole images


def draw_box(sheet, rng, y0, y1, x0, x1):
    """Training-only form rules round the ink box (inclusive): a field box or table rules. No horizontal rule
    in the ink's top band (5-55% of its height), where it looks like a Bengali headline (BENCHMARKS)."""
    h, w = y1 - y0 + 1, x1 - x0 + 1
    thick = max(1, int(round(h * rng.uniform(0.008, 0.03))))
    color = _ink(rng, gray_only=rng.random() < 0.7)
    if rng.random() < 0.6:  # a field box, its sides inside or just outside the signature's ends
        bx0, bx1 = int(x0 + w * rng.uniform(-0.15, 0.15)), int(x1 + w * rng.uniform(-0.15, 0.15))
        by0, by1 = int(y0 + h * rng.uniform(-0.3, -0.05)), int(y1 + h * rng.uniform(-0.2, 0.3))
        cv2.rectangle(sheet, (bx0, by0), (bx1, by1), color, thick, cv2.LINE_AA)
    else:  # table rules
        x, above = int(x0 + w * rng.uniform(-0.1, 1.1)), rng.random() < 0.3
        y = int(y0 + h * (rng.uniform(-0.3, -0.05) if above else rng.uniform(0.55, 1.1)))
        cv2.line(sheet, (x, 0), (x, sheet.shape[0] - 1), color, thick, cv2.LINE_AA)
        cv2.line(sheet, (0, y), (sheet.shape[1] - 1, y), color, thick, cv2.LINE_AA)


def blank_sheet(gray: np.ndarray, top: int, bottom: int, left: int, right: int):
    """(white RGB sheet with these margins round the signature, the signature's ink mask on it,
    the ink's bounding box (y0, y1, x0, x1), inclusive): where both overlay styles start."""
    h, w = gray.shape
    H, W = h + top + bottom, w + left + right
    sheet = np.full((H, W, 3), 255, np.uint8)
    ink = np.zeros((H, W), bool)
    ink[top : top + h, left : left + w] = gray < 250
    ys, xs = np.nonzero(ink)
    return sheet, ink, (ys.min(), ys.max(), xs.min(), xs.max())


def overlay(gray: np.ndarray, rng: np.random.Generator, material: Material = EVAL, parts=("line", "text", "stamp"), pen=None):
    """(RGB sheet with the signature and printed material, the signature's ink mask on that sheet).
    ``pen``: an RGB colour for the signature's ink (None: its own grey); it draws nothing from ``rng``."""
    h, w = gray.shape
    top, bottom = int(h * rng.uniform(0.05, 0.3)), int(h * rng.uniform(0.35, 0.7))
    left, right = int(w * rng.uniform(0.05, 0.4)), int(w * rng.uniform(0.05, 0.3))
    sheet, ink, (iy0, iy1, ix0, ix1) = blank_sheet(gray, top, bottom, left, right)
    H, W = ink.shape
    ih = iy1 - iy0 + 1
    if "line" in parts:
        y = int(iy0 + ih * rng.uniform(0.6, 1.0))
        thick = max(1, int(round(ih * rng.uniform(0.008, 0.035))))
        draw_line(sheet, rng, y, int(W * rng.uniform(0, 0.15)), int(W * rng.uniform(0.85, 1.0)), thick,
                  dotted=rng.random() < 0.5, slope=float(rng.normal(0, 0.015)))  # fmt: skip
    if "text" in parts:
        th = ih * rng.uniform(0.1, 0.22)
        where = rng.integers(3)
        if where == 0:  # below the line, under the signature
            draw_text(sheet, rng, material, ix0 + rng.uniform(-0.2, 0.3) * w, iy1 + th * rng.uniform(1.0, 2.2), th)
        elif where == 1:  # a label to the left, on the signature's baseline
            draw_text(sheet, rng, material, rng.uniform(0, 0.1) * W, iy0 + ih * rng.uniform(0.5, 0.95), th)
        else:  # a printed line above, reaching into the signature
            draw_text(sheet, rng, material, ix0 + rng.uniform(-0.3, 0.2) * w, iy0 + th * rng.uniform(0.3, 1.5), th)
    if "stamp" in parts:
        size = int(ih * rng.uniform(0.7, 1.3))
        draw_stamp(sheet, rng, material, ix0 + (ix1 - ix0) * rng.uniform(0.1, 0.9), iy0 + ih * rng.uniform(0.2, 0.8), size)
    if "box" in parts:  # after the others, so that overlays without it keep their random draws
        draw_box(sheet, rng, iy0, iy1, ix0, ix1)
    sig = np.full((H, W), 255, np.uint8)
    sig[top : top + h, left : left + w] = gray
    layer = sig[..., None] if pen is None else 255.0 - (255.0 - sig[..., None]) / 255.0 * (255.0 - np.asarray(pen, np.float32))
    return np.minimum(sheet, layer.astype(np.uint8)), ink


def write_overlays(
    data: str | os.PathLike, out: str | os.PathLike, seed: int = 0, material: Material | None = None, style: str = "eval"
) -> int:
    """Overlay every ``<writer>/{genuine,forged}/*`` image of DATA into OUT (same layout, PNG).
    ``style``: "eval" (``overlay`` with the ``EVAL`` material) or "unseen" (``ml.overlay_unseen``)."""
    from ml.data import scan_writers
    from ml.overlay_unseen import overlay_unseen

    if style not in ("eval", "unseen"):
        raise ValueError(f"unknown overlay style {style!r}: 'eval' or 'unseen'")

    data, out = Path(data), Path(out)
    if style == "eval" and material is None:
        material = load_pages(Material(EVAL.name, EVAL.fonts))
    samples = scan_writers(data)
    if not samples:
        raise FileNotFoundError(f"no signatures in {data}: expected <writer>/genuine/* image files")
    for s in samples:
        rel = Path(s.path).relative_to(data)
        gray = np.asarray(Image.open(s.path).convert("L"))
        rng = np.random.default_rng([seed, zlib.crc32(str(rel).encode())])
        sheet, _ = overlay(gray, rng, material) if style == "eval" else overlay_unseen(gray, rng)
        dst = (out / rel).with_suffix(".png")
        dst.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(sheet, "RGB").save(dst)
    return len(samples)
