"""Shared fixtures: Playwright on Debian chromium, a Voila survey server, PostgreSQL on loopback.

- ``browser_type_launch_args``: pytest-playwright launches /usr/bin/chromium (``playwright
  install`` cannot download a browser here; docs/recipes.md).
- ``survey_client``: a minimal client YAML in a private folder (its SQLite survey DB beside it).
- ``voila_survey``: ``onetoone survey serve``'s Voila command on that client (two preheated
  kernels), on a free port, polled until ``/voila/static/voila.js`` answers; stopped after the
  session.
- ``nginx_bin``: Debian's nginx (``make nginx`` installs it), or the test is skipped.
- ``postgres_url``: a throw-away PostgreSQL server (initdb in a temporary folder, run as the
  ``postgres`` system user when the tests run as root, bound to 127.0.0.1 on a free port);
  skipped with the reason when the binaries are absent.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-default-apps"]

MINIMAL_CLIENT_YAML = "client: Acme Retail\nas_of: 2026-06-30\ncurrency: EUR\nsources: []\n"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"Debian chromium not found at {CHROMIUM} (apt-get install -y chromium)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


def write_client_yaml(folder: Path, text: str = MINIMAL_CLIENT_YAML) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "client.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def survey_client(tmp_path) -> Path:
    """A minimal client config in tmp_path (no sources); the survey DB goes beside it."""
    return write_client_yaml(tmp_path / "client")


def wait_for_http(url: str, timeout: float = 90.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=3) as r:
                if r.status == 200:
                    return
        except Exception as exc:  # noqa: BLE001
            last = exc
        time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer within {timeout} s (last error: {last})")


def stop_process_group(proc: subprocess.Popen, timeout: float = 15, sig: int = signal.SIGTERM) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
        proc.wait(timeout)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(5)


class VoilaServer:
    def __init__(self, config: Path, proc: subprocess.Popen, log: Path):
        self.config = config
        self.proc = proc
        self.log = log
        self.base_url = proc.base_url  # type: ignore[attr-defined]

    def link(self, token: str) -> str:
        return f"{self.base_url}/?token={token}"


@pytest.fixture(scope="session")
def voila_survey(tmp_path_factory) -> VoilaServer:
    """Voila serving notebooks/readiness_survey.ipynb for a minimal client, as `survey serve` does."""
    from onetoone.readiness.admin import start_voila

    folder = tmp_path_factory.mktemp("voila_client")
    config = write_client_yaml(folder)
    log = folder / "voila.log"
    proc = start_voila(config, log_path=log, warm=2)
    try:
        wait_for_http(f"{proc.base_url}/voila/static/voila.js", proc=proc)
    except (RuntimeError, TimeoutError) as exc:
        stop_process_group(proc)
        raise RuntimeError(f"voila did not start; its log:\n{log.read_text(errors='replace')[-3000:]}") from exc
    yield VoilaServer(config, proc, log)
    stop_process_group(proc)


@pytest.fixture(scope="session")
def nginx_bin() -> str:
    path = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if path is None:
        pytest.skip("nginx not found (make nginx, or apt-get install -y nginx)")
    return path


def _postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    return Path(found[-1]).parent if found else None


@pytest.fixture(scope="session")
def postgres_url():
    """A PostgreSQL server on 127.0.0.1 for this test session; yields its SQLAlchemy URL."""
    bindir = _postgres_bin()
    if bindir is None:
        pytest.skip("PostgreSQL binaries not found under /usr/lib/postgresql/*/bin "
                    "(apt-get install -y postgresql)")
    from onetoone.readiness.admin import free_port

    as_root = os.geteuid() == 0
    if as_root:
        try:
            import pwd

            pw = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no `postgres` system user to run the server")
        prefix = ["runuser", "-u", "postgres", "--"]
    else:
        prefix = []
    root = Path(tempfile.mkdtemp(prefix="onetoone_pg_"))
    data = root / "data"
    if as_root:
        os.chown(root, pw.pw_uid, pw.pw_gid)
    init = subprocess.run([*prefix, str(bindir / "initdb"), "-D", str(data), "-U", "postgres",
                           "--auth=trust", "-E", "UTF8", "--no-sync"],
                          capture_output=True, text=True, check=False)
    if init.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"initdb failed: {init.stderr[-500:]}")
    port = free_port()
    log = open(root / "postgres.log", "wb")  # noqa: SIM115 - the server writes to it until the end
    proc = subprocess.Popen([*prefix, str(bindir / "postgres"), "-D", str(data), "-p", str(port),
                             "-h", "127.0.0.1", "-k", str(root), "-c", "max_connections=200",
                             "-c", "fsync=off"], stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    deadline = time.monotonic() + 30
    while True:
        r = subprocess.run([str(bindir / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)],
                           capture_output=True, check=False)
        if r.returncode == 0:
            break
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_process_group(proc)
            text = (root / "postgres.log").read_text(errors="replace")[-1000:]
            shutil.rmtree(root, ignore_errors=True)
            pytest.skip(f"PostgreSQL did not start: {text}")
        time.sleep(0.2)
    yield url
    stop_process_group(proc, sig=signal.SIGINT)  # PostgreSQL's fast shutdown
    log.close()
    shutil.rmtree(root, ignore_errors=True)
