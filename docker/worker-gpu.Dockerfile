# SigWeb GPU worker: Celery, one process per GPU; `-Q short` (embed, enroll, verify) or
# `-Q long` (re-embed, train), see sigweb/queues.py. Build from the repo root:
#   docker build -f docker/worker-gpu.Dockerfile -t sigweb-worker-gpu .
FROM nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04

ENV DEBIAN_FRONTEND=noninteractive PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 DJANGO_SETTINGS_MODULE=sigweb.settings SIGWEB_DEVICE=cuda \
    PATH=/opt/venv/bin:$PATH
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-venv libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv /opt/venv \
    && useradd --create-home --uid 1001 sigweb
WORKDIR /app
# runtime dependencies only (requirements.txt); tests, lint and plots are in requirements-dev.txt
COPY requirements.txt .
# torch==2.13.0 from the default index is the CUDA build on Linux x86_64.
RUN pip install -r requirements.txt
COPY . .
RUN chown -R sigweb /app
USER sigweb
# Prefetch 1, late acks and one process per GPU come from settings; CUDA is first touched
# in the pool process, after the fork.
# compose runs one container per queue (its `command`); the image alone serves both
CMD ["celery", "-A", "sigweb", "worker", "-Q", "short,long", "--concurrency", "1", "-l", "info"]
