"""The respondent's survey form: an ipywidgets box that owns its state, served by Voila.

One questionnaire per page with progress, required answers marked, an optional comment per
section, every change saved at once (a reload resumes the draft), and a thank-you on submit.
Nothing the browser sends is trusted: values go through the store's validation, every handler
catches its errors and shows a polite line instead of a traceback, and after submit the input
widgets are closed so later messages for them reach nothing.

Inside a kernel, :func:`survey_app` first hardens it (:func:`harden_kernel`): nothing the
process writes to its stdout/stderr, no log line, no warning and no traceback is published to the
page; every widget (boxes, layouts, progress bar included) and the widget comm targets drop a
malformed message quietly. Comments are saved as they are typed (debounced).

Every input carries a CSS class for tests and styling: ``survey-q-<item_id>`` (radio buttons),
``survey-comment-<section_id>`` (text areas), ``survey-next``, ``survey-back``,
``survey-submit``, ``survey-progress``, ``survey-status``; pages ``survey-page-<questionnaire>``.
"""

from __future__ import annotations

import atexit
import html
import logging
import os
import sys
import threading
import urllib.parse
import warnings
from collections.abc import Callable, Mapping
from functools import wraps

import ipywidgets as widgets

from ..readiness.model import COMMENT_MAX_CHARS, Questionnaire, Questionnaires
from ..readiness.store import (
    AlreadySubmitted,
    Draft,
    Incomplete,
    SurveyError,
    SurveyStore,
    UnknownToken,
)

log = logging.getLogger(__name__)
# Never to stderr: a kernel publishes what its process writes there to the page. Refusals go to
# the file named by $ONETOONE_SURVEY_LOG once harden_kernel() has run, else nowhere.
log.addHandler(logging.NullHandler())
log.propagate = False

COMMENT_SAVE_DELAY = 0.6
"""Seconds of no typing after which a comment is saved (it is also saved on Next, Back, Submit
and when the kernel shuts down)."""

GROUP_LABEL = {"managers": "managers", "employees": "employees", "customers": "customers"}

CSS = """
<style>
.survey-app { max-width: 760px; margin: 0 auto; padding: 8px 14px 40px; box-sizing: border-box;
  font-size: 15px; line-height: 1.45; color: #1f2933; }
.survey-app .widget-html, .survey-app .widget-html-content { width: 100%; }
.survey-app .widget-html-content { white-space: normal; line-height: 1.45; }
.survey-app h1 { font-size: 1.45em; margin: 0.4em 0 0.2em; }
.survey-app h2 { font-size: 1.2em; margin: 0.6em 0 0.2em; }
.survey-app h3 { font-size: 1.05em; margin: 1.2em 0 0.3em; color: #0b4f6c;
  border-bottom: 1px solid #d9e2ec; padding-bottom: 3px; }
.survey-app .survey-meta { color: #52606d; margin: 0 0 0.4em; }
.survey-app .survey-item { border-left: 3px solid transparent; padding: 6px 0 6px 8px; margin: 4px 0;
  width: 100%; box-sizing: border-box; }
.survey-app .survey-item.survey-missing { border-left-color: #d64545; background: #fff5f5; }
.survey-app .survey-question { font-weight: 600; }
.survey-app .survey-req { color: #d64545; font-weight: 700; }
.survey-app .widget-radio { width: 100%; }
.survey-app .widget-radio-box { width: 100%; }
.survey-app .widget-radio-box label { display: flex !important; flex-direction: row-reverse;
  justify-content: flex-end; white-space: normal !important; align-items: flex-start; gap: 10px; line-height: 1.35; margin: 2px 0 8px; height: auto;
  cursor: pointer; }
.survey-app .widget-radio-box input { float: none !important; margin: 2px 0 0 0 !important;
  flex: none; width: 18px; height: 18px; }
.survey-app textarea { width: 100%; min-height: 3.2em; font-size: 14px; }
.survey-app .widget-textarea { width: 100%; }
.survey-app .survey-nav { margin-top: 14px; gap: 8px; flex-wrap: wrap; }
.survey-app .survey-nav button { min-width: 120px; height: 40px; font-size: 15px; }
.survey-app .widget-inline-hbox .widget-label { display: none; }
.survey-app .survey-progress { width: 100%; }
.survey-app .survey-status { color: #b44d12; min-height: 1.2em; }
.survey-app .survey-jump { color: #0b4f6c; }
.survey-app .survey-note { font-size: 0.9em; color: #52606d; }
</style>
"""


