"""Document uploads for the web tests, made here: pages (``verification.demo_pages``), PDFs,
zips (also hostile ones) and an encrypted PDF."""

from __future__ import annotations

import io
import zipfile

from pdf_files import encrypted_pdf  # noqa: F401  (re-exported for the web tests)
from PIL import Image

from verification.demo_pages import demo_page


def named(data: bytes, name: str) -> io.BytesIO:
    f = io.BytesIO(data)
    f.name = name
    return f


def pdf_of(*pages: bytes) -> bytes:
    images = [Image.open(io.BytesIO(p)).convert("RGB") for p in pages]
    buf = io.BytesIO()
    images[0].save(buf, format="PDF", save_all=True, append_images=images[1:], resolution=150)
    return buf.getvalue()


def zip_of(members: dict[str, bytes], *, compression=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compression) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def small_page(writer: str | None = "writer-a", sample: int = 0, seed: int = 0) -> bytes:
    """A smaller page (620x877) than A4 at 150 dpi, so tests stay fast."""
    return demo_page(writer=writer, sample=sample, seed=seed, size=(620, 877), at=(10, 560))
