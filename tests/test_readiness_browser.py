"""The survey in a real browser: Playwright drives Debian chromium against the Voila app."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from onetoone.config import load_config
from onetoone.readiness.store import SurveyStore

pytestmark = pytest.mark.browser
TIMEOUT = 90_000


def _store(server) -> SurveyStore:
    return SurveyStore(load_config(server.config).survey_db_url)


def _answer_all_visible(page, store: SurveyStore, questionnaire: str, audience: str, pick) -> list[str]:
    ids = [it.id for _, it in store.qs.get(questionnaire).items(audience)]
    for k, item_id in enumerate(ids):
        radios = page.locator(f".survey-q-{item_id} input[type=radio]")
        expect(radios.first).to_be_visible(timeout=TIMEOUT)
        radios.nth(pick(k)).check()
    return ids


def test_manager_answers_reloads_submits_and_the_link_is_then_used(page, voila_survey, tmp_path):
    """On a phone-sized window (390 x 844): each page load is a fresh kernel, so one walk covers it all."""
    page.set_viewport_size({"width": 390, "height": 844})
    with _store(voila_survey) as store:
        _, t = store.create_survey("Acme Retail", {"managers": 1})
        token = t["token"][0]
        page.set_default_timeout(TIMEOUT)
        page.goto(voila_survey.link(token), wait_until="domcontentloaded")
        expect(page.get_by_text("A survey for managers of Acme Retail")).to_be_visible(timeout=TIMEOUT)
        bv = _answer_all_visible(page, store, "broad_view", "manager", lambda k: k % 5)
        n_bv = len(bv)
        expect(page.locator(".survey-progress-label")).to_contain_text(f"{n_bv} of {n_bv} answered",
                                                                      timeout=TIMEOUT)
        assert len(store.draft(token).answers) == n_bv  # saved as they went
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways on a phone: {width}px wide"
        page.screenshot(path=str(tmp_path / "phone.png"))

        page.reload(wait_until="domcontentloaded")  # a new kernel: the draft comes back
        expect(page.get_by_text("Welcome back")).to_be_visible(timeout=TIMEOUT)
        # the whole Broad View is answered, so the form opens on part 2; go back to check it
        page.get_by_role("button", name="Back").click()
        first = page.locator(f".survey-q-{bv[0]} input[type=radio]")
        expect(first.nth(0)).to_be_checked(timeout=TIMEOUT)
        expect(page.locator(f".survey-q-{bv[3]} input[type=radio]").nth(3)).to_be_checked()
        page.locator(".survey-comment-identify textarea").fill("Each shop keeps its own list.")
        page.get_by_role("button", name="Next").click()

        gap = _answer_all_visible(page, store, "gap", "manager", lambda k: 2)
        page.get_by_role("button", name="Submit").click()
        expect(page.get_by_text("Thank you")).to_be_visible(timeout=TIMEOUT)
        assert store.count("submissions") == 1
        saved = store.answers()
        assert len(saved) == n_bv + len(gap)
        assert saved.set_index("item_id")["value"][bv[4]] == 5
        assert set(saved.loc[saved["questionnaire"] == "gap", "value"]) == {3}
        assert store.comments()["text"].tolist() == ["Each shop keeps its own list."]

        page.goto(voila_survey.link(token), wait_until="domcontentloaded")
        expect(page.get_by_text("Already submitted")).to_be_visible(timeout=TIMEOUT)
        assert store.count("submissions") == 1
        body = page.locator("body").inner_text()
        assert "Traceback" not in body and "survey_app(" not in body  # no code, no tracebacks
