"""Progressive profiling: the next one or two questions worth asking each customer.

"Ask one or two questions at every contact." A question is worth asking when the answer is
missing and knowing it would change what we do with that customer. Each attribute has an
impact per tier (:data:`IMPACT`, 0..1) that says how much the answer changes our treatment:
a phone number lets a person call a most valuable customer, an email moves a below-zero
customer to the cheapest channel, interests decide what to offer a growable one. Questions
asked recently (``ask_again_days``) are not asked again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import ibis
import numpy as np
import pandas as pd

from .. import columns as C

QUESTIONS: dict[str, str] = {
    "preferred_channel": "How would you like us to keep in touch: email, text, phone or post?",
    "email": "May we have your email address, for receipts and offers?",
    "phone": "What is the best number to reach you on?",
    "interests": "Which of our ranges interest you most?",
    "household_size": "How many people live in your household?",
    "address": "What is your postal address, for deliveries and our catalogue?",
    "birth_date": "When is your birthday? We like to send a small gift.",
}
"""The question behind each profile attribute (``address`` = street and postcode)."""

IMPACT: dict[str, dict[str, float]] = {
    # which channel to use for every later contact
    "preferred_channel": {"MVC": 1.0, "MGC": 0.8, "maintain": 0.5, "BZ": 0.6},
    # opens the cheapest channel: serving a below-zero customer by email instead of post/phone
    "email": {"MVC": 0.5, "MGC": 0.8, "maintain": 0.8, "BZ": 1.0},
    # lets a person call the most valuable customers
    "phone": {"MVC": 1.0, "MGC": 0.6, "maintain": 0.2, "BZ": 0.1},
    # decides what to offer a growable customer
    "interests": {"MVC": 0.8, "MGC": 1.0, "maintain": 0.6, "BZ": 0.2},
    # configurations and quantities (furniture, tableware)
    "household_size": {"MVC": 0.5, "MGC": 0.7, "maintain": 0.4, "BZ": 0.1},
    # post and the regional catalogue edition
    "address": {"MVC": 0.6, "MGC": 0.5, "maintain": 0.3, "BZ": 0.1},
    # a birthday gift: nice, rarely decisive
    "birth_date": {"MVC": 0.4, "MGC": 0.4, "maintain": 0.3, "BZ": 0.1},
}
"""How much knowing each attribute changes what we do, by tier (0 = nothing, 1 = a lot)."""

_COLUMNS = {"email": (C.EMAIL,), "phone": (C.PHONE,), "address": (C.STREET, C.POSTCODE),
            "birth_date": (C.BIRTH_DATE,), "household_size": (C.HOUSEHOLD_SIZE,),
            "preferred_channel": (C.PREFERRED_CHANNEL,), "interests": (C.INTERESTS,)}
_TOPIC_ALIASES = {"street": "address", "postcode": "address", "postal_address": "address"}


def _known(profile: pd.DataFrame, cols: tuple[str, ...]) -> np.ndarray:
    ok = np.ones(len(profile), bool)
    for c in cols:
        if c not in profile.columns:
            return np.zeros(len(profile), bool)
        s = profile[c]
        v = s.notna().to_numpy(copy=True)
        if s.dtype == object or str(s.dtype).startswith(("str", "string")):
            v = v & s.astype("str").str.strip().ne("").to_numpy()
        ok &= v
    return ok


def recently_asked(interactions: ibis.Table | None, as_of: dt.date | str, ask_again_days: int = 180,
                   *, customer_id: str = C.CUSTOMER_ID, date: str = C.DATE,
                   kind: str = C.INTERACTION_TYPE, topic: str = C.TOPIC,
                   outcome: str = C.OUTCOME) -> pd.DataFrame:
    """(customer_id, attribute, last_asked, last_outcome) of questions asked in the window."""
    cols = [customer_id, "attribute", "last_asked", "last_outcome"]
    if interactions is None:
        return pd.DataFrame(columns=cols)
    start = pd.Timestamp(as_of) + pd.Timedelta(days=1) - pd.Timedelta(days=ask_again_days)
    t = interactions.filter((interactions[kind] == "question") & interactions[topic].notnull()
                            & (interactions[date] >= ibis.timestamp(start)))
    g = t.group_by([t[customer_id].cast("string").name(customer_id), t[topic].name("attribute")]
                   ).aggregate(last_asked=t[date].max(),
                               last_outcome=t[outcome].argmax(t[date]))
    df = g.to_pandas()
    df["attribute"] = df["attribute"].replace(_TOPIC_ALIASES)
    return df[cols]


def next_questions(profile: pd.DataFrame, tiers: pd.Series | None = None,
                   asked: pd.DataFrame | None = None, *, k: int = 2,
                   impact: Mapping[str, Mapping[str, float]] | None = None,
                   consented_channels: pd.Series | None = None,
                   customer_id: str = C.CUSTOMER_ID) -> pd.DataFrame:
    """The ``k`` most useful unanswered questions per customer.

    Parameters
    ----------
    profile
        One row per customer: customer_id and the customer-record columns (missing columns
        count as unknown).
    tiers
        Tier per customer_id (default: everyone ``maintain``).
    asked
        Output of :func:`recently_asked`: those (customer, attribute) pairs are skipped.
    consented_channels
        Number of channels each customer opted in to (by customer_id): the preferred channel
        only matters when there is a choice, so its impact halves with one channel or none.

    Returns
    -------
    pandas.DataFrame
        customer_id, missing (how many attributes are unknown), question_1, question_1_score,
        question_1_text, question_2, question_2_score, question_2_text (None when nothing is
        worth asking).
    """
    impact = IMPACT if impact is None else impact
    n = len(profile)
    cid = profile[customer_id].astype("str")
    tier = (cid.map(tiers).fillna("maintain") if tiers is not None
            else pd.Series("maintain", index=profile.index))
    attrs = list(impact)
    scores = np.zeros((n, len(attrs)))
    missing = np.zeros(n, int)
    asked_set = None
    if asked is not None and len(asked):
        asked_set = pd.MultiIndex.from_arrays([asked[customer_id].astype("str"),
                                               asked["attribute"].astype("str")])
    for j, a in enumerate(attrs):
        unknown = ~_known(profile, _COLUMNS.get(a, (a,)))
        missing += unknown
        w = tier.map({t: float(v) for t, v in impact[a].items()}).fillna(
            float(impact[a].get("maintain", 0.5))).to_numpy()
        if a == "preferred_channel" and consented_channels is not None:
            w = w * np.where(cid.map(consented_channels).fillna(0).to_numpy() >= 2, 1.0, 0.5)
        s = np.where(unknown, w, 0.0)
        if asked_set is not None:
            was = pd.MultiIndex.from_arrays([cid, pd.Series(a, index=cid.index)]).isin(asked_set)
            s = np.where(was, 0.0, s)
        scores[:, j] = s
    order = np.argsort(-scores, axis=1, kind="stable")
    out = pd.DataFrame({customer_id: cid.to_numpy(), "missing": missing})
    names = np.array(attrs, dtype=object)
    for i in range(k):
        col = order[:, i] if i < len(attrs) else np.zeros(n, int)
        sc = scores[np.arange(n), col] if i < len(attrs) else np.zeros(n)
        q = np.where(sc > 0, names[col], None)
        out[f"question_{i + 1}"] = q
        out[f"question_{i + 1}_score"] = sc
        out[f"question_{i + 1}_text"] = pd.Series(q).map(QUESTIONS).to_numpy()
    return out


def question_summary(questions: pd.DataFrame) -> pd.DataFrame:
    """How often each attribute is the first or second question, and its mean score."""
    parts = []
    for i in (1, 2):
        c = f"question_{i}"
        if c in questions.columns:
            q = questions[questions[c].notna()]
            parts.append(q.groupby(c).agg(**{"first_choice" if i == 1 else "second_choice":
                                             (c, "size")}))
    if not parts:
        return pd.DataFrame(columns=["attribute", "first_choice", "second_choice"])
    out = pd.concat(parts, axis=1).fillna(0).astype(int).rename_axis("attribute").reset_index()
    for c in ("first_choice", "second_choice"):
        if c not in out.columns:
            out[c] = 0
    out["question"] = out["attribute"].map(QUESTIONS)
    return out.sort_values(["first_choice", "second_choice"], ascending=False).reset_index(drop=True)
