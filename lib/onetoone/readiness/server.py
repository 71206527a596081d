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
"""

from __future__ import annotations

import sys
from datetime import timedelta

from jupyter_server._tz import utcnow
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from voila.app import Voila
from voila.tornado.handler import TornadoVoilaHandler

from .gate import admit, send_page_start


class SurveyHandler(TornadoVoilaHandler):
    """Voila's page handler behind the survey's front door."""

    async def get(self, path=None):
        try:
            pool = self.kernel_manager.get_pool_size(self.notebook_path or path)
        except AttributeError:
            pool = 0
        respondent = admit(self, pool_size=pool)
        send_page_start(self, respondent)
        return await super().get(path)


STARTING_GRACE_SECONDS = 300
"""A kernel still starting (no status from it yet) is not culled for this long: on a loaded
server a kernel can take longer than the idle timeout to boot, and culling it then would fail
a respondent whose page is waiting for it."""
UNCONNECTED_GRACE_SECONDS = 120
"""A kernel whose page has never connected (the browser still loading the page's scripts, or a
mail scanner that fetched the link) is kept this long after the culler first saw it. Once a
page has connected, the usual idle timeout applies after it goes away (its close-tab request
usually shuts the kernel down at once)."""


class SurveyKernelManager(AsyncMappingKernelManager):
    """Culls idle kernels as jupyter_server does, except those still starting up or whose page
    has not connected yet (within the graces above)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._first_seen: dict[str, object] = {}
        self._connected_once: set[str] = set()

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
        if kernel_id not in self._connected_once and state != "dead" \
                and now - first < timedelta(seconds=UNCONNECTED_GRACE_SECONDS):
            return None
        return await super().cull_kernel_if_idle(kernel_id)

    async def shutdown_kernel(self, kernel_id, *args, **kwargs):
        self._first_seen.pop(kernel_id, None)
        self._connected_once.discard(kernel_id)
        return await super().shutdown_kernel(kernel_id, *args, **kwargs)


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
