"""The survey server's front door: what happens to a request before any kernel is used.

:func:`admit` and :func:`send_page_start` run in the Voila server process for every page request
(:class:`onetoone.readiness.server.SurveyHandler`), before a kernel is started or taken from
the preheated pool:

- a missing, malformed, unknown or already-used token gets its polite page at once (a small
  self-contained HTML page, no kernel, nothing from another host);
- when ``ONETOONE_SURVEY_MAX_KERNELS`` respondents' kernels are already running, a valid link
  gets the "busy, your answers are safe, retry in a minute" page (HTTP 503, ``Retry-After``),
  which reloads itself every :data:`BUSY_RETRY_SECONDS`;
- otherwise the ``_xsrf`` cookie is set, so the close-tab shutdown Voila's page sends is
  accepted (voila-dashboards/voila#1458: without the cookie it is refused and only culling frees
  the kernel), and the start of the page (its head and the survey's name, "Preparing your
  questions") is sent at once: Voila starts the kernel before it renders any of its template,
  so without this the respondent would look at a blank page for the kernel's start-up. The
  ``onetoone-survey`` template renders the rest without a second document head.

The store is opened once per server process from ``ONETOONE_DB_URL`` (``survey serve`` sets it).
"""

from __future__ import annotations

import html
import logging
import os
import threading

from .store import TOKEN_RE, SurveyStore

log = logging.getLogger("onetoone.survey.gate")

DEFAULT_MAX_KERNELS = 40
"""Kernels (open respondents) one server runs at most; about 80-120 MB each."""

BUSY_RETRY_SECONDS = 30
"""The busy page reloads itself after this long (and says so)."""

_store: SurveyStore | None = None
_lock = threading.Lock()

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">{refresh}
<title>{title}</title>
<style>
body {{ font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2933;
  max-width: 640px; margin: 12vh auto 0; padding: 0 18px; line-height: 1.5; }}
h1 {{ font-size: 1.45em; margin: 0 0 0.4em; }}
p {{ color: #3e4c59; }}
</style></head>
<body class="survey-message survey-{kind}"><h1>{title}</h1><p>{text}</p></body></html>
"""

MESSAGES = {
    "missing": (400, "Survey link needed",
                "Please open the survey with the personal link you received."),
    "unknown": (404, "Link not recognised",
                ("This survey link is not valid. Please check that you copied the whole link "
                 "from your invitation.")),
    "used": (200, "Already submitted",
             "Thank you: the answers for this link have already been submitted."),
    "busy": (503, "The survey is busy",
             ("Many people are answering right now. Your answers so far are safe. Please try "
              "again in a minute with the same link; this page tries again by itself every "
              f"{BUSY_RETRY_SECONDS} seconds.")),
    "unavailable": (503, "Survey not available",
                    "The survey cannot be opened right now. Please try again later."),
}


def message_html(kind: str) -> str:
    """The polite page for ``kind`` (one of :data:`MESSAGES`)."""
    _, title, text = MESSAGES[kind]
    refresh = (f'\n<meta http-equiv="refresh" content="{BUSY_RETRY_SECONDS}">' if kind == "busy"
               else "")
    return PAGE.format(title=html.escape(title), text=html.escape(text), kind=kind, refresh=refresh)


def max_kernels(environ=None) -> int:
    env = os.environ if environ is None else environ
    try:
        n = int(env.get("ONETOONE_SURVEY_MAX_KERNELS", DEFAULT_MAX_KERNELS))
    except ValueError:
        return DEFAULT_MAX_KERNELS
    return max(1, n)


def _get_store() -> SurveyStore:
    global _store
    with _lock:
        if _store is None:
            url = os.environ.get("ONETOONE_DB_URL")
            if not url:
                raise RuntimeError("ONETOONE_DB_URL is not set for the survey server")
            _store = SurveyStore(url)
        return _store


def classify(token: str) -> tuple[str, object]:
    """``("missing"|"unknown"|"used"|"valid", respondent or None)`` for a link's token."""
    if not token:
        return "missing", None
    if not TOKEN_RE.match(token):
        return "unknown", None
    r = _get_store().respondent(token)
    if r is None:
        return "unknown", None
    if r.submitted_at is not None:
        return "used", r
    return "valid", r


def _refuse(handler, kind: str, retry_after: int | None = None):
    from tornado.web import Finish

    status = MESSAGES[kind][0]
    handler.set_status(status)
    handler.set_header("Content-Type", "text/html; charset=utf-8")
    handler.set_header("Cache-Control", "no-store")
    handler.set_header("X-Robots-Tag", "noindex")
    if retry_after:
        handler.set_header("Retry-After", str(retry_after))
    raise Finish(message_html(kind))


def admit(handler, pool_size: int = 0, respondents: int | None = None):
    """The respondent a page request may open a form for, or the polite page (``tornado.web.Finish``).

    ``respondents``: kernels open for respondents (the cap applies to them); when not given,
    the server's kernels less ``pool_size`` (preheated kernels waiting for a respondent).
    Also sets the ``_xsrf`` cookie (the close-tab shutdown sends it back) and the page headers.
    """
    token = (handler.get_query_argument("token", "") or "")[:100]
    try:
        kind, respondent = classify(token)
    except Exception:  # noqa: BLE001 - the database is down or misconfigured
        log.exception("survey store unavailable")
        _refuse(handler, "unavailable", retry_after=60)
    if kind != "valid":
        _refuse(handler, kind)
    running = (respondents if respondents is not None
               else len(handler.kernel_manager.list_kernel_ids()) - pool_size)
    if running >= max_kernels():
        log.warning("kernel cap reached (%d in use): busy page", running)
        _refuse(handler, "busy", retry_after=BUSY_RETRY_SECONDS)
    handler.xsrf_token  # noqa: B018 - sets the _xsrf cookie the close-tab shutdown sends back
    handler.set_header("X-Robots-Tag", "noindex")
    handler.set_header("Content-Type", "text/html; charset=utf-8")
    return respondent


def send_page_start(handler, respondent) -> None:
    """Send the page's head and the survey's name now (Voila sends nothing until its kernel runs)."""
    handler.write(page_start(respondent.title, handler.base_url))
    handler.flush()


PAGE_START = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<meta name="robots" content="noindex">
<title>{title}</title>
<link rel="icon" href="data:;base64,=">
<style>
body {{ margin: 0; }}
#loading {{ display: flex; flex-direction: column; align-items: center; padding-top: 12vh;
  min-height: 60vh; font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2933;
  text-align: center; }}
#loading h1 {{ font-size: 1.45em; margin: 0 16px 0.4em; }}
#loading p {{ color: #52606d; margin: 0; }}
</style>
</head>
<body class="jp-Notebook theme-light" data-base-url="{base}voila/" data-jp-theme-light="true"
 data-jp-theme-name="JupyterLab Light" data-voila="voila">
<div id="loading"><h1 class="survey-loading-title">{title}</h1>
<p id="loading_text" class="survey-loading-text">Preparing your questions&hellip;</p></div>
"""


def page_start(title: str, base_url: str = "/") -> str:
    """The head of the survey page and its loading block, sent before the kernel starts."""
    return PAGE_START.format(title=html.escape(title), base=html.escape(base_url or "/"))


__all__ = ["BUSY_RETRY_SECONDS", "DEFAULT_MAX_KERNELS", "MESSAGES", "admit", "classify", "max_kernels", "message_html",
           "page_start", "send_page_start"]