def _e(text: object) -> str:
    return html.escape(str(text))


def _safe(fn: Callable) -> Callable:
    """Run a widget callback so that no exception and no traceback reaches the page."""

    @wraps(fn)
    def wrapper(self: SurveyForm, *args, **kwargs):
        try:
            return fn(self, *args, **kwargs)
        except AlreadySubmitted:
            self._show_closed()
        except SurveyError as exc:
            self._say(str(exc))
        except Exception:
            log.exception("survey callback %s failed", fn.__name__)
            self._say("Sorry, that could not be saved. Please try again in a moment.")
        return None

    return wrapper


def _guarded_handle_msg(self, msg):
    """``Widget._handle_msg`` that lets no exception out and resets the browser's view instead."""
    try:
        data = msg["content"]["data"]
        method = data["method"]
        if method == "update" and "state" in data:
            state = data["state"]
            if not isinstance(state, dict):
                raise TypeError("state must be a mapping")
            if data.get("buffer_paths"):
                raise ValueError("this form takes no binary buffers")
            self.set_state(state)
        elif method == "request_state":
            self.send_state()
        elif method == "custom" and "content" in data:
            self._handle_custom_msg(data["content"], msg.get("buffers") or [])
    except Exception:
        log.warning("refused a widget message for %s", type(self).__name__, exc_info=True)
        try:
            self.send_state()
        except Exception:  # noqa: BLE001
            log.debug("could not reset the view of %s", type(self).__name__)


class _Guarded:
    """Mixin: a widget message that breaks a trait (an out-of-range index sent by a script, a
    wrong type, a malformed message) is dropped and the browser's view reset.

    ipywidgets' own ``_handle_msg`` sends any exception to the page as a traceback
    (``ip.showtraceback()``, whatever Voila's ``show_tracebacks`` says), so this handler does its
    work itself and lets no exception out.
    """

    _handle_msg = _guarded_handle_msg


class SafeRadioButtons(_Guarded, widgets.RadioButtons):
    """RadioButtons that refuse malformed messages quietly."""


class SafeTextarea(_Guarded, widgets.Textarea):
    """Textarea that refuses malformed messages quietly."""


class SafeButton(_Guarded, widgets.Button):
    """Button that refuses malformed messages quietly."""


class SafeHTML(_Guarded, widgets.HTML):
    """HTML that refuses malformed messages quietly."""


class SafeVBox(_Guarded, widgets.VBox):
    """VBox that refuses malformed messages quietly."""


class SafeHBox(_Guarded, widgets.HBox):
    """HBox that refuses malformed messages quietly."""


class SafeIntProgress(_Guarded, widgets.IntProgress):
    """IntProgress that refuses malformed messages quietly."""


_hardened = False


def _safe_target(fn: Callable) -> Callable:
    @wraps(fn)
    def target(comm, msg):
        try:
            return fn(comm, msg)
        except Exception:
            log.warning("refused a comm_open", exc_info=True)
            try:
                comm.close()
            except Exception:  # noqa: BLE001
                log.debug("could not close a refused comm")
            return None

    return target


