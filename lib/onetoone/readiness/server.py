"""Voila with the survey's front door: ``python -m onetoone.readiness.server NOTEBOOK [voila options]``.

The same Voila application ``python -m voila`` runs, with its page handler replaced by
:class:`SurveyHandler`: every request goes through :func:`onetoone.readiness.gate.admit` (an
unknown, malformed or used link, or a full server, gets its polite page and no kernel) and then
gets the page's head and the survey's name at once, before Voila takes a kernel.

Preheated kernels (``--VoilaConfiguration.preheat_kernel=True``, pool size
``--VoilaConfiguration.default_pool_size``) are how a respondent's form appears within seconds:
a pooled kernel has already imported the form and waits in ``voila.utils.get_query_string()``
for the request (see :func:`onetoone.ui.survey.survey_app`). Voila refuses a ``prelaunch_hook``
with preheating, hence the handler. ``onetoone survey serve`` and the tests start the survey
this way (:func:`onetoone.readiness.admin.voila_command`).

What a crowd of respondents opening their links at once needs, beyond Voila's pool (measured
with ``benchmarks/bench_survey.py``; on 2 cores 30 respondents used to wait minutes, most of them
in vain):

- a respondent is given a pooled kernel only once it is *ready* (waiting for its request in
  ``get_query_string``), never one still booting: Voila hands out the first pool entry even when
  its kernel is still importing, so a respondent waited for a whole kernel start behind the
  pool, while a fresh kernel would have been as fast (:meth:`SurveyKernelManager.take_ready`);
- the pool refills one kernel at a time while respondents have kernels (one per core when none
  has, as when the server starts), and only while no respondent's page is waiting for a fresh
  kernel and the server is under its kernel cap: Voila starts a refill for every kernel taken,
  so 30 respondents started 30 refills competing for the CPU with their own kernels
  (:meth:`SurveyKernelManager.start_kernel`);
- after a cell's execute reply, a page waits for the rest of the cell's output (Voila's
  executor gave it 4 s and then served the page without the form: in a crowd, the form's
  display message comes behind hundreds of widget messages; see
  :data:`onetoone.readiness.admin.IOPUB_TIMEOUT_SECONDS`);
- respondents without a ready pooled kernel get a fresh kernel, at most one per core booting at
  a time, first come first served (:class:`SurveyHandler`): 30 kernels booting together share
  the CPU so that all of them finish late; in turn, the first ones finish early.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import os
import sys
import time
from datetime import timedelta

from jupyter_server._tz import utcnow
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from voila.app import Voila
from voila.request_info_handler import RequestInfoSocketHandler
from voila.tornado.handler import TornadoVoilaHandler

from .gate import admit, max_kernels, send_page_start

_fresh_gate: asyncio.Semaphore | None = None


def fresh_starts() -> int:
    """Fresh kernels (no ready pooled one) booting at once: one per core, or
    ``$ONETOONE_SURVEY_FRESH_STARTS``."""
    try:
        return max(1, int(os.environ.get("ONETOONE_SURVEY_FRESH_STARTS", os.cpu_count() or 1)))
    except ValueError:
        return max(1, os.cpu_count() or 1)


class SurveyHandler(TornadoVoilaHandler):
    """Voila's page handler behind the survey's front door."""

    async def get(self, path=None):
        global _fresh_gate
        km = self.kernel_manager
        notebook = self.notebook_path or path
        ready = getattr(km, "take_ready", None)
        respondent = admit(self, pool_size=0, respondents=_respondent_kernels(km))
        send_page_start(self, respondent)
        if ready is None or ready(notebook):
            return await super().get(path)
        # no ready pooled kernel: a fresh one, booting at most fresh_starts() at a time (FIFO)
        if _fresh_gate is None:
            _fresh_gate = asyncio.Semaphore(fresh_starts())
        km.fresh_waiting += 1
        try:
            async with _fresh_gate:
                return await super().get(path)
        finally:
            km.fresh_waiting -= 1

    def should_use_rendered_notebook(self, notebook_data, pool_size, template_name, theme,
                                     request_args):
        """Voila's test, and a pooled kernel is ready (not one still booting)."""
        if not super().should_use_rendered_notebook(notebook_data, pool_size, template_name,
                                                    theme, request_args):
            return False
        ready = getattr(self.kernel_manager, "take_ready", None)
        return True if ready is None else ready(self.notebook_path)


def _respondent_kernels(km) -> int:
    try:
        return km.respondent_kernels()
    except AttributeError:  # not the survey's kernel manager
        return len(km.list_kernel_ids())


WARM_TIMEOUT_SECONDS = 180
"""A pooled kernel that has not reached its wait for a respondent after this long no longer holds
the next refill back."""
STARTING_GRACE_SECONDS = 300
"""A kernel still starting (no status from it yet) is not culled for this long: on a loaded
server a kernel can take longer than the idle timeout to boot, and culling it then would fail
a respondent whose page is waiting for it."""
UNCONNECTED_GRACE_SECONDS = 120
"""A kernel whose page has never connected (the browser still loading the page's scripts, or a
mail scanner that fetched the link) is kept this long after its last activity (the end of its
page's rendering), not after the culler first saw it: in a crowd a page can take longer than
that to be rendered. Once a page has connected, the usual idle timeout applies after it goes
away (its close-tab request usually shuts the kernel down at once)."""


RELEASE_EVERY_SECONDS = 10.0
_released_at = 0.0


