"""The readiness questionnaires as validated data, and validation of one answer.

The questionnaires live in ``questionnaires.yaml`` beside this module. :func:`load_questionnaires`
reads and validates it (pydantic); every answer a respondent sends is checked here with
:func:`validate_answer` and :func:`cap_comment` before it reaches the store.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

AUDIENCES: tuple[str, ...] = ("manager", "employee", "customer")
"""Who answers: managers and employees see the company's wording, customers their own."""

GROUPS: dict[str, str] = {"managers": "manager", "employees": "employee", "customers": "customer"}
"""Respondent group (as in ``--group managers=10``) -> the audience whose wording it sees."""

STAGES: tuple[str, ...] = ("identify", "differentiate", "interact", "customize")
"""The four IDIC stages, in the order each depends on the one before."""

MIN_VALUE, MAX_VALUE = 1, 5
COMMENT_MAX_CHARS = 1000
"""Comments longer than this are cut to this length (and the respondent is told)."""

QUESTIONNAIRES_FILE = Path(__file__).with_name("questionnaires.yaml")


class QuestionnaireError(ValueError):
    """The questionnaire file is not usable."""


class InvalidAnswer(ValueError):
    """An answer that is not one the questionnaire allows (unknown item, value out of range)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Item(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]{1,60}$")
    wording: dict[Literal["manager", "employee", "customer"], str]
    levels: tuple[str, ...] | None = None
    customer_levels: tuple[str, ...] | None = None

    @model_validator(mode="after")
    def _check(self) -> Item:
        if not {"manager", "employee"} <= set(self.wording):
            raise ValueError(f"item {self.id}: needs a manager and an employee wording")
        for name in ("levels", "customer_levels"):
            lv = getattr(self, name)
            if lv is not None and len(lv) != MAX_VALUE:
                raise ValueError(f"item {self.id}: {name} needs {MAX_VALUE} levels, found {len(lv)}")
        if self.customer_levels is not None and "customer" not in self.wording:
            raise ValueError(f"item {self.id}: customer_levels without a customer wording")
        return self

    def asked_of(self, audience: str) -> bool:
        return audience in self.wording

    def options(self, audience: str, scale: tuple[str, ...] | None) -> tuple[str, ...]:
        """The five answer labels this audience sees, for answer values 1..5."""
        if self.levels is None:
            assert scale is not None
            return scale
        if audience == "customer" and self.customer_levels is not None:
            return self.customer_levels
        return self.levels


Audience = Literal["manager", "employee", "customer"]


class Section(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]{1,40}$")
    title: str
    audience_titles: dict[Audience, str] = Field(default_factory=dict)
    """What respondents of an audience see instead of ``title`` (``title`` stays the
    consultant's name for reports)."""
    items: tuple[Item, ...] = Field(min_length=1)

    def title_for(self, audience: str) -> str:
        return self.audience_titles.get(audience, self.title)


class Questionnaire(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]{1,40}$")
    title: str
    intro: str = ""
    audience_titles: dict[Audience, str] = Field(default_factory=dict)
    """Plain-language title per audience for the respondent's form (``title`` is for reports)."""
    audience_intros: dict[Audience, str] = Field(default_factory=dict)
    kind: Literal["levels", "scale"]
    scale: tuple[str, ...] | None = None
    sections: tuple[Section, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> Questionnaire:
        if self.kind == "scale" and (self.scale is None or len(self.scale) != MAX_VALUE):
            raise ValueError(f"questionnaire {self.id}: a scale questionnaire needs {MAX_VALUE} scale labels")
        for s in self.sections:
            for it in s.items:
                if self.kind == "levels" and it.levels is None:
                    raise ValueError(f"questionnaire {self.id}, item {it.id}: needs `levels`")
                if self.kind == "scale" and it.levels is not None:
                    raise ValueError(f"questionnaire {self.id}, item {it.id}: a scale item has no `levels`")
        return self

    def title_for(self, audience: str) -> str:
        return self.audience_titles.get(audience, self.title)

    def intro_for(self, audience: str) -> str:
        return self.audience_intros.get(audience, self.intro)

    def items(self, audience: str | None = None) -> list[tuple[Section, Item]]:
        return [(s, it) for s in self.sections for it in s.items
                if audience is None or it.asked_of(audience)]


class Questionnaires(_Strict):
    version: int
    minutes_per_item: float = Field(gt=0)
    audiences: tuple[str, ...]
    questionnaires: tuple[Questionnaire, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> Questionnaires:
        ids = [it.id for q in self.questionnaires for _, it in q.items()]
        ids += [s.id for q in self.questionnaires for s in q.sections]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"item and section ids must be unique; repeated: {dup}")
        if tuple(self.audiences) != AUDIENCES:
            raise ValueError(f"audiences must be {list(AUDIENCES)}, found {list(self.audiences)}")
        bv = self.get("broad_view") if "broad_view" in self.ids else None
        if bv is not None and tuple(s.id for s in bv.sections) != STAGES:
            raise ValueError(f"broad_view sections must be the stages {list(STAGES)}")
        return self

    @property
    def ids(self) -> list[str]:
        return [q.id for q in self.questionnaires]

    def get(self, qid: str) -> Questionnaire:
        for q in self.questionnaires:
            if q.id == qid:
                return q
        raise KeyError(f"no questionnaire {qid!r}; expected one of {self.ids}")

    def for_audience(self, audience: str) -> list[Questionnaire]:
        """The questionnaires (in order) that have at least one item for this audience."""
        return [q for q in self.questionnaires if q.items(audience)]

    def item_index(self) -> dict[str, tuple[Questionnaire, Section, Item]]:
        return {it.id: (q, s, it) for q in self.questionnaires for s, it in q.items()}

    def section_index(self) -> dict[str, tuple[Questionnaire, Section]]:
        return {s.id: (q, s) for q in self.questionnaires for s in q.sections}

    def required_items(self, audience: str) -> set[str]:
        return {it.id for q in self.questionnaires for _, it in q.items(audience)}

    def minutes(self, audience: str) -> int:
        n = len(self.required_items(audience))
        return max(1, round(n * self.minutes_per_item))

    def items_frame(self):
        """One row per item: questionnaire, section (stage or area), item, audiences."""
        import pandas as pd

        rows = [{"questionnaire": q.id, "section": s.id, "section_title": s.title, "item_id": it.id,
                 "item": it.wording["manager"], "audiences": ",".join(sorted(it.wording))}
                for q in self.questionnaires for s, it in q.items()]
        return pd.DataFrame(rows)


@lru_cache(maxsize=4)
def load_questionnaires(path: str | Path | None = None) -> Questionnaires:
    """Read and validate the questionnaire file (the packaged one by default).

    Raises
    ------
    QuestionnaireError
        The file is missing, not YAML, or breaks a rule; the message names the file and key.
    """
    path = Path(path) if path else QUESTIONNAIRES_FILE
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise QuestionnaireError(f"{path}: cannot read the questionnaires: {exc}") from None
    try:
        return Questionnaires.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise QuestionnaireError(f"{path}: invalid questionnaires: {problems}") from None


def validate_answer(qs: Questionnaires, audience: str, item_id: object, value: object) -> tuple[str, int]:
    """Check one answer as untrusted input; return ``(item_id, value)`` or raise InvalidAnswer.

    The item must exist and be asked of this audience; the value must be an integer 1..5
    (booleans, floats with a fraction, strings and None are refused).
    """
    if not isinstance(item_id, str) or item_id not in qs.item_index():
        raise InvalidAnswer(f"unknown item {str(item_id)[:80]!r}")
    _, _, item = qs.item_index()[item_id]
    if not item.asked_of(audience):
        raise InvalidAnswer(f"item {item_id} is not asked of {audience}s")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidAnswer(f"item {item_id}: expected an integer {MIN_VALUE}-{MAX_VALUE}, "
                            f"found {type(value).__name__}")
    if isinstance(value, float) and not value.is_integer():
        raise InvalidAnswer(f"item {item_id}: expected an integer, found {value!r}")
    v = int(value)
    if not MIN_VALUE <= v <= MAX_VALUE:
        raise InvalidAnswer(f"item {item_id}: expected {MIN_VALUE}-{MAX_VALUE}, found {v}")
    return item_id, v


def cap_comment(text: object) -> tuple[str, bool]:
    """A comment as stored: a string without NULs, at most COMMENT_MAX_CHARS; ``(text, was_cut)``."""
    if text is None:
        return "", False
    if not isinstance(text, str):
        raise InvalidAnswer(f"a comment must be text, found {type(text).__name__}")
    clean = text.replace("\x00", "").strip()
    if len(clean) > COMMENT_MAX_CHARS:
        return clean[:COMMENT_MAX_CHARS], True
    return clean, False