def harden_kernel(log_path: str | os.PathLike | None = None) -> bool:
    """Make this kernel publish nothing to the page but the form's own widget messages.

    - the process's stdout and stderr file descriptors (which ipykernel forwards to the page)
      and ``sys.stderr`` go to ``log_path`` (``$ONETOONE_SURVEY_LOG``; ``os.devnull`` without);
    - logging (the comm manager's, the kernel's, ours) goes there too; warnings are ignored;
    - the shell's ``showtraceback``/``showsyntaxerror`` (which ipywidgets and the callback
      dispatchers call) log instead of publishing;
    - every widget class, layouts and styles included, gets the guarded message handler, and the
      ``jupyter.widget`` comm targets drop a malformed ``comm_open``.

    Outside a kernel it does nothing and returns False. Idempotent.
    """
    global _hardened
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return False
    shell = get_ipython()
    if shell is None or not hasattr(shell, "kernel"):
        return False
    if _hardened:
        return True
    path = str(log_path or os.environ.get("ONETOONE_SURVEY_LOG") or os.devnull)
    fh = open(path, "a", buffering=1, encoding="utf-8", errors="replace")  # noqa: SIM115
    for fd in (1, 2):
        try:
            os.dup2(fh.fileno(), fd)
        except OSError:  # pragma: no cover
            pass
    sys.stderr = fh
    handler = logging.StreamHandler(fh)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(handler)
    log.addHandler(handler)
    kernel_log = getattr(shell.kernel, "log", None)
    if isinstance(kernel_log, logging.Logger):
        for h in list(kernel_log.handlers):
            kernel_log.removeHandler(h)
        kernel_log.addHandler(handler)
    logging.lastResort = handler
    warnings.simplefilter("ignore")

    def quiet_traceback(*_args, **_kwargs):
        log.warning("exception in the survey kernel", exc_info=sys.exc_info()[0] is not None)

    shell.showtraceback = quiet_traceback
    shell.showsyntaxerror = quiet_traceback
    widgets.Widget._handle_msg = _guarded_handle_msg
    try:
        import comm

        manager = comm.get_comm_manager()
        for name, fn in list(manager.targets.items()):
            manager.targets[name] = _safe_target(fn)
    except Exception:  # noqa: BLE001
        log.warning("could not guard the comm targets", exc_info=True)
    _hardened = True
    return True


def message_page(title: str, text: str) -> widgets.VBox:
    """A polite page (unknown link, used link, survey unavailable): no code, no error."""
    box = SafeVBox([SafeHTML(CSS), SafeHTML(f"<h1>{_e(title)}</h1><p>{_e(text)}</p>")])
    box.add_class("survey-app")
    box.add_class("survey-message")
    return box


