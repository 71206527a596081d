"""The questionnaires file and the responses store: validation, drafts, single submit, concurrency."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from onetoone.readiness.model import (
    COMMENT_MAX_CHARS,
    STAGES,
    InvalidAnswer,
    QuestionnaireError,
    load_questionnaires,
    validate_answer,
)
from onetoone.readiness.store import (
    AlreadySubmitted,
    Incomplete,
    SurveyStore,
    UnknownToken,
    answers,
    metadata,
)


@pytest.fixture
def qs():
    return load_questionnaires()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'survey.sqlite'}"
    url = request.getfixturevalue("postgres_url")
    engine = sa.create_engine(url)
    metadata.drop_all(engine)  # each test starts from empty tables on the shared server
    engine.dispose()
    return url


def fill(store: SurveyStore, token: str, audience: str, value: int = 3) -> None:
    for item in sorted(store.qs.required_items(audience)):
        store.save_answer(token, item, value)


# -- the questionnaires ----------------------------------------------------------------------
def test_questionnaires_have_the_documented_shape(qs):
    bv, gap = qs.get("broad_view"), qs.get("gap")
    assert tuple(s.id for s in bv.sections) == STAGES
    assert all(len(s.items) >= 3 for s in bv.sections)
    for _, it in bv.items():  # noqa: PERF102 - a list of (section, item) pairs, not a dict
        assert len(it.levels) == 5 and len(it.customer_levels) == 5
        assert set(it.wording) == {"manager", "employee", "customer"}
    assert 20 <= len(gap.items()) <= 24
    assert len(gap.sections) == 6
    assert len(gap.items("customer")) < len(gap.items("manager"))  # internal items skip customers


def test_a_broken_questionnaire_file_is_refused_with_the_file_named(tmp_path):
    bad = tmp_path / "q.yaml"
    bad.write_text("version: 1\nminutes_per_item: 0.5\naudiences: [manager, employee, customer]\n"
                   "questionnaires:\n  - id: gap\n    title: x\n    kind: scale\n    scale: [a, b]\n"
                   "    sections: [{id: s1, title: s, items: [{id: i1, wording: {manager: m, employee: e}}]}]\n")
    with pytest.raises(QuestionnaireError, match="q.yaml.*5 scale labels"):
        load_questionnaires(bad)


@pytest.mark.parametrize("value", [0, 6, -1, 2.5, "3", None, True, [3]])
def test_validate_answer_refuses_values_outside_1_to_5(qs, value):
    with pytest.raises(InvalidAnswer):
        validate_answer(qs, "manager", "bv_identify_channels", value)


def test_validate_answer_refuses_unknown_items_and_items_not_asked(qs):
    with pytest.raises(InvalidAnswer, match="unknown item"):
        validate_answer(qs, "manager", "nope", 3)
    with pytest.raises(InvalidAnswer, match="not asked of customers"):
        validate_answer(qs, "customer", "gap_org_incentives", 3)
    assert validate_answer(qs, "manager", "gap_org_incentives", 4.0) == ("gap_org_incentives", 4)


# -- the store -------------------------------------------------------------------------------
def test_tokens_are_unguessable_and_unique(tmp_path):
    with SurveyStore(f"sqlite:///{tmp_path / 's.sqlite'}") as store:
        _, t = store.create_survey("Acme", {"managers": 50, "customers": 50})
    assert t["token"].is_unique and len(t) == 100
    assert t["token"].str.len().min() >= 43  # 256 random bits, URL-safe
    assert t.groupby("group").size().to_dict() == {"customers": 50, "managers": 50}


def test_create_refuses_bad_groups(tmp_path):
    with SurveyStore(f"sqlite:///{tmp_path / 's.sqlite'}") as store:
        with pytest.raises(ValueError, match="unknown respondent group"):
            store.create_survey("Acme", {"partners": 3})
        with pytest.raises(ValueError, match="count"):
            store.create_survey("Acme", {"managers": -1})


def test_sqlite_store_uses_wal(tmp_path):
    with SurveyStore(f"sqlite:///{tmp_path / 's.sqlite'}") as store, store.engine.connect() as con:
        assert con.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_draft_resume_submit_once(db_url):
    with SurveyStore(db_url) as store:
        _, t = store.create_survey("Acme", {"managers": 2})
        me, other = t["token"]
        store.save_answer(me, "bv_identify_channels", 2)
        store.save_answer(me, "bv_identify_channels", 4)  # a change replaces, never duplicates
        store.save_answer(other, "bv_identify_channels", 1)
        store.save_comment(me, "identify", "We keep lists per shop.")
        draft = store.draft(me)
        assert draft.answers == {"bv_identify_channels": 4}  # only its own draft
        assert draft.comments == {"identify": "We keep lists per shop."}
        with pytest.raises(Incomplete) as exc:
            store.submit(me)
        assert len(exc.value.missing) == len(store.qs.required_items("manager")) - 1
        fill(store, me, "manager", 3)
        store.submit(me)
        with pytest.raises(AlreadySubmitted):
            store.submit(me)
        with pytest.raises(AlreadySubmitted):
            store.save_answer(me, "bv_identify_channels", 5)
        with pytest.raises(AlreadySubmitted):
            store.save_comment(me, "identify", "changed my mind")
        assert store.count("submissions") == 1
        with store.engine.connect() as con:
            n = con.execute(sa.select(sa.func.count()).select_from(answers)
                            .where(answers.c.token == me)).scalar()
        assert n == len(store.qs.required_items("manager"))  # one row per item
        got = store.answers()
        assert set(got["token"]) == {me}  # drafts are not exported
        st = store.status().set_index("group")
        assert st.loc["managers", "submitted"] == 1 and st.loc["managers", "started"] == 2


def test_bad_input_is_refused_or_capped(db_url):
    with SurveyStore(db_url) as store:
        _, t = store.create_survey("Acme", {"customers": 1})
        tok = t["token"][0]
        for bad in (0, 6, 99, -3, "5", 3.5):
            with pytest.raises(InvalidAnswer):
                store.save_answer(tok, "gap_trust_consent", bad)
        with pytest.raises(InvalidAnswer):
            store.save_answer(tok, "gap_org_incentives", 3)  # not asked of customers
        with pytest.raises(UnknownToken):
            store.save_answer("x" * 43, "gap_trust_consent", 3)
        with pytest.raises(UnknownToken):
            store.draft("'; DROP TABLE answers; --")
        stored, cut = store.save_comment(tok, "trust", "a" * 1_000_000)
        assert cut and len(stored) == COMMENT_MAX_CHARS
        assert store.draft(tok).comments["trust"] == "a" * COMMENT_MAX_CHARS
        assert store.draft(tok).answers == {}


def test_concurrent_submits_of_one_token_write_one_row(db_url):
    with SurveyStore(db_url) as store:
        _, t = store.create_survey("Acme", {"employees": 1})
        tok = t["token"][0]
        fill(store, tok, "employee")
    barrier = threading.Barrier(8)

    def attempt(_):
        with SurveyStore(db_url) as s:
            barrier.wait()
            try:
                s.submit(tok)
                return "ok"
            except AlreadySubmitted:
                return "refused"

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(attempt, range(8)))
    assert results.count("ok") == 1 and results.count("refused") == 7
    with SurveyStore(db_url) as store:
        assert store.count("submissions") == 1


def test_fifty_respondents_submitting_at_once_lose_nothing(db_url):
    """50 writers, each with its own engine (as each Voila kernel has), answer and submit at once."""
    with SurveyStore(db_url) as store:
        _, t = store.create_survey("Acme", {"managers": 10, "employees": 20, "customers": 20})
    audience = {"managers": "manager", "employees": "employee", "customers": "customer"}
    barrier = threading.Barrier(len(t))

    def respondent(row):
        group, token = row
        with SurveyStore(db_url) as s:
            barrier.wait()
            items = sorted(s.qs.required_items(audience[group]))
            for k, item in enumerate(items):
                s.save_answer(token, item, 1 + (k + len(group)) % 5)
            s.save_comment(token, "identify", f"comment of {token[:6]}")
            s.submit(token)
        return len(items)

    with ThreadPoolExecutor(len(t)) as pool:
        counts = list(pool.map(respondent, zip(t["group"], t["token"])))
    with SurveyStore(db_url) as store:
        got = store.answers()
        assert store.count("submissions") == 50
        assert len(got) == sum(counts)
        assert got.groupby("token").size().to_dict() == dict(zip(t["token"], counts))
        assert len(store.comments()) == 50
        st = store.status().set_index("group")["submitted"].to_dict()
        assert st == {"managers": 10, "employees": 20, "customers": 20}
