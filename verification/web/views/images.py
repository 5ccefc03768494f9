"""Signature images for the back office: the original (uploaded bytes, or the pad strokes
drawn as SVG), an uploaded query after cleaning, and the image as the model sees it after preprocessing."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.views.decorators.cache import cache_control

from verification.ml_engine import SignatureInputError, strokes_parse
from verification.models import ReferenceSignature
from verification.selectors.queries import reference_get, verification_get
from verification.services.model_versions import active_engine
from verification.services.signatures import signature_cleaned_png
from verification.web.access import back_office_required, or_404

SAFE_IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp"}


def strokes_svg(strokes) -> str:
    """Pad strokes as a small SVG (numbers only, so nothing from the input reaches markup)."""
    try:
        groups = [[(float(x), float(y)) for x, y in a[:, :2]] for a in strokes_parse(strokes)]
    except SignatureInputError:
        groups = []
    if not groups:
        return '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"/>'
    xs = [x for g in groups for x, _ in g]
    ys = [y for g in groups for _, y in g]
    pad = 8.0
    x0, y0 = min(xs) - pad, min(ys) - pad
    w, h = max(xs) - x0 + pad, max(ys) - y0 + pad
    paths = []
    for g in groups:
        if len(g) == 1:
            x, y = g[0]
            paths.append(f'<circle cx="{x - x0:.1f}" cy="{y - y0:.1f}" r="1.6" fill="#1b2a4a"/>')
        else:
            d = "M" + " L".join(f"{x - x0:.1f} {y - y0:.1f}" for x, y in g)
            paths.append(f'<path d="{d}"/>')
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w:.1f} {h:.1f}" width="{w:.0f}" height="{h:.0f}">'
        '<rect width="100%" height="100%" fill="#fff"/>'
        '<g fill="none" stroke="#1b2a4a" stroke-width="2.2" stroke-linecap="round" stroke-linejoin="round">'
        + "".join(paths)
        + "</g></svg>"
    )


def _as_png(data: bytes) -> bytes:
    import io

    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            im = im.convert("L")
            im.thumbnail((1600, 1600))
            buf = io.BytesIO()
            im.save(buf, format="PNG")
            return buf.getvalue()
    except Exception:
        raise Http404("this image cannot be shown") from None


def _original(image, content_type: str, strokes) -> HttpResponse:
    if image is not None:
        if content_type in SAFE_IMAGE_TYPES:
            response = HttpResponse(bytes(image), content_type=content_type)
        else:  # TIFF and friends: browsers cannot show them, so send a PNG copy
            response = HttpResponse(_as_png(bytes(image)), content_type="image/png")
    elif strokes:
        response = HttpResponse(strokes_svg(strokes), content_type="image/svg+xml")
    else:
        raise Http404("erased or missing")
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


def _png(data) -> HttpResponse:
    if data is None:
        raise Http404("erased or missing")
    return HttpResponse(bytes(data), content_type="image/png")


@back_office_required
@cache_control(private=True, max_age=300)
def verification_original(request, verification_id):
    v = or_404(verification_get, verification_id=verification_id)
    return _original(v.query_image, v.query_image_content_type, v.query_strokes)


@back_office_required
@cache_control(private=True, max_age=300)
def verification_prepared(request, verification_id):
    v = or_404(verification_get, verification_id=verification_id)
    return _png(v.preview_png)


@back_office_required
@cache_control(private=True, max_age=300)
def verification_cleaned(request, verification_id):
    v = or_404(verification_get, verification_id=verification_id)
    return _png(signature_cleaned_png(engine=active_engine()[1], image=None if v.erased_at else v.query_image))


@back_office_required
@cache_control(private=True, max_age=300)
def reference_original(request, reference_id):
    ref: ReferenceSignature = or_404(reference_get, reference_id=reference_id)
    return _original(ref.image, ref.image_content_type, ref.strokes)


@back_office_required
@cache_control(private=True, max_age=300)
def reference_prepared(request, reference_id):
    ref = or_404(reference_get, reference_id=reference_id)
    return _png(ref.preview_png)