class SurveyForm(_Guarded, widgets.VBox):
    """The whole survey for one respondent token.

    Parameters
    ----------
    store
        The client's responses store.
    token
        The respondent's token from the personal link (validated against the store).
    comment_delay
        Seconds of no typing before a comment is saved (:data:`COMMENT_SAVE_DELAY`).
    """

    def __init__(self, store: SurveyStore, token: str, comment_delay: float = COMMENT_SAVE_DELAY,
                 **kwargs):
        super().__init__(**kwargs)
        self.add_class("survey-app")
        self.store = store
        self.qs: Questionnaires = store.qs
        self.respondent = store.respondent(token)
        if self.respondent is None:
            raise UnknownToken("this link is not valid")
        self.token = token
        self.audience = self.respondent.audience
        self.parts: list[Questionnaire] = self.qs.for_audience(self.audience)
        self.draft: Draft = store.draft(token)
        self.radios: dict[str, widgets.RadioButtons] = {}
        self.item_boxes: dict[str, widgets.VBox] = {}
        self.comment_boxes: dict[str, widgets.Textarea] = {}
        self.pages: dict[int, widgets.VBox] = {}
        self.closed = False
        self.submitted = False
        self.comment_delay = comment_delay
        self._pending: dict[str, str] = {}
        self._timers: dict[str, threading.Timer] = {}
        self._lock = threading.RLock()
        self._jumps = 0

        self.header = SafeHTML(self._header_html())
        self.progress = SafeIntProgress(min=0, max=1, value=0, layout=widgets.Layout(width="100%"))
        self.progress.add_class("survey-progress")
        self.progress_label = SafeHTML()
        self.progress_label.add_class("survey-progress-label")
        self.top_status = SafeHTML()
        self.top_status.add_class("survey-top-status")
        self.body = SafeVBox(layout=widgets.Layout(width="100%"))
        self.status = SafeHTML()
        self.status.add_class("survey-status")
        self.back = SafeButton(description="Back")
        self.back.add_class("survey-back")
        self.next = SafeButton(description="Next", button_style="primary")
        self.next.add_class("survey-next")
        self.submit = SafeButton(description="Submit", button_style="success")
        self.submit.add_class("survey-submit")
        self.nav = SafeHBox([self.back, self.next, self.submit])
        self.nav.add_class("survey-nav")
        self.back.on_click(self._on_back)
        self.next.on_click(self._on_next)
        self.submit.on_click(self._on_submit)
        self.children = [SafeHTML(CSS), self.header, self.progress_label, self.progress,
                         self.top_status, self.body, self.status, self.nav]
        store.mark_opened(token)
        atexit.register(self.flush_comments)
        self.page = self._first_incomplete_page()
        self._show_page(self.page)

    # -- construction ----------------------------------------------------------------------
    def _header_html(self) -> str:
        r = self.respondent
        n = len(self.qs.required_items(self.audience))
        resumed = bool(self.draft.answers or self.draft.comments)
        who = (f"for customers of {_e(r.client)}" if self.audience == "customer"
               else f"for {GROUP_LABEL[r.group]} of {_e(r.client)}")
        resume = ("<p class='survey-meta'><b>Welcome back:</b> your earlier answers are kept; "
                  "carry on where you left off.</p>" if resumed else "")
        return (f"<h1>{_e(r.title)}</h1>"
                f"<p class='survey-meta'>A survey {who}. {len(self.parts)} parts, {n} questions, "
                f"about {self.qs.minutes(self.audience)} minutes. Answers and comments are saved "
                f"as you go; you can close the page and come back with the same link. "
                f"<span class='survey-req'>*</span> = required.</p>{resume}")

    def _first_incomplete_page(self) -> int:
        for i, q in enumerate(self.parts):
            if any(it.id not in self.draft.answers for _, it in q.items(self.audience)):
                return i
        return len(self.parts) - 1

    def _build_page(self, i: int) -> widgets.VBox:
        q = self.parts[i]
        a = self.audience
        children: list[widgets.Widget] = [
            SafeHTML(f"<h2 data-survey-page='{_e(q.id)}'>Part {i + 1} of {len(self.parts)}: "
                     f"{_e(q.title_for(a))}</h2><p class='survey-meta'>{_e(q.intro_for(a))}</p>")]
        number = 0
        for section in q.sections:
            items = [it for it in section.items if it.asked_of(a)]
            if not items:
                continue
            title = section.title_for(a)
            children.append(SafeHTML(f"<h3>{_e(title)}</h3>"))
            for it in items:
                number += 1
                options = [(label, v) for v, label in enumerate(it.options(a, q.scale), 1)]
                radio = SafeRadioButtons(options=options, value=self.draft.answers.get(it.id),
                                         layout=widgets.Layout(width="100%"))
                radio.add_class(f"survey-q-{it.id}")
                radio.add_class("survey-radio")
                radio.observe(self._answer_handler(it.id), names="value")
                label = SafeHTML(f"<span class='survey-question'>{number}. "
                                 f"{_e(it.wording[a])}</span> "
                                 f"<span class='survey-req' title='required'>*</span>")
                box = SafeVBox([label, radio])
                box.add_class("survey-item")
                self.radios[it.id] = radio
                self.item_boxes[it.id] = box
                children.append(box)
            comment = SafeTextarea(value=self.draft.comments.get(section.id, ""),
                                   placeholder=f"Optional: a comment on {title.split(':')[0]}",
                                   continuous_update=True, layout=widgets.Layout(width="100%"))
            comment.add_class(f"survey-comment-{section.id}")
            comment.add_class("survey-comment")
            comment.observe(self._comment_handler(section.id), names="value")
            self.comment_boxes[section.id] = comment
            children.append(comment)
        page = SafeVBox(children, layout=widgets.Layout(width="100%"))
        page.add_class(f"survey-page-{q.id}")
        return page

    # -- navigation ------------------------------------------------------------------------
    def _show_page(self, i: int) -> None:
        self.page = i
        if i not in self.pages:
            self.pages[i] = self._build_page(i)
        self.body.children = [self.pages[i]]
        last = i == len(self.parts) - 1
        self.back.layout.display = "none" if i == 0 else None
        self.next.layout.display = "none" if last else None
        self.submit.layout.display = None if last else "none"
        self._update_progress()

    def _page_items(self, i: int) -> list[str]:
        return [it.id for _, it in self.parts[i].items(self.audience)]

    def _update_progress(self) -> None:
        ids = self._page_items(self.page)
        done = sum(1 for x in ids if x in self.draft.answers)
        required = self.qs.required_items(self.audience)
        total_all = len(required)
        done_all = sum(1 for x in self.draft.answers if x in required)
        left = len(ids) - done
        jump = (f" · <a href='#' class='survey-jump'>{left} question{'s' if left != 1 else ''} "
                f"left on this part: go to the first</a>" if left else "")
        self.progress.max = max(1, len(ids))
        self.progress.value = done
        self.progress_label.value = (f"<span class='survey-note'>Part {self.page + 1} of {len(self.parts)}: "
                                     f"{done} of {len(ids)} answered "
                                     f"({done_all} of {total_all} in all){jump}</span>")

    def _mark_missing(self, ids: list[str]) -> None:
        for item_id, box in self.item_boxes.items():
            if item_id in ids:
                box.add_class("survey-missing")
            else:
                box.remove_class("survey-missing")

    @_safe
    def _on_back(self, _button=None) -> None:
        if self.closed or self.page == 0:
            return
        self.flush_comments()
        self._say("")
        self._show_page(self.page - 1)

    @_safe
    def _on_next(self, _button=None) -> None:
        if self.closed or self.page >= len(self.parts) - 1:
            return
        self.flush_comments()
        missing = [x for x in self._page_items(self.page) if x not in self.draft.answers]
        self._mark_missing(missing)
        if missing:
            self._say(f"Please answer the {len(missing)} question(s) marked in red before going on.",
                      jump=True)
            return
        self._say("")
        self._show_page(self.page + 1)

    @_safe
    def _on_submit(self, _button=None) -> None:
        if self.closed:
            self._show_closed()
            return
        self.flush_comments()
        try:
            self.store.submit(self.token)
        except Incomplete as exc:
            first = next((i for i, q in enumerate(self.parts)
                          if any(m in self._page_items(i) for m in exc.missing)), self.page)
            if first != self.page:
                self._show_page(first)
            self._mark_missing(exc.missing)
            self._say(f"Please answer the {len(exc.missing)} question(s) marked in red, then submit.",
                      jump=True)
            return
        self.submitted = True
        self._close_inputs()
        self.children = [SafeHTML(CSS), SafeHTML(
            f"<h1>Thank you</h1><p>Your answers have been received. They help "
            f"{_e(self.respondent.client)} see where to start. You can close this page.</p>")]
        self.add_class("survey-thanks")

    # -- saving ----------------------------------------------------------------------------
    def _answer_handler(self, item_id: str) -> Callable:
        @_safe
        def handler(self, change) -> None:
            if self.closed:
                return
            value = change["new"]
            if value is None:
                self.store.clear_answer(self.token, item_id)
                self.draft.answers.pop(item_id, None)
            else:
                self.store.save_answer(self.token, item_id, value)
                self.draft.answers[item_id] = int(value)
                self.item_boxes[item_id].remove_class("survey-missing")
            self._say("")
            self._update_progress()

        return lambda change: handler(self, change)

    def _comment_handler(self, section_id: str) -> Callable:
        def handler(change) -> None:
            if self.closed:
                return
            with self._lock:
                self._pending[section_id] = change["new"]
                old = self._timers.pop(section_id, None)
                if old is not None:
                    old.cancel()
                if self.comment_delay <= 0:
                    timer = None
                else:
                    timer = threading.Timer(self.comment_delay, self._save_comment, args=(section_id,))
                    timer.daemon = True
                    self._timers[section_id] = timer
            if timer is None:
                self._save_comment(section_id)
            else:
                timer.start()

        return handler

    @_safe
    def _save_comment(self, section_id: str) -> None:
        with self._lock:
            if section_id not in self._pending:
                return
            text = self._pending.pop(section_id)
            self._timers.pop(section_id, None)
            if self.closed:
                return
            stored, cut = self.store.save_comment(self.token, section_id, text)
            self.draft.comments[section_id] = stored
        if cut:
            self.comment_boxes[section_id].value = stored
            self._say(f"Comments are limited to {COMMENT_MAX_CHARS} characters; yours was shortened.")

    def flush_comments(self) -> None:
        """Save every comment typed but not yet saved (before navigating, submitting, exiting)."""
        with self._lock:
            pending = list(self._pending)
            for t in self._timers.values():
                t.cancel()
            self._timers.clear()
        for section_id in pending:
            self._save_comment(section_id)

    # -- messages --------------------------------------------------------------------------
    def _say(self, text: str, jump: bool = False) -> None:
        if jump:
            self._jumps += 1
            html_text = (f"<span data-survey-jump='{self._jumps}'>{_e(text)} "
                         f"<a href='#' class='survey-jump'>Go to the first one</a></span>")
        else:
            html_text = f"<span>{_e(text)}</span>" if text else ""
        self.status.value = html_text
        self.top_status.value = html_text.replace("data-survey-jump", "data-survey-jump-copy")

    def _close_inputs(self) -> None:
        with self._lock:
            for t in self._timers.values():
                t.cancel()
            self._timers.clear()
            self.closed = True
        for w in [*self.radios.values(), *self.comment_boxes.values(), self.back, self.next, self.submit]:
            w.close()

    def _show_closed(self) -> None:
        if not self.closed:
            self._close_inputs()
        self.children = [SafeHTML(CSS), SafeHTML(
            "<h1>Already submitted</h1><p>These answers have already been submitted. "
            "Thank you for taking part.</p>")]


