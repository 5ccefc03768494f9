"""A PDF that needs a password, built byte by byte (no Django, no PDF writer needed): read by
``ml.documents`` tests and the document upload tests."""

from __future__ import annotations


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
