"""The signature part of a request (an image file or pad strokes), shared by the references,
verifications and identifications endpoints."""

from __future__ import annotations

import json

from rest_framework import serializers

from verification.errors import DomainError
from verification.models import ReferenceSignature


class SignatureInput(serializers.Serializer):
    """Either ``image`` (multipart file) or ``strokes`` (JSON: signature_pad's toData())."""

    image = serializers.FileField(required=False, allow_empty_file=True, use_url=False)
    strokes = serializers.JSONField(required=False)
    source = serializers.ChoiceField(choices=ReferenceSignature.Source.choices, required=False)


def signature_from_request(data) -> dict:
    """Read the signature part of a request into {image: bytes|None, strokes: list|None, source}."""
    serializer = SignatureInput(data=data)
    serializer.is_valid(raise_exception=True)
    image_file = serializer.validated_data.get("image")
    strokes = serializer.validated_data.get("strokes")
    if isinstance(strokes, str):  # multipart sends the JSON as a string
        from verification.services.signatures import strokes_body_limit

        if len(strokes) > strokes_body_limit():
            raise DomainError(f"strokes is larger than {strokes_body_limit()} characters", code="too_large", status=413)
        try:
            strokes = json.loads(strokes)
        except (ValueError, RecursionError):
            raise DomainError("strokes is not valid JSON", code="malformed_request") from None
    image = None
    if image_file is not None:
        from verification.services.signatures import upload_read

        image = upload_read(image_file)
    if image is None and strokes is None:
        raise DomainError("send an image file (multipart field 'image') or strokes (JSON field 'strokes')", code="invalid")
    if image is not None and strokes is not None:
        raise DomainError("send either an image or strokes, not both", code="invalid")
    source = serializer.validated_data.get("source") or ("pad" if strokes is not None else "upload")
    return {"image": image, "strokes": strokes, "source": source}
