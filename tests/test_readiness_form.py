"""The survey form in-process, driven by raw widget messages (what a script can send to a kernel)."""

from __future__ import annotations

import time

import pytest

from onetoone.config import load_config
from onetoone.readiness.model import COMMENT_MAX_CHARS
from onetoone.readiness.store import SurveyStore
from onetoone.ui.survey import SurveyForm, survey_app, token_from_query


def update(widget, **state) -> None:
    """What the browser (or a script) sends when a value changes: a comm 'update' message."""
    widget._handle_msg({"content": {"data": {"method": "update", "state": state, "buffer_paths": []}}, "buffers": []})


def click(button) -> None:
    button._handle_msg({"content": {"data": {"method": "custom", "content": {"event": "click"}}}, "buffers": []})


@pytest.fixture
def store(survey_client):
    cfg = load_config(survey_client)
    with SurveyStore(cfg.survey_db_url) as s:
        yield s


def answer_page(form: SurveyForm, index: int = 2) -> None:
    for item_id in form._page_items(form.page):
        update(form.radios[item_id], index=index)


def texts(widget) -> str:
    out = []
    stack = [widget]
    while stack:
        w = stack.pop()
        if hasattr(w, "value") and isinstance(w.value, str):
            out.append(w.value)
        stack.extend(getattr(w, "children", ()))
    return " ".join(out)


def test_token_from_query():
    assert token_from_query("token=abc&x=1") == "abc"
    assert token_from_query("") == ""
    assert len(token_from_query("token=" + "a" * 5000)) == 100


def test_form_saves_as_it_goes_and_resumes(store):
    _, t = store.create_survey("Acme Retail", {"managers": 1})
    tok = t["token"][0]
    form = SurveyForm(store, tok)
    assert "for managers of Acme Retail" in form.header.value and "minutes" in form.header.value
    assert form.parts[form.page].id == "broad_view"
    first = form._page_items(0)[0]
    update(form.radios[first], index=3)
    assert store.draft(tok).answers == {first: 4}  # index 3 is the 4th level: value 4
    update(form.comment_boxes["identify"], value="Shops keep their own lists.")
    click(form.next)  # the page is incomplete: stays, marks the missing ones
    assert form.page == 0 and "survey-missing" in form.item_boxes[form._page_items(0)[1]]._dom_classes
    answer_page(form)
    click(form.next)
    assert form.parts[form.page].id == "gap"
    # a reload is a new form on the same token: the draft and the page come back
    again = SurveyForm(store, tok)
    assert again.parts[again.page].id == "gap"
    assert again.draft.answers[first] == 3 and again.draft.comments == {"identify": "Shops keep their own lists."}
    click(again.back)
    assert again.radios[first].value == 3


def test_raw_messages_cannot_break_the_rules(store):
    _, t = store.create_survey("Acme Retail", {"customers": 1})
    tok = t["token"][0]
    form = SurveyForm(store, tok)
    item = form._page_items(0)[0]
    update(form.radios[item], index=7)  # out of range: dropped, nothing saved, no exception
    update(form.radios[item], index=-2)
    update(form.radios[item], value="DROP TABLE")
    assert store.draft(tok).answers == {}
    update(form.comment_boxes["identify"], value="x" * 50_000)  # oversized: capped and told
    form.flush_comments()
    assert len(store.draft(tok).comments["identify"]) == COMMENT_MAX_CHARS
    assert form.comment_boxes["identify"].value == "x" * COMMENT_MAX_CHARS
    assert "limited" in form.status.value
    click(form.submit)  # Submit while incomplete (the button is hidden, but a script can click)
    assert store.count("submissions") == 0 and "marked in red" in form.status.value
    answer_page(form, 0)
    click(form.next)
    answer_page(form, 4)
    click(form.submit)
    click(form.submit)  # a second submit through raw messages
    click(form.submit)
    assert store.count("submissions") == 1
    assert form.submitted and "Thank you" in texts(form)
    saved = store.answers()
    assert len(saved) == len(store.qs.required_items("customer"))  # one row per item
    assert saved["value"].between(1, 5).all()
    # a second tab open on the same link before submit: its submit and answers are refused politely
    assert survey_app(environ={"QUERY_STRING": f"token={tok}", "ONETOONE_DB_URL": store.url})