def release_memory(now: float | None = None) -> bool:
    """Collect garbage and hand freed heap back to the system (glibc ``malloc_trim``), at most
    every :data:`RELEASE_EVERY_SECONDS`: after each kernel shutdown the server had kept ~0.8 MB
    per respondent's kernel (measured over 60 valid openings)."""
    global _released_at
    now = time.monotonic() if now is None else now
    if now - _released_at < RELEASE_EVERY_SECONDS:
        return False
    _released_at = now
    gc.collect()
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass
    return True


class SurveyKernelManager(AsyncMappingKernelManager):
    """Culls idle kernels as jupyter_server does, except those still starting up or whose page
    has not connected yet (within the graces above); with Voila's preheated pool (Voila
    subclasses this class), hands out only ready pooled kernels and refills the pool one kernel
    at a time, after the respondents waiting for a fresh kernel."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._first_seen: dict[str, object] = {}
        self._connected_once: set[str] = set()
        self._warming: dict[str, float] = {}
        self._warm_lock = asyncio.Lock()
        self.fresh_waiting = 0
        """Page requests waiting for (or booting) a fresh kernel; the pool refill waits for them."""

    # -- the preheated pool (Voila's VoilaKernelManager, a subclass, holds it in self._pools) --
    @staticmethod
    def _is_waiting(kernel_id: str) -> bool:
        """Is this pooled kernel waiting in get_query_string (connected to /voila/query)?"""
        return kernel_id in RequestInfoSocketHandler._waiters

    def _pool_kernel_ids(self) -> set[str]:
        ids = set(self._warming)
        for pool in getattr(self, "_pools", {}).values():
            for task in pool:
                if task.done() and not task.cancelled() and task.exception() is None:
                    ids.add(task.result()["kernel_id"])
        return ids

    def respondent_kernels(self) -> int:
        """Kernels running for respondents (the preheated ones not counted)."""
        running = set(self.list_kernel_ids())
        return len(running - self._pool_kernel_ids())

    def take_ready(self, notebook: str | None) -> bool:
        """Put a ready pooled kernel first in Voila's pool for ``notebook`` (Voila hands out the
        first entry); False when none is ready."""
        pool = getattr(self, "_pools", {}).get(notebook)
        for i, task in enumerate(pool or ()):
            if not task.done() or task.cancelled() or task.exception() is not None:
                continue
            kernel_id = task.result()["kernel_id"]
            if self._is_waiting(kernel_id):
                if i:
                    pool.insert(0, pool.pop(i))
                self._warming.pop(kernel_id, None)
                return True
        return False

    async def start_kernel(self, *args, **kwargs):
        env = kwargs.get("env") or {}
        if env.get("VOILA_PREHEAT") != "True":
            return await super().start_kernel(*args, **kwargs)
        async with self._warm_lock:  # pooled kernels are launched one after the other
            await self._wait_for_room()
            kernel_id = await super().start_kernel(*args, **kwargs)
            self._warming[kernel_id] = time.monotonic()
            return kernel_id

    async def _wait_for_room(self) -> None:
        """Until fewer pooled kernels are booting than allowed (one per core while no respondent
        has a kernel, as when the server starts; one while respondents are being served, so that
        refills leave the CPU to them), no respondent waits for a fresh kernel and the server is
        under its kernel cap."""
        while True:
            now = time.monotonic()
            running = set(self.list_kernel_ids())
            self._warming = {k: t for k, t in self._warming.items()
                             if k in running and not self._is_waiting(k)
                             and now - t < WARM_TIMEOUT_SECONDS}
            booting = fresh_starts() if not running - self._pool_kernel_ids() else 1
            if len(self._warming) < booting and not self.fresh_waiting \
                    and len(running) < max_kernels():
                return
            await asyncio.sleep(0.25)

    async def cull_kernel_if_idle(self, kernel_id):
        kernel = self._kernels.get(kernel_id)
        if kernel is None:
            return None
        now = utcnow()
        first = self._first_seen.setdefault(kernel_id, now)
        if self._kernel_connections.get(kernel_id, 0):
            self._connected_once.add(kernel_id)
        state = getattr(kernel, "execution_state", None)
        if state == "starting" and now - first < timedelta(seconds=STARTING_GRACE_SECONDS):
            return None
        last = getattr(kernel, "last_activity", None) or first
        if kernel_id not in self._connected_once and state != "dead" \
                and now - max(first, last) < timedelta(seconds=UNCONNECTED_GRACE_SECONDS):
            return None
        return await super().cull_kernel_if_idle(kernel_id)

    async def shutdown_kernel(self, kernel_id, *args, **kwargs):
        self._first_seen.pop(kernel_id, None)
        self._connected_once.discard(kernel_id)
        self._warming.pop(kernel_id, None)
        RequestInfoSocketHandler._cache.pop(kernel_id, None)
        try:
            return await super().shutdown_kernel(kernel_id, *args, **kwargs)
        finally:
            release_memory()


class SurveyVoila(Voila):
    """Voila whose page requests go through :class:`SurveyHandler`."""

    def init_handlers(self):
        handlers = super().init_handlers()
        out = []
        for h in handlers:
            if isinstance(h, tuple) and len(h) >= 2 and h[1] is TornadoVoilaHandler:
                h = (h[0], SurveyHandler, *h[2:])
            out.append(h)
        return out


def main(argv: list[str] | None = None) -> None:
    SurveyVoila.launch_instance(argv=argv)


if __name__ == "__main__":
    main(sys.argv[1:])
