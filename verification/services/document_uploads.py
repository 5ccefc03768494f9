"""Reading an upload of documents into (name, bytes) files, safely, before anything is stored.

The limits are settings (one owner each, checked only here): ``SIGWEB_DOCUMENT_MAX_FILES``
files and ``SIGWEB_DOCUMENT_MAX_BYTES`` bytes per upload. A zip counts its members and
their uncompressed sizes, read from its directory *before* anything is extracted; nested
zips, encrypted members, links and paths that climb out (``..``, absolute, drive letters)
are refused. Each file must look like a page image (PNG, JPEG, TIFF) or a PDF.
"""

from __future__ import annotations

import io
import stat
import zipfile
from dataclasses import dataclass

from django.conf import settings

from verification.errors import DomainError

_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*")
_PDF_MAGIC = b"%PDF-"
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


@dataclass(frozen=True)
class UploadedDocument:
    name: str
    data: bytes
    kind: str  # "image" or "pdf"


def _too_many_files(n: int) -> DomainError:
    limit = settings.SIGWEB_DOCUMENT_MAX_FILES
    return DomainError(f"an upload may hold at most {limit} files; this one has {n}", code="too_many_files", status=413)


def _too_large(n: int) -> DomainError:
    limit = settings.SIGWEB_DOCUMENT_MAX_BYTES
    return DomainError(f"an upload may hold at most {limit} bytes; this one has {n}", code="too_large", status=413)


def document_kind(name: str, data: bytes) -> str:
    """``image`` or ``pdf`` from the file's first bytes; anything else is a 400."""
    if not data:
        raise DomainError(f"{name or 'the file'} is empty", code="empty_file")
    if data.startswith(_PDF_MAGIC):
        return "pdf"
    if data.startswith(_IMAGE_MAGIC):
        return "image"
    if data.startswith(_ZIP_MAGIC):
        raise DomainError(f"{name}: a zip inside a zip is not accepted", code="nested_zip")
    raise DomainError(f"{name or 'the file'} is not a page image (PNG, JPEG, TIFF) or a PDF", code="not_a_document", status=415)


def _safe_member_name(name: str) -> bool:
    parts = name.replace("\\", "/").split("/")
    return bool(name) and not name.startswith(("/", "\\")) and ":" not in name and ".." not in parts and "\x00" not in name


def zip_members(name: str, data: bytes) -> list[UploadedDocument]:
    """The files of a zip, checked from its directory first (count, sizes, names), then read
    with a cap, so a zip bomb is refused before it is inflated."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise DomainError(f"{name}: not a readable zip", code="damaged_file") from None
    files = [i for i in infos if not i.is_dir()]
    if len(files) > settings.SIGWEB_DOCUMENT_MAX_FILES:
        raise _too_many_files(len(files))
    total = sum(i.file_size for i in files)
    if total > settings.SIGWEB_DOCUMENT_MAX_BYTES:
        raise _too_large(total)
    for info in files:
        if not _safe_member_name(info.filename):
            raise DomainError(f"{name}: the member name {info.filename!r} is not a plain relative path", code="unsafe_zip")
        if info.flag_bits & 0x1:
            raise DomainError(f"{name}: {info.filename} is encrypted", code="encrypted")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise DomainError(f"{name}: {info.filename} is a link", code="unsafe_zip")
        if info.filename.lower().endswith(".zip"):
            raise DomainError(f"{name}: a zip inside a zip is not accepted", code="nested_zip")
    out = []
    for info in files:
        try:
            with archive.open(info) as member:
                content = member.read(info.file_size + 1)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, RuntimeError):
            raise DomainError(f"{name}: {info.filename} cannot be read", code="damaged_file") from None
        if len(content) > info.file_size:
            raise DomainError(f"{name}: {info.filename} is larger than its zip entry says", code="damaged_file")
        out.append(UploadedDocument(info.filename, content, document_kind(info.filename, content)))
    return out


def document_files_read(uploads: list) -> list[UploadedDocument]:
    """The files of an upload (Django ``UploadedFile``s), zips expanded, within the limits."""
    if not uploads:
        raise DomainError("send one or more files in the multipart field 'file'", code="invalid")
    if len(uploads) > settings.SIGWEB_DOCUMENT_MAX_FILES:
        raise _too_many_files(len(uploads))
    size = sum(int(u.size or 0) for u in uploads)
    if size > settings.SIGWEB_DOCUMENT_MAX_BYTES:
        raise _too_large(size)
    files: list[UploadedDocument] = []
    for upload in uploads:
        name = str(upload.name or "upload")[:255]
        data = upload.read(settings.SIGWEB_DOCUMENT_MAX_BYTES + 1)
        if data.startswith(_ZIP_MAGIC):
            files.extend(zip_members(name, data))
        else:
            files.append(UploadedDocument(name, data, document_kind(name, data)))
        if len(files) > settings.SIGWEB_DOCUMENT_MAX_FILES:
            raise _too_many_files(len(files))
        if sum(len(f.data) for f in files) > settings.SIGWEB_DOCUMENT_MAX_BYTES:
            raise _too_large(sum(len(f.data) for f in files))
    if not files:
        raise DomainError("the upload holds no files", code="empty_file")
    return files