def test_comments_are_saved_as_typed_debounced_and_kept_on_reload(store, monkeypatch):
    _, t = store.create_survey("Acme Retail", {"customers": 1})
    tok = t["token"][0]
    form = SurveyForm(store, tok, comment_delay=0.3)
    assert form.comment_boxes["identify"].continuous_update  # every keystroke reaches the kernel
    saves = []
    real = store.save_comment
    monkeypatch.setattr(store, "save_comment", lambda *a: saves.append(a[2]) or real(*a))
    for text in ("T", "Th", "The", "The shop knows me."):  # typing, faster than the delay
        update(form.comment_boxes["identify"], value=text)
    assert saves == []  # nothing written per keystroke
    deadline = time.monotonic() + 10
    while not saves and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.4)
    assert saves == ["The shop knows me."]  # one write, the last text, without leaving the box
    assert store.draft(tok).comments == {"identify": "The shop knows me."}
    again = SurveyForm(store, tok)  # a reload: the comment is back in its box
    assert again.comment_boxes["identify"].value == "The shop knows me."
    assert "Welcome back" in again.header.value


def test_customers_see_plain_language(store):
    _, t = store.create_survey("Acme Retail", {"customers": 1, "managers": 1})
    forms = {g: SurveyForm(store, tok) for g, tok in zip(t["group"], t["token"])}
    shown = ""
    for i in range(len(forms["customers"].parts)):
        forms["customers"]._show_page(i)
        shown += texts(forms["customers"])
    for jargon in ("Broad View", "One-to-One Gap", "Differentiate", "Customize:", "Customer metrics"):
        assert jargon not in shown, jargon
    assert "How the company treats you today" in shown
    assert "Broad View" not in texts(forms["managers"])


def test_two_tabs_on_one_link_submit_once(store):
    _, t = store.create_survey("Acme Retail", {"employees": 1})
    tok = t["token"][0]
    a, b = SurveyForm(store, tok), SurveyForm(store, tok)
    for form in (a,):
        answer_page(form, 1)
        click(form.next)
        answer_page(form, 1)
    click(a.submit)
    update(b.radios[b._page_items(0)[0]], index=4)  # the other tab keeps sending
    click(b.submit)
    assert store.count("submissions") == 1
    assert "Already submitted" in texts(b)
    assert set(store.answers()["value"]) == {2}


@pytest.mark.parametrize("query, title", [("", "Survey link needed"),
                                          ("token=" + "A" * 43, "Link not recognised"),
                                          ("token=<script>", "Link not recognised")])
def test_polite_pages(store, query, title):
    page = survey_app(environ={"QUERY_STRING": query, "ONETOONE_DB_URL": store.url})
    assert title in texts(page) and "Traceback" not in texts(page)


def test_used_link_gets_a_polite_page(store, survey_client):
    _, t = store.create_survey("Acme Retail", {"managers": 1})
    tok = t["token"][0]
    for item in store.qs.required_items("manager"):
        store.save_answer(tok, item, 5)
    store.submit(tok)
    page = survey_app(environ={"QUERY_STRING": f"token={tok}", "ONETOONE_CONFIG": str(survey_client)})
    assert "Already submitted" in texts(page)


def test_unavailable_store_gets_a_polite_page(tmp_path):
    page = survey_app(environ={"QUERY_STRING": "token=" + "A" * 43,
                               "ONETOONE_CONFIG": str(tmp_path / "missing.yaml")})
    assert "not available" in texts(page)
