"""Document uploads for the web tests, made here: pages (``verification.demo_pages``), PDFs,
zips (also hostile ones) and an encrypted PDF."""

from __future__ import annotations

import io
import zipfile

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


def encrypted_pdf() -> bytes:
    """A one-page PDF whose standard security handler needs a password."""
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 300] >>",
        b"<< /Filter /Standard /V 1 /R 2 /O <" + b"12" * 32 + b"> /U <" + b"34" * 32 + b"> /P -4 >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    doc_id = b"<00112233445566778899aabbccddeeff>"
    out += b"trailer\n<< /Size %d /Root 1 0 R /Encrypt 4 0 R /ID [%s %s] >>\n" % (len(objs) + 1, doc_id, doc_id)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)
