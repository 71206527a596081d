"""The survey responses store: SQLAlchemy on SQLite (WAL, a file per client) or PostgreSQL.

Tables are created on first use. Every value is validated here, in Python, whatever the
browser sent: a token reads and writes only its own draft, an answer must be one the
questionnaire allows, comments are capped, and a token submits once (a conditional update
in one transaction, so two concurrent submits cannot both win).

::

    store = SurveyStore(cfg.survey_db_url)
    survey_id, links = store.create_survey("Acme", {"managers": 10, "customers": 100})
    store.save_answer(token, "bv_identify_channels", 3)
    store.submit(token)
"""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Self

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError, OperationalError

from .model import (
    GROUPS,
    InvalidAnswer,
    Questionnaires,
    cap_comment,
    load_questionnaires,
    validate_answer,
)

if TYPE_CHECKING:  # pandas is imported lazily: a respondent's kernel never needs it
    import pandas as pd

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
MAX_RESPONDENTS_PER_GROUP = 100_000

metadata = sa.MetaData()

surveys = sa.Table(
    "surveys", metadata,
    sa.Column("survey_id", sa.String(40), primary_key=True),
    sa.Column("client", sa.String(200), nullable=False),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
respondents = sa.Table(
    "respondents", metadata,
    sa.Column("token", sa.String(64), primary_key=True),
    sa.Column("survey_id", sa.String(40), sa.ForeignKey("surveys.survey_id"), nullable=False, index=True),
    sa.Column("group", sa.String(20), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("opened_at", sa.DateTime(timezone=True)),
    sa.Column("submitted_at", sa.DateTime(timezone=True)),
)
answers = sa.Table(
    "answers", metadata,
    sa.Column("token", sa.String(64), sa.ForeignKey("respondents.token"), primary_key=True),
    sa.Column("item_id", sa.String(64), primary_key=True),
    sa.Column("value", sa.SmallInteger, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("value BETWEEN 1 AND 5", name="answer_value_range"),
)
comments = sa.Table(
    "comments", metadata,
    sa.Column("token", sa.String(64), sa.ForeignKey("respondents.token"), primary_key=True),
    sa.Column("section_id", sa.String(64), primary_key=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
submissions = sa.Table(
    "submissions", metadata,
    sa.Column("token", sa.String(64), sa.ForeignKey("respondents.token"), primary_key=True),
    sa.Column("survey_id", sa.String(40), nullable=False, index=True),
    sa.Column("group", sa.String(20), nullable=False),
    sa.Column("n_answers", sa.Integer, nullable=False),
    sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
)


survey_links = sa.Table(
    "survey_links", metadata,
    sa.Column("survey_id", sa.String(40), sa.ForeignKey("surveys.survey_id"), primary_key=True),
    sa.Column("base_url", sa.String(500), nullable=False),
)
"""The address the survey's personal links point at (``survey serve`` checks it)."""


class SurveyError(Exception):
    """Base of the store's refusals; the message is safe to show a respondent."""


class UnknownToken(SurveyError):
    """The link's token is not one we issued."""


class AlreadySubmitted(SurveyError):
    """The token has already submitted; its answers can no longer change."""


class Incomplete(SurveyError):
    """Submit was asked before every required item was answered."""

    def __init__(self, missing: list[str]):
        self.missing = missing
        super().__init__(f"{len(missing)} required answer(s) missing")


@dataclass(frozen=True)
class Respondent:
    token: str
    survey_id: str
    group: str
    client: str
    title: str
    submitted_at: dt.datetime | None

    @property
    def audience(self) -> str:
        return GROUPS[self.group]


@dataclass
class Draft:
    answers: dict[str, int] = field(default_factory=dict)
    comments: dict[str, str] = field(default_factory=dict)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_token() -> str:
    """An unguessable respondent token: 256 random bits, URL-safe (43 characters)."""
    return secrets.token_urlsafe(32)


def _private_sqlite_file(url: str) -> None:
    """Create the SQLite file 0600 (it holds every token), or make an existing one 0600.

    SQLite creates its -wal and -shm files with the database file's permissions."""
    db = sa.engine.make_url(url).database
    if not db or db == ":memory:" or db.startswith("file:"):
        return
    path = os.path.abspath(db)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    for p in (path, path + "-wal", path + "-shm"):
        if os.path.exists(p):
            os.chmod(p, 0o600)


def make_engine(url: str) -> sa.Engine:
    """An engine for the survey DB. SQLite gets WAL, a busy timeout and BEGIN IMMEDIATE writes."""
    if url.startswith("sqlite"):
        memory = url in ("sqlite://", "sqlite:///:memory:")
        if not memory:
            _private_sqlite_file(url)
        pool = {"poolclass": sa.pool.StaticPool} if memory else {
            "poolclass": sa.pool.QueuePool, "pool_size": 2, "max_overflow": 4}
        engine = sa.create_engine(url, connect_args={"timeout": 60, "check_same_thread": False}, **pool)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):
            dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn):
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # take the write lock up front: no upgrade deadlock

        return engine
    return sa.create_engine(url, pool_size=2, max_overflow=4, pool_pre_ping=True)


class SurveyStore:
    """Responses of one client's readiness surveys.

    Parameters
    ----------
    url
        SQLAlchemy URL: ``sqlite:////path/client_survey.sqlite`` or
        ``postgresql+psycopg://user@host:port/db`` (see ``ClientConfig.survey_db_url``).
    questionnaires
        The questionnaires answers are validated against (the packaged ones by default).
    """

    def __init__(self, url: str, questionnaires: Questionnaires | None = None):
        self.url = url
        self.qs = questionnaires or load_questionnaires()
        self.engine = make_engine(url)
        self._create_tables()

    @classmethod
    def from_config(cls, cfg) -> SurveyStore:
        return cls(cfg.survey_db_url)

    def _create_tables(self) -> None:
        for attempt in range(5):  # several kernels may create the tables at the same moment
            try:
                metadata.create_all(self.engine, checkfirst=True)
                return
            except (IntegrityError, OperationalError, sa.exc.ProgrammingError):
                if attempt == 4:
                    raise
                time.sleep(0.2 * (attempt + 1))

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _upsert(self, table: sa.Table, keys: list[str], values: dict):
        if self.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        stmt = insert(table).values(**values)
        return stmt.on_conflict_do_update(
            index_elements=keys, set_={k: stmt.excluded[k] for k in values if k not in keys})

    # -- administration --------------------------------------------------------------------
    def create_survey(self, client: str, groups: dict[str, int], title: str | None = None,
                      base_url: str | None = None) -> tuple[str, pd.DataFrame]:
        """Create a survey and one unguessable token per invited respondent.

        Returns
        -------
        survey_id, tokens
            ``tokens`` has columns survey_id, group, token (one row per respondent).
        """
        import pandas as pd

        bad = sorted(set(groups) - set(GROUPS))
        if bad:
            raise ValueError(f"unknown respondent group(s) {bad}; expected some of {list(GROUPS)}")
        for g, n in groups.items():
            if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n <= MAX_RESPONDENTS_PER_GROUP:
                raise ValueError(f"group {g}: expected a count 0-{MAX_RESPONDENTS_PER_GROUP}, found {n!r}")
        if sum(groups.values()) == 0:
            raise ValueError("expected at least one respondent in some group, found none")
        now = _now()
        survey_id = now.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)
        rows = [{"token": new_token(), "survey_id": survey_id, "group": g, "created_at": now}
                for g, n in groups.items() for _ in range(n)]
        with self.engine.begin() as con:
            con.execute(surveys.insert().values(survey_id=survey_id, client=client[:200],
                                                title=(title or f"Readiness survey for {client}")[:200],
                                                created_at=now))
            con.execute(respondents.insert(), rows)
            if base_url:
                con.execute(survey_links.insert().values(survey_id=survey_id, base_url=base_url[:500]))
        return survey_id, pd.DataFrame(rows)[["survey_id", "group", "token"]]

    def surveys(self) -> pd.DataFrame:
        import pandas as pd

        with self.engine.connect() as con:
            return pd.DataFrame(con.execute(surveys.select().order_by(surveys.c.created_at)).mappings().all(),
                                columns=[c.name for c in surveys.columns])

    def base_url(self, survey_id: str | None = None) -> str | None:
        """The address the survey's links were made with (None for surveys made before it was kept)."""
        sid = self._survey(survey_id)
        with self.engine.connect() as con:
            return con.execute(sa.select(survey_links.c.base_url)
                               .where(survey_links.c.survey_id == sid)).scalar()

    def has_survey(self, survey_id: str) -> bool:
        with self.engine.connect() as con:
            return con.execute(sa.select(surveys.c.survey_id)
                               .where(surveys.c.survey_id == str(survey_id)[:40])).first() is not None

    def latest_survey(self) -> str | None:
        with self.engine.connect() as con:
            return con.execute(sa.select(surveys.c.survey_id)
                               .order_by(surveys.c.created_at.desc(), surveys.c.survey_id.desc())
                               .limit(1)).scalar()

    # -- one respondent ----------------------------------------------------------------------
    def respondent(self, token: object) -> Respondent | None:
        """The respondent behind a token, or None for anything we did not issue."""
        if not isinstance(token, str) or not TOKEN_RE.match(token):
            return None
        q = (sa.select(respondents.c.token, respondents.c.survey_id, respondents.c.group,
                       surveys.c.client, surveys.c.title, respondents.c.submitted_at)
             .join(surveys, surveys.c.survey_id == respondents.c.survey_id)
             .where(respondents.c.token == token))
        with self.engine.connect() as con:
            row = con.execute(q).first()
        return Respondent(*row) if row else None

    def _open(self, token: object) -> Respondent:
        r = self.respondent(token)
        if r is None:
            raise UnknownToken("this link is not valid")
        if r.submitted_at is not None:
            raise AlreadySubmitted("this survey has already been submitted")
        return r

    def mark_opened(self, token: str) -> None:
        r = self.respondent(token)
        if r is None:
            return
        with self.engine.begin() as con:
            con.execute(respondents.update().where(respondents.c.token == token,
                                                   respondents.c.opened_at.is_(None))
                        .values(opened_at=_now()))

    def draft(self, token: str) -> Draft:
        """The token's own saved answers and comments (nothing of anyone else's)."""
        r = self.respondent(token)
        if r is None:
            raise UnknownToken("this link is not valid")
        with self.engine.connect() as con:
            a = con.execute(sa.select(answers.c.item_id, answers.c.value)
                            .where(answers.c.token == token)).all()
            c = con.execute(sa.select(comments.c.section_id, comments.c.text)
                            .where(comments.c.token == token)).all()
        return Draft(answers={k: int(v) for k, v in a}, comments=dict(c))

    def save_answer(self, token: str, item_id: object, value: object) -> None:
        """Validate and save (or change) one answer of a draft.

        Raises
        ------
        UnknownToken, AlreadySubmitted, InvalidAnswer
        """
        r = self._open(token)
        item_id, v = validate_answer(self.qs, r.audience, item_id, value)
        with self.engine.begin() as con:
            still_open = con.execute(sa.select(respondents.c.submitted_at)
                                     .where(respondents.c.token == token)).scalar() is None
            if not still_open:
                raise AlreadySubmitted("this survey has already been submitted")
            con.execute(self._upsert(answers, ["token", "item_id"],
                                     {"token": token, "item_id": item_id, "value": v,
                                      "updated_at": _now()}))

    def clear_answer(self, token: str, item_id: str) -> None:
        self._open(token)
        with self.engine.begin() as con:
            con.execute(answers.delete().where(answers.c.token == token, answers.c.item_id == item_id))

    def save_comment(self, token: str, section_id: object, text: object) -> tuple[str, bool]:
        """Save a section's optional comment, capped; returns ``(stored text, was_cut)``."""
        self._open(token)
        if not isinstance(section_id, str) or section_id not in self.qs.section_index():
            raise InvalidAnswer(f"unknown section {str(section_id)[:80]!r}")
        clean, cut = cap_comment(text)
        with self.engine.begin() as con:
            if con.execute(sa.select(respondents.c.submitted_at)
                           .where(respondents.c.token == token)).scalar() is not None:
                raise AlreadySubmitted("this survey has already been submitted")
            if clean:
                con.execute(self._upsert(comments, ["token", "section_id"],
                                         {"token": token, "section_id": section_id, "text": clean,
                                          "updated_at": _now()}))
            else:
                con.execute(comments.delete().where(comments.c.token == token,
                                                    comments.c.section_id == section_id))
        return clean, cut

    def missing(self, token: str) -> list[str]:
        r = self.respondent(token)
        if r is None:
            raise UnknownToken("this link is not valid")
        required = self.qs.required_items(r.audience)
        have = set(self.draft(token).answers)
        order = [it.id for q in self.qs.questionnaires for _, it in q.items(r.audience)]
        return [i for i in order if i in required - have]

    def submit(self, token: str) -> dt.datetime:
        """Close the draft: every required item answered, once per token, atomically.

        Raises
        ------
        UnknownToken, AlreadySubmitted, Incomplete
        """
        r = self._open(token)
        missing = self.missing(token)
        if missing:
            raise Incomplete(missing)
        now = _now()
        with self.engine.begin() as con:
            n = con.execute(respondents.update()
                            .where(respondents.c.token == token, respondents.c.submitted_at.is_(None))
                            .values(submitted_at=now)).rowcount
            if n != 1:
                raise AlreadySubmitted("this survey has already been submitted")
            n_answers = con.execute(sa.select(sa.func.count()).select_from(answers)
                                    .where(answers.c.token == token)).scalar()
            con.execute(submissions.insert().values(token=token, survey_id=r.survey_id, group=r.group,
                                                    n_answers=int(n_answers), submitted_at=now))
        return now

    # -- reading for status, export, scoring --------------------------------------------------
    def _survey(self, survey_id: str | None) -> str | None:
        return survey_id or self.latest_survey()

    def status(self, survey_id: str | None = None) -> pd.DataFrame:
        """Per group: invited, opened, started (some answer saved), submitted, response rate."""
        import pandas as pd

        sid = self._survey(survey_id)
        started = sa.select(answers.c.token).distinct().subquery()
        q = (sa.select(respondents.c.group,
                       sa.func.count().label("invited"),
                       sa.func.count(respondents.c.opened_at).label("opened"),
                       sa.func.count(started.c.token).label("started"),
                       sa.func.count(respondents.c.submitted_at).label("submitted"))
             .select_from(respondents.outerjoin(started, started.c.token == respondents.c.token))
             .where(respondents.c.survey_id == sid).group_by(respondents.c.group))
        with self.engine.connect() as con:
            df = pd.DataFrame(con.execute(q).mappings().all(),
                              columns=["group", "invited", "opened", "started", "submitted"])
        order = {g: i for i, g in enumerate(GROUPS)}
        df = df.sort_values("group", key=lambda s: s.map(order)).reset_index(drop=True)
        df["response_rate"] = (df["submitted"] / df["invited"]).round(3)
        df.insert(0, "survey_id", sid)
        return df

    def answers(self, survey_id: str | None = None, submitted_only: bool = True) -> pd.DataFrame:
        """Long table of answers: survey_id, respondent (token), group, questionnaire, section,
        item_id, value."""
        import pandas as pd

        sid = self._survey(survey_id)
        q = (sa.select(respondents.c.survey_id, answers.c.token, respondents.c.group,
                       answers.c.item_id, answers.c.value)
             .join(respondents, respondents.c.token == answers.c.token)
             .where(respondents.c.survey_id == sid))
        if submitted_only:
            q = q.where(respondents.c.submitted_at.is_not(None))
        with self.engine.connect() as con:
            df = pd.DataFrame(con.execute(q).mappings().all(),
                              columns=["survey_id", "token", "group", "item_id", "value"])
        idx = self.qs.item_index()
        df["questionnaire"] = df["item_id"].map(lambda i: idx[i][0].id if i in idx else None)
        df["section"] = df["item_id"].map(lambda i: idx[i][1].id if i in idx else None)
        df["value"] = df["value"].astype("int64")
        return df[["survey_id", "token", "group", "questionnaire", "section", "item_id", "value"]]

    def comments(self, survey_id: str | None = None) -> pd.DataFrame:
        import pandas as pd

        sid = self._survey(survey_id)
        q = (sa.select(respondents.c.group, comments.c.section_id, comments.c.text)
             .join(respondents, respondents.c.token == comments.c.token)
             .where(respondents.c.survey_id == sid, respondents.c.submitted_at.is_not(None)))
        with self.engine.connect() as con:
            return pd.DataFrame(con.execute(q).mappings().all(), columns=["group", "section_id", "text"])

    def count(self, table: str) -> int:
        t = metadata.tables[table]
        with self.engine.connect() as con:
            return int(con.execute(sa.select(sa.func.count()).select_from(t)).scalar())


__all__ = [
    "AlreadySubmitted",
    "Draft",
    "Incomplete",
    "InvalidAnswer",
    "Respondent",
    "SurveyError",
    "SurveyStore",
    "UnknownToken",
    "make_engine",
    "new_token",
]
