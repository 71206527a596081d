"""A JupyterLab server on loopback for browser checks of the workshop widgets.

Used by ``tests/test_lab_browser.py`` and ``benchmarks/bench_fence.py``: the same command as
``onetoone lab CONFIG`` (:func:`onetoone.cli.prepare_lab`: a per-client working copy of the
notebooks, ``--allow-root`` as root), with a token, a free port and no browser; stopped (its
whole process group, kernels included) on exit.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import nbformat

__all__ = ["LabServer", "lab_server", "write_notebook"]


class LabServer:
    """A running JupyterLab: ``url(name)`` opens a notebook of its working folder."""

    def __init__(self, proc: subprocess.Popen, port: int, token: str, folder: Path, log: Path):
        self.proc, self.port, self.token, self.folder, self.log = proc, port, token, folder, log
        self.base_url = f"http://127.0.0.1:{port}"

    def url(self, notebook: str) -> str:
        return f"{self.base_url}/lab/tree/{notebook}?token={self.token}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def lab_server(config: str | Path, timeout: float = 120.0):
    """Start ``jupyter lab`` on the client's working copy; yield a :class:`LabServer`."""
    from .cli import prepare_lab

    port = _free_port()
    token = secrets.token_hex(16)
    cmd, env, folder = prepare_lab(str(config), port=port, no_browser=True, refresh=True)
    # its own layout state: JupyterLab otherwise reopens the tabs of an earlier session
    state = folder / ".lab-state"
    cmd += [f"--IdentityProvider.token={token}", "--ServerApp.port_retries=0",
            f"--LabApp.workspaces_dir={state / 'workspaces'}",
            f"--LabApp.user_settings_dir={state / 'settings'}",
            "--LabApp.news_url=", ("--LabApp.check_for_updates_class="
            "jupyterlab.NeverCheckForUpdate")]
    env.pop("PYTEST_CURRENT_TEST", None)
    log = folder / "jupyterlab.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=folder, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    server = LabServer(proc, port, token, folder, log)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited ({proc.returncode}):\n"
                                   f"{log.read_text(errors='replace')[-3000:]}")
            try:
                with urllib.request.urlopen(f"{server.base_url}/api/status?token={token}",
                                            timeout=3):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"jupyter lab did not answer within {timeout} s") from None
                time.sleep(0.5)
        yield server
    finally:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(5)


def write_notebook(path: Path, cells: list[str]) -> Path:
    """A small notebook of code cells (kernel ``onetoone``) for a browser check."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "onetoone", "display_name": "onetoone",
                                 "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(nb, str(path))
    return path
