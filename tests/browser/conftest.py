"""Browser tests: Debian's Chromium driven by Playwright against a live ASGI server.

The server is ``manage.py runserver`` (daphne's, so websockets and static files work) in a
subprocess, on the embedded defaults whatever the environment says: its own SQLite file,
the in-memory channel layer and in-process jobs, with the real shipped model
(``ml/weights/sigweb.pt``; before it exists, the newest ``runs/*/model.pt``).
Skipped only when Chromium or Playwright is absent; CI (.ci/run) installs both.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

if not CHROMIUM.exists():
    pytest.skip("/usr/bin/chromium is not installed (CI installs it: apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -r requirements.txt)")


def model_path() -> Path | None:
    shipped = ROOT / "ml" / "weights" / "sigweb.pt"
    if shipped.is_file():
        return shipped
    candidates = sorted((ROOT / "runs").glob("*/model.pt"), key=lambda p: p.stat().st_mtime, reverse=True)
    return candidates[0] if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, url: str, setup: dict, log: Path):
        self.url = url
        self.setup = setup
        self.log = log

    def __call__(self, path: str) -> str:
        return self.url + path


def live_server(tmp_path_factory, name: str, server: list[str]):
    """A live server on the embedded defaults with the real model, seeded by ``live_setup.py``:
    ``server`` is the command after the Python interpreter, with ``{address}`` for host:port
    (``manage.py runserver`` by default). A generator for fixtures: yields a ``LiveServer``."""
    model = model_path()
    if model is None:
        pytest.skip("no model: ml/weights/sigweb.pt or runs/*/model.pt")
    tmp = tmp_path_factory.mktemp(name)
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(
        DJANGO_ENV="development",
        DJANGO_DEBUG="1",
        SIGWEB_SQLITE_PATH=str(tmp / "live.sqlite3"),
        SIGWEB_MODEL_PATH=str(model),
        SIGWEB_PROGRESS_MIN_INTERVAL="0",
        PYTHONUNBUFFERED="1",
    )
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True, timeout=300)
    out = subprocess.run(
        [python, "manage.py", "shell", "-c", (Path(__file__).parent / "live_setup.py").read_text()],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=600,
        capture_output=True,
        text=True,
    ).stdout
    setup = json.loads(next(line for line in out.splitlines() if line.startswith("SETUP "))[6:])
    port = _free_port()
    log = tmp / "server.log"
    with open(log, "w") as log_file:
        proc = subprocess.Popen(
            [python, *(arg.format(address=f"127.0.0.1:{port}") for arg in server)],
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("live server did not start:\n" + log.read_text()[-4000:])
            time.sleep(0.3)
    yield LiveServer(url, setup, log)
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def sigweb_server(tmp_path_factory):
    yield from live_server(tmp_path_factory, "live", ["manage.py", "runserver", "{address}", "--noreload"])


@pytest.fixture(scope="session")
def browser():
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


class ConsoleWatch:
    """Collects console errors and uncaught page errors of every page it watches."""

    def __init__(self):
        self.errors: list[str] = []

    def watch(self, page):
        page.on(
            "console",
            lambda msg: self.errors.append(f"console.{msg.type} {page.url}: {msg.text}") if msg.type == "error" else None,
        )
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror {page.url}: {exc}"))
        return page


@pytest.fixture
def console():
    watch = ConsoleWatch()
    yield watch
    assert not watch.errors, "browser console errors:\n" + "\n".join(watch.errors)


@pytest.fixture
def shots():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def shot(page, name: str, full_page: bool = True):
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page, animations="disabled")

    return shot
