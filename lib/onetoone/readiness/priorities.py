"""Priorities: the survey scores, gaps and data turned into a short ranked list of starter activities.

Rules (docs/stages.md, section 5), each giving candidates with an urgency between 0 and about 5:

1. Foundation: each stage's weakness (5 - score) weighted by how many later stages depend on it
   (Identify x1.6, Differentiate x1.4, Interact x1.2, Customize x1.0). A stage that is weaker
   than a later one gets +0.5: later stages cannot outgrow it.
2. Gaps: a difference of at least ``gap_threshold`` points between groups on a stage or area
   (largest first): "what managers believe against what customers experience".
3. Beliefs against data: self-assessment higher than the data-measured score by at least
   ``gap_threshold`` (the data says the stage is weaker than people think).
4. The differentiation matrix (when known): the quadrant's emphasis adds +0.5 to its stage.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .model import STAGES

STARTERS: dict[str, tuple[str, ...]] = {
    "identify": ("Add customer identities from every channel to one record per customer.",
                 "Ask one or two questions at each contact and keep the answers.",
                 "Verify and purge records: merge duplicates, fix stale details."),
    "differentiate": ("Find the top customers and the money-losers.",
                      "Find large customers whose orders fell by half and visit them first.",
                      "Rank customers A/B/C by value and act on the ranking."),
    "interact": ("Call every valuable customer lost last year.",
                 "Treat inbound calls and complaints as chances to learn: record and use them.",
                 "Move routine contacts to cheaper automated channels; keep people for the valuable."),
    "customize": ("Pre-fill forms with what is already known.",
                  "Ask customers how and how often they want to hear from you.",
                  "Produce regional and subject catalog editions.",
                  "Send personalised mail from purchase history."),
}
"""Starter activities per stage (docs/stages.md, 'Starter activities')."""

AREA_STAGE: dict[str, str] = {
    "leadership": "interact", "organisation": "differentiate", "metrics": "differentiate",
    "technology": "identify", "processes": "interact", "trust": "customize",
}
"""Which stage's starter activities close a gap in a One-to-One Gap area."""

STAGE_WEIGHT = {"identify": 1.6, "differentiate": 1.4, "interact": 1.2, "customize": 1.0}

MATRIX_EMPHASIS: dict[str, tuple[str, str]] = {
    "low_low": ("identify", ("low value skew and low needs diversity: keep to mass marketing "
                                   "and build identification cheaply first")),
    "needs": ("customize", ("diverse needs, little value skew: customize cheaply, e.g. "
                                       "remember every customer's preferences")),
    "value": ("differentiate", ("high value skew, similar needs: value-based key-account "
                                      "treatment of the top customers")),
    "high_high": ("interact", "high value skew and diverse needs: full one-to-one"),
}
"""Differentiation-matrix quadrant (the keys of onetoone.differentiate.matrix.QUADRANTS) -> the
stage it puts first, and why."""


def rank_priorities(stage_scores: pd.Series, gaps: pd.DataFrame | None = None,
                    data_scores: pd.DataFrame | None = None, matrix_quadrant: str | None = None,
                    gap_threshold: float = 0.75, top: int = 6,
                    basis: str = "self-assessed") -> pd.DataFrame:
    """Ranked priorities with starter activities.

    Parameters
    ----------
    stage_scores
        Self-assessed Broad View score per stage (index: stage), e.g. from
        :func:`onetoone.readiness.scoring.overall_stage_scores`.
    gaps
        Output of :func:`onetoone.readiness.scoring.gaps`.
    data_scores
        Output of :func:`onetoone.readiness.data_readiness.stage_data_scores` (optional).
    matrix_quadrant
        One of :data:`MATRIX_EMPHASIS`'s keys, when Differentiate has placed the client.
    basis
        How ``stage_scores`` were obtained, for the reasons ("self-assessed", or "measured in
        the data" when a client has data but no survey yet).

    Returns
    -------
    DataFrame
        rank, stage, kind (foundation | gap | data | matrix), urgency, reason, activities
        (the stage's starter activities, '; '-joined). One row per stage and kind, best first.
    """
    cands: list[dict] = []
    scores = stage_scores.dropna()
    for i, stage in enumerate(STAGES):
        if stage not in scores:
            continue
        s = float(scores[stage])
        later = [scores[t] for t in STAGES[i + 1:] if t in scores]
        bonus = 0.5 if later and s < max(later) else 0.0
        urgency = (5 - s) * STAGE_WEIGHT[stage] + bonus
        reason = f"{stage.title()} {basis} at {s:.1f} of 5"
        if bonus:
            reason += "; weaker than a later stage that depends on it"
        cands.append({"stage": stage, "kind": "foundation", "urgency": urgency, "reason": reason})

    if gaps is not None and len(gaps):
        big = gaps[gaps["abs_gap"] >= gap_threshold]
        for _, g in big.iterrows():
            stage = g["section"] if g["section"] in STAGES else AREA_STAGE.get(g["section"])
            if stage is None:
                continue
            higher, lower = (g["group_a"], g["group_b"]) if g["gap"] > 0 else (g["group_b"], g["group_a"])
            cands.append({"stage": stage, "kind": "gap", "urgency": 1.0 + float(g["abs_gap"]),
                          "reason": f"{g['section_title']}: {higher} score {abs(g['gap']):.1f} points "
                                    f"higher than {lower}"})

    if data_scores is not None and len(data_scores):
        for _, d in data_scores.iterrows():
            if d["stage"] in scores and np.isfinite(d["data_score"]):
                diff = float(scores[d["stage"]]) - float(d["data_score"])
                if diff >= gap_threshold:
                    cands.append({"stage": d["stage"], "kind": "data", "urgency": 1.0 + diff,
                                  "reason": f"{d['stage'].title()}: respondents say "
                                            f"{scores[d['stage']]:.1f}, the data shows "
                                            f"{d['data_score']:.1f}"})

    if matrix_quadrant:
        if matrix_quadrant not in MATRIX_EMPHASIS:
            raise ValueError(f"unknown matrix quadrant {matrix_quadrant!r}; expected one of "
                             f"{list(MATRIX_EMPHASIS)}")
        stage, why = MATRIX_EMPHASIS[matrix_quadrant]
        cands.append({"stage": stage, "kind": "matrix", "urgency": 0.5 + (5 - float(scores.get(stage, 3))) / 4,
                      "reason": f"Differentiation matrix: {why}"})

    cols = ["rank", "stage", "kind", "urgency", "reason", "activities"]
    if not cands:
        return pd.DataFrame(columns=cols)
    out = pd.DataFrame(cands).sort_values("urgency", ascending=False, kind="stable")
    out = out.drop_duplicates(["stage", "kind"]).head(top).reset_index(drop=True)
    out["urgency"] = out["urgency"].round(2)
    out["activities"] = out["stage"].map(lambda s: "; ".join(STARTERS[s]))
    out.insert(0, "rank", range(1, len(out) + 1))
    return out[cols]