def token_from_query(query_string: str | None) -> str:
    """The respondent token of a link's query string (``token=...``), or ``""``."""
    values = urllib.parse.parse_qs(query_string or "", keep_blank_values=False)
    token = (values.get("token") or [""])[0]
    return token[:100]


def survey_app(config: str | os.PathLike | None = None,
               environ: Mapping[str, str] | None = None) -> widgets.Widget:
    """The page a respondent's link opens: the form, or a polite page when it cannot be shown.

    Parameters
    ----------
    config
        Client YAML. When empty, ``$ONETOONE_DB_URL`` (``onetoone survey serve CONFIG`` sets it,
        so the kernel does not parse the config), else ``$ONETOONE_CONFIG``.
    environ
        Where ``QUERY_STRING`` (set by Voila from the link) and the variables above are read.
        Without it, in a kernel Voila preheated (``VOILA_PREHEAT=True``), the call waits for
        the respondent's request with ``voila.utils.get_query_string()``.
    """
    env = os.environ if environ is None else environ
    harden_kernel(env.get("ONETOONE_SURVEY_LOG"))
    if environ is None and env.get("VOILA_PREHEAT") == "True":
        # a preheated kernel: the form module is imported, the request has not come yet
        from voila.utils import get_query_string

        query = get_query_string()
    else:
        query = env.get("QUERY_STRING", "")
    token = token_from_query(query)
    if not token:
        return message_page("Survey link needed",
                            "Please open the survey with the personal link you received.")
    try:
        cfg_path = config or (None if env.get("ONETOONE_DB_URL") else env.get("ONETOONE_CONFIG"))
        if cfg_path:
            from ..config import load_config

            url = load_config(cfg_path).survey_db_url
        elif env.get("ONETOONE_DB_URL"):  # `survey serve` sets it: no config parsing in the kernel
            url = env["ONETOONE_DB_URL"]
        else:
            raise RuntimeError("no ONETOONE_CONFIG or ONETOONE_DB_URL for the survey")
        store = SurveyStore(url)
        respondent = store.respondent(token)
    except Exception:
        log.exception("survey unavailable")
        return message_page("Survey not available",
                            "The survey cannot be opened right now. Please try again later.")
    if respondent is None:
        return message_page("Link not recognised",
                            "This survey link is not valid. Please check that you copied the whole "
                            "link from your invitation.")
    if respondent.submitted_at is not None:
        return message_page("Already submitted",
                            "Thank you: the answers for this link have already been submitted.")
    try:
        return SurveyForm(store, token)
    except Exception:
        log.exception("survey form failed")
        return message_page("Survey not available",
                            "The survey cannot be opened right now. Please try again later.")


__all__ = ["SurveyForm", "harden_kernel", "message_page", "survey_app", "token_from_query"]
