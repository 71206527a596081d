"""Everything the consultant view and the batch report show, from one call.

``readiness_results(cfg)`` reads the survey store and (when it exists) the client's workspace
and returns scores, gaps, agreement, item means, data-measured readiness and priorities.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import data_readiness, priorities, scoring
from .store import SurveyStore


@dataclass
class ReadinessResults:
    """Scored readiness of one client (one survey)."""

    client: str
    survey_id: str | None
    status: pd.DataFrame
    answers: pd.DataFrame
    scores: pd.DataFrame
    profile: pd.DataFrame
    gaps: pd.DataFrame
    items: pd.DataFrame
    stage_scores: pd.Series
    data_measures: pd.DataFrame | None
    data_scores: pd.DataFrame | None
    priorities: pd.DataFrame
    comments: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def respondents(self) -> int:
        return int(self.answers["token"].nunique()) if len(self.answers) else 0

    def stage_table(self) -> pd.DataFrame:
        """Per stage: each group's self-assessment, the overall score and the data-measured score."""
        t = self.profile.copy()
        t["self_assessed"] = self.stage_scores
        if self.data_scores is not None:
            t = t.join(self.data_scores.set_index("stage")[["data_score"]], how="outer")
        return t.reindex([s for s in scoring.STAGES if s in t.index]).round(2)

    def figures(self) -> dict:
        """Plain numbers for the notebook's closing cell and the batch index."""
        out: dict = {"survey_id": self.survey_id or "", "respondents": self.respondents}
        for _, r in self.status.iterrows():
            out[f"submitted_{r['group']}"] = int(r["submitted"])
        for st, v in self.stage_scores.items():
            out[f"score_{st}"] = round(float(v), 2)
        if self.data_scores is not None:
            for _, r in self.data_scores.iterrows():
                if np.isfinite(r["data_score"]):
                    out[f"data_score_{r['stage']}"] = float(r["data_score"])
        if len(self.gaps):
            out["largest_gap"] = round(float(self.gaps["gap"].iloc[0]), 2)
            out["largest_gap_where"] = f"{self.gaps['section'].iloc[0]} ({self.gaps['pair'].iloc[0]})"
        if len(self.priorities):
            out["first_priority"] = f"{self.priorities['stage'].iloc[0]}: {self.priorities['reason'].iloc[0]}"
        return out

    def summary_text(self) -> str:
        lines = [(f"Readiness of {self.client} (survey {self.survey_id or 'none'}): "
                 f"{self.respondents} submitted respondents")]
        if len(self.status):
            lines.append(self.status.drop(columns=["survey_id"]).to_string(index=False))
        if self.respondents:
            lines += ["", "Stages (1-5):", self.stage_table().to_string()]
        if self.data_measures is not None:
            lines += ["", "Data-measured readiness:",
                      self.data_measures[["stage", "measure", "value", "score", "note"]]
                      .round(3).to_string(index=False)]
        if len(self.gaps):
            lines += ["", "Largest gaps:", self.gaps.head(5)[["section", "pair", "gap"]]
                      .round(2).to_string(index=False)]
        if len(self.priorities):
            lines += ["", "Priorities:"]
            for _, p in self.priorities.iterrows():
                lines.append(f"  {p['rank']}. [{p['stage']}, {p['kind']}] {p['reason']}\n"
                             f"     start with: {p['activities']}")
        else:
            lines += ["", "No priorities yet: no submitted answers."]
        return "\n".join(lines)


def readiness_results(cfg, survey_id: str | None = None, ws=None, store: SurveyStore | None = None,
                      matrix_quadrant: str | None = None, min_respondents_for_gap: int = 1
                      ) -> ReadinessResults:
    """Score a client's readiness survey and set it beside the data-measured readiness.

    Parameters
    ----------
    cfg
        The client's :class:`~onetoone.config.ClientConfig`.
    survey_id
        Which survey (the latest by default).
    ws
        An open workspace; when None the client's workspace file is opened read-only if it
        exists, and data-measured readiness is skipped when it does not.
    matrix_quadrant
        The client's place on the differentiation matrix, when known.
    """
    own_store = store is None
    if store is None:
        url = cfg.survey_db_url
        if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
            url = "sqlite://"  # no survey yet: score nothing, and create no file beside the config
        store = SurveyStore(url)
    try:
        sid = survey_id or store.latest_survey()
        status = store.status(sid) if sid else pd.DataFrame(columns=["survey_id", "group", "invited",
                                                                       "opened", "started", "submitted",
                                                                       "response_rate"])
        answers = store.answers(sid) if sid else store.answers("-")
        comments = store.comments(sid) if sid else pd.DataFrame(columns=["group", "section_id", "text"])
        qs = store.qs
    finally:
        if own_store:
            store.close()
    scores = scoring.group_scores(answers, qs)
    profile = scoring.stage_profile(scores)
    gaps = scoring.gaps(scores, min_respondents=min_respondents_for_gap)
    items = scoring.item_means(answers, qs)
    stage_scores = scoring.overall_stage_scores(scores)

    measures = stage = None
    own_ws = False
    if ws is None and cfg.workspace_path.exists():
        from ..workspace import Workspace

        try:
            ws = Workspace(cfg.workspace_path, read_only=True)
            own_ws = True
        except Exception:  # noqa: BLE001  (a workspace locked by a writer: skip, say so below)
            ws = None
    if ws is not None:
        try:
            measures = data_readiness.measure_data_readiness(ws)
            stage = data_readiness.stage_data_scores(measures)
            if matrix_quadrant is None and ws.has("client_position"):  # written by Differentiate
                q = ws.read("client_position")["quadrant"].iloc[0]
                matrix_quadrant = str(q) if isinstance(q, str) and q else None  # None: unknown
        finally:
            if own_ws:
                ws.close()
    if len(stage_scores.dropna()):
        prio = priorities.rank_priorities(stage_scores, gaps, stage, matrix_quadrant)
    elif stage is not None and stage["data_score"].notna().any():  # data, but no survey yet
        prio = priorities.rank_priorities(stage.set_index("stage")["data_score"], None, None,
                                          matrix_quadrant, basis="measured in the data")
    else:
        prio = priorities.rank_priorities(stage_scores)
    return ReadinessResults(client=cfg.client, survey_id=sid, status=status, answers=answers,
                            scores=scores, profile=profile, gaps=gaps, items=items,
                            stage_scores=stage_scores, data_measures=measures, data_scores=stage,
                            priorities=prio, comments=comments)
