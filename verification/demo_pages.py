"""Procedural demo documents: a letter-like page SigWeb draws itself, with printed words in
grey (Pillow's built-in font) and, where asked, a demo writer's signature (``verification.demo``) in dark ink.

Used by the document page's tests, the browser test and ``benchmarks/document_latency.py``;
no research data is involved.
"""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw, ImageFont

from verification.demo import demo_strokes

PAGE_SIZE = (1240, 1754)  # A4 at 150 dpi
PAGE_DPI = 150
_WORDS = (
    "the of and to in for with this that letter company account agreement date dear sincerely payment "
    "mandate transfer amount branch customer reference signed below authorise bank"
).split()


def _draw_signature(draw: ImageDraw.ImageDraw, writer: str, sample: int, origin: tuple[int, int], width: int) -> None:
    for stroke in demo_strokes(writer, sample):
        pts = [(origin[0] + p["x"], origin[1] + p["y"]) for p in stroke["points"]]
        if len(pts) > 1:
            draw.line(pts, fill=(20, 25, 90), width=width, joint="curve")


def demo_page(
    *,
    writer: str | None = "writer-a",
    sample: int = 0,
    seed: int = 0,
    size: tuple[int, int] = PAGE_SIZE,
    at: tuple[int, int] | None = None,
    fmt: str = "PNG",
) -> bytes:
    """One page as image bytes (PNG by default): grey printed words, a signature line and,
    unless ``writer`` is None, ``writer``'s signature ``sample`` near the bottom right (``at``)."""
    rng = random.Random(seed)
    w, h = size
    im = Image.new("RGB", size, (250, 250, 247))
    draw = ImageDraw.Draw(im)
    font = ImageFont.load_default(size=max(10, w // 56))
    step = int(font.size * 1.6)
    y = int(h * 0.08)
    while y < h * 0.62:  # printed lines of words, in grey
        words = [rng.choice(_WORDS) for _ in range(rng.randint(6, 12))]
        line = " ".join(words)
        while font.getlength(line) > w * 0.84:
            line = line.rsplit(" ", 1)[0]
        draw.text((int(w * 0.08), y), line, fill=(135, 135, 135), font=font)
        y += step
    line_y = int(h * 0.82)
    draw.line((int(w * 0.5), line_y, int(w * 0.9), line_y), fill=(170, 170, 170), width=2)
    if writer is not None:
        origin = at or (int(w * 0.5), line_y - 150)
        _draw_signature(draw, writer, sample, origin, width=max(3, w // 400))
    buf = io.BytesIO()
    im.save(buf, format=fmt, dpi=(PAGE_DPI, PAGE_DPI))
    return buf.getvalue()
