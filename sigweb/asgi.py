"""ASGI entry point: HTTP through Django, websockets through Channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sigweb.settings")
django_asgi_app = get_asgi_application()  # before anything imports models

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from verification.routing import websocket_urlpatterns  # noqa: E402
from verification.ws_auth import SigWebAuthMiddlewareStack  # noqa: E402

if os.environ.get("SIGWEB_PRELOAD_ENGINE", "1") != "0":  # first verification without the model-load wait
    import threading

    from verification.ml_engine import engine_warm_up

    threading.Thread(target=engine_warm_up, name="sigweb-engine-warm-up", daemon=True).start()

from django.conf import settings  # noqa: E402

if settings.CELERY_TASK_ALWAYS_EAGER:  # embedded mode: no worker, so the web process sweeps lost jobs
    from verification.sweeper import sweeper_start

    sweeper_start()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(SigWebAuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
