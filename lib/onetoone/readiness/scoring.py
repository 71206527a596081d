"""Scores of the readiness survey: per stage and area, per respondent group; gaps; agreement.

Input is the store's long answer table (one row per respondent and item: ``token``, ``group``,
``questionnaire``, ``section``, ``item_id``, ``value``). A respondent's section score is the mean
of their answers in that section; a group's score is the mean over its respondents.

Agreement within a group uses r_wg (James, Demaree & Wolf 1984): 1 - observed variance /
the variance of random answers on a 5-point scale (2.0), clipped to 0..1. 1 means everyone
gave the same answer; about 0.7 or more is usually read as agreement.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .model import GROUPS, STAGES, Questionnaires, load_questionnaires

UNIFORM_VARIANCE_5 = (5**2 - 1) / 12
"""Variance of answers picked at random, uniformly, from 1..5: the r_wg null."""

GAP_PAIRS: tuple[tuple[str, str], ...] = (("managers", "customers"), ("managers", "employees"),
                                           ("employees", "customers"))
"""Pairs of groups whose difference is reported: what one believes against what the other sees."""


def respondent_scores(answers: pd.DataFrame, *, token: str = "token", group: str = "group",
                      questionnaire: str = "questionnaire", section: str = "section",
                      value: str = "value") -> pd.DataFrame:
    """Each respondent's mean score per section (stage or area)."""
    if answers.empty:
        return pd.DataFrame(columns=[token, group, questionnaire, section, "score", "n_items"])
    out = (answers.groupby([token, group, questionnaire, section], observed=True)[value]
           .agg(score="mean", n_items="size").reset_index())
    return out


def group_scores(answers: pd.DataFrame, qs: Questionnaires | None = None, *, group: str = "group",
                 questionnaire: str = "questionnaire", section: str = "section") -> pd.DataFrame:
    """Score per questionnaire, section and group.

    Returns
    -------
    DataFrame
        questionnaire, section, section_title, group, respondents, score (mean of respondents'
        section means), sd, rwg (agreement 0..1; NaN with fewer than 2 respondents), low, high
        (a 95 % interval of the mean, t-based).
    """
    from scipy import stats

    qs = qs or load_questionnaires()
    per = respondent_scores(answers, group=group, questionnaire=questionnaire, section=section)
    cols = [questionnaire, section, "section_title", group, "respondents", "score", "sd", "rwg",
            "low", "high"]
    if per.empty:
        return pd.DataFrame(columns=cols)
    g = per.groupby([questionnaire, section, group], observed=True)["score"]
    out = g.agg(respondents="size", score="mean", sd="std").reset_index()
    # agreement on the raw item answers (not on section means): mean item variance within the group
    item_var = (answers.groupby([questionnaire, section, group, "item_id"], observed=True)["value"]
                .var(ddof=1).groupby(level=[0, 1, 2], observed=True).mean().rename("item_var"))
    out = out.merge(item_var.reset_index(), on=[questionnaire, section, group], how="left")
    out["rwg"] = (1 - out["item_var"] / UNIFORM_VARIANCE_5).clip(0, 1)
    out.loc[out["respondents"] < 2, "rwg"] = np.nan
    n = out["respondents"]
    half = stats.t.ppf(0.975, np.maximum(n - 1, 1)) * out["sd"] / np.sqrt(n)
    out["low"] = (out["score"] - half).where(n > 1)
    out["high"] = (out["score"] + half).where(n > 1)
    titles = {s.id: s.title for q in qs.questionnaires for s in q.sections}
    out["section_title"] = out[section].map(titles)
    order = {s.id: i for i, s in enumerate(s for q in qs.questionnaires for s in q.sections)}
    gorder = {g_: i for i, g_ in enumerate(GROUPS)}
    out = out.sort_values([section, group], key=lambda s: s.map(order) if s.name == section
                          else s.map(gorder)).reset_index(drop=True)
    return out[cols]


def stage_profile(scores: pd.DataFrame) -> pd.DataFrame:
    """Broad View scores as a table: one row per stage (in IDIC order), one column per group."""
    bv = scores[scores["questionnaire"] == "broad_view"]
    wide = bv.pivot_table(index="section", columns="group", values="score", observed=True)
    wide = wide.reindex([s for s in STAGES if s in wide.index])
    return wide[[g for g in GROUPS if g in wide.columns]]


def gaps(scores: pd.DataFrame, pairs: tuple[tuple[str, str], ...] = GAP_PAIRS,
         min_respondents: int = 1) -> pd.DataFrame:
    """The difference between groups per section: ``gap = score(a) - score(b)``.

    A positive manager-customer gap means managers believe more than customers experience.
    Returns questionnaire, section, section_title, pair, group_a, group_b, score_a, score_b, gap,
    abs_gap; sorted by abs_gap, largest first.
    """
    cols = ["questionnaire", "section", "section_title", "pair", "group_a", "group_b", "score_a",
            "score_b", "gap", "abs_gap"]
    s = scores[scores["respondents"] >= min_respondents]
    rows = []
    for a, b in pairs:
        sa_ = s[s["group"] == a].set_index(["questionnaire", "section"])
        sb_ = s[s["group"] == b].set_index(["questionnaire", "section"])
        both = sa_.index.intersection(sb_.index)
        for key in both:
            ra, rb = sa_.loc[key], sb_.loc[key]
            rows.append({"questionnaire": key[0], "section": key[1], "section_title": ra["section_title"],
                         "pair": f"{a} - {b}", "group_a": a, "group_b": b, "score_a": ra["score"],
                         "score_b": rb["score"], "gap": ra["score"] - rb["score"]})
    out = pd.DataFrame(rows, columns=cols[:-1])
    out["abs_gap"] = out["gap"].abs()
    return out.sort_values("abs_gap", ascending=False, kind="stable").reset_index(drop=True)


def item_means(answers: pd.DataFrame, qs: Questionnaires | None = None) -> pd.DataFrame:
    """Mean answer per item and group (for the heatmap): item_id, section, questionnaire, item, group, mean, n."""
    qs = qs or load_questionnaires()
    cols = ["questionnaire", "section", "item_id", "item", "group", "mean", "n"]
    if answers.empty:
        return pd.DataFrame(columns=cols)
    out = (answers.groupby(["questionnaire", "section", "item_id", "group"], observed=True)["value"]
           .agg(mean="mean", n="size").reset_index())
    idx = qs.item_index()
    out["item"] = out["item_id"].map(lambda i: idx[i][2].wording["manager"] if i in idx else i)
    order = {it.id: k for k, it in enumerate(it for q in qs.questionnaires for _, it in q.items())}
    gorder = {g: k for k, g in enumerate(GROUPS)}
    out = out.sort_values(["item_id", "group"], key=lambda s: s.map(order) if s.name == "item_id"
                          else s.map(gorder)).reset_index(drop=True)
    return out[cols]


def overall_stage_scores(scores: pd.DataFrame, weights: dict[str, float] | None = None) -> pd.Series:
    """One self-assessed score per stage across groups (mean of the groups' means, each group
    weighted equally unless ``weights`` says otherwise)."""
    bv = scores[scores["questionnaire"] == "broad_view"].copy()
    if bv.empty:
        return pd.Series(dtype=float, name="score")
    w = weights or {}
    bv["w"] = bv["group"].map(lambda g: w.get(g, 1.0))
    out = bv.groupby("section").apply(lambda d: np.average(d["score"], weights=d["w"]),
                                      include_groups=False)
    return out.reindex([s for s in STAGES if s in out.index]).rename("score")
