# SigWeb web server (daphne: HTTP + websockets). Build from the repository root:
#   docker build -f docker/web.Dockerfile -t sigweb-web .
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=sigweb.settings
RUN apt-get update && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 1000 sigweb
WORKDIR /app
# runtime dependencies only (requirements.txt); tests, lint and plots are in requirements-dev.txt
COPY requirements.txt .
# The web process runs the engine on CPU for input checks; point PIP_EXTRA_INDEX_URL at a
# CPU wheel index at build time to keep the image small (build arg below).
ARG PIP_EXTRA_INDEX_URL=""
RUN pip install -r requirements.txt
# Everything but what the .dockerignore beside this file leaves out (tests, venvs, data).
COPY . .
RUN DJANGO_SECRET_KEY=build-only DJANGO_ALLOWED_HOSTS=build python manage.py collectstatic --noinput \
    && chown -R sigweb /app
USER sigweb
EXPOSE 8000
# a TCP check: an HTTP one would depend on ALLOWED_HOSTS and the SSL redirect
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import socket; socket.create_connection(('127.0.0.1', 8000), 3)" || exit 1
CMD ["sh", "-c", "python manage.py migrate --noinput && daphne -b 0.0.0.0 -p 8000 sigweb.asgi:application"]
