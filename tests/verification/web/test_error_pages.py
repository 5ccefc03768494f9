"""Error pages speak the product's language, not Django's defaults."""

from django.test import Client, override_settings


@override_settings(DEBUG=False, ALLOWED_HOSTS=["testserver"])
def test_unknown_signing_link_gets_the_product_404(db):
    response = Client().get("/sign/not-a-real-token/")
    assert response.status_code == 404
    body = response.content.decode()
    assert "This page doesn&#x27;t exist" in body or "This page doesn't exist" in body
    assert "signing link" in body
    assert "sigweb.css" in body  # the shared layout, not Django's bare page
