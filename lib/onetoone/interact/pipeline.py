"""Interact, end to end: inputs from the workspace, the contact plan, the lists, the tables.

``onetoone run interact CONFIG`` calls :func:`run`; the notebook calls the same pieces one by
one. Tables written: ``contact_plan`` (the stage contract), ``contact_breaches``,
``lost_valuable``, ``repeat_complainers``, ``channel_volumes``, ``response_rates``,
``profile_questions``.
"""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import columns as C
from .. import masking
from ..differentiate.tiers import FALLBACK_RULE
from ..workspace import Workspace
from . import channels, data, lists, nba, policy, profiling

EXPORT_COLUMNS = ("customer_id", "action", "channel", C.PRIORITY, C.PLANNED_DATE, "message",
                  C.EXPECTED_VALUE, "question", C.TIER, "first_name", "last_name", "email",
                  "phone", "street", "postcode", "city")
"""Columns of the CSV a campaign tool imports (see :func:`export_contact_plan`)."""


@dataclass
class PlanInputs:
    """Everything the plan is built from; ``notes`` say what was missing and what it would add."""

    customers: pd.DataFrame
    activity: data.Activity
    profile: pd.DataFrame
    summary: pd.DataFrame
    values: pd.DataFrame
    value_source: str
    facts: pd.DataFrame
    questions: pd.DataFrame
    lost: pd.DataFrame
    responses: pd.DataFrame
    future: pd.DataFrame
    policy: policy.Policy
    rates: dict
    notes: list[str] = field(default_factory=list)


def _top_recommendation(ws: Workspace) -> pd.DataFrame | None:
    if not ws.has("recommendations"):
        return None
    t = ws.table("recommendations")
    if not {C.CUSTOMER_ID, "rank", C.PRODUCT_ID} <= set(t.columns):
        return None
    # the window in its own column first: Ibis's Spark SQL cannot filter on a window in place
    t = t.mutate(__first=t["rank"].min().over(group_by=t[C.CUSTOMER_ID]))
    t = t.filter(t["rank"] == t["__first"]).drop("__first")
    if ws.has("products"):
        p = ws.table("products")
        t = t.left_join(p.select(__pid=p[C.PRODUCT_ID], __name=p[C.NAME]),
                        t[C.PRODUCT_ID] == p[C.PRODUCT_ID])
        label = t["__name"].fill_null(t[C.PRODUCT_ID])
    else:
        label = t[C.PRODUCT_ID]
    df = t.select(customer_id=t[C.CUSTOMER_ID].cast("string"), top_product=label).to_pandas()
    return df.drop_duplicates(C.CUSTOMER_ID)


def assumptions_for(cfg) -> nba.Assumptions:
    """The plan's assumptions with the thresholds the client config sets (``lists``)."""
    t = cfg.lists
    return nba.Assumptions(decline_ratio=t.decliner_ratio, at_risk_p_alive=t.at_risk_p_alive,
                           lost_value_quantile=1 - t.lost_top_share,
                           lost_min_orders=t.lost_min_orders)


def plan_inputs(cfg, ws: Workspace, assumptions: nba.Assumptions | None = None) -> PlanInputs:
    """Read the workspace and assemble one row per customer for :func:`nba.next_best_actions`.

    The customers are everyone with a profile (golden record or source record) or a purchase.
    Missing inputs are noted, never fatal: no interactions, no customer_value (a fallback value
    from transactions is used), no recommendations.
    """
    A = assumptions or assumptions_for(cfg)
    as_of = cfg.as_of
    pol = policy.Policy.from_config(cfg)
    costs = channels.unit_costs(cfg.channel_costs)
    act = data.activity(ws)
    notes = list(act.notes)
    it = act.interactions
    profile = data.customer_profile(ws)
    if not len(profile):
        notes.append("No customer records: consent is unknown, so no outbound contact can be "
                     "planned; customer records with opt-ins per channel would allow it.")
    products = ws.table("products") if ws.has("products") else None
    summary = (data.purchase_summary(act.transactions, as_of, products=products)
               if act.transactions is not None
               else pd.DataFrame({C.CUSTOMER_ID: pd.Series([], dtype="str")}))
    serve = channels.cost_to_serve(it, costs) if it is not None else None
    values, source = data.customer_values(ws, act, cfg, serve,
                                          summary=summary if len(summary) else None)
    if source == "fallback":
        notes.append(f"{FALLBACK_RULE}. Run `onetoone run differentiate` for CLV, potential "
                     "and needs segments.")
    facts = nba.contact_facts(it, as_of, costs)
    responses = lists.response_rates(it, costs, as_of=as_of, months=24)
    rates = nba.measured_rates(responses, A.response_rates)
    lost = lists.lost_valuable(summary, value_quantile=A.lost_value_quantile,
                               min_orders=A.lost_min_orders) if len(summary) else \
        lists.lost_valuable(pd.DataFrame(columns=["customer_id", C.REVENUE_BEFORE_12M,
                                                  "orders_before_12m", "orders_12m",
                                                  C.REVENUE_PREV_12M, C.LAST_PURCHASE]))
    ids = pd.Index(profile[C.CUSTOMER_ID].astype("str")).union(
        pd.Index(summary[C.CUSTOMER_ID].astype("str")) if len(summary) else pd.Index([], dtype="str"))
    cust = pd.DataFrame({C.CUSTOMER_ID: ids.astype("str")})
    cust = cust.merge(profile[[C.CUSTOMER_ID, *data.CONSENT_COLUMNS]], on=C.CUSTOMER_ID, how="left")
    for c in data.CONSENT_COLUMNS:
        cust[c] = cust[c].fillna(False).astype(bool)
    if len(summary):
        s = summary.copy()
        s["margin_rate"] = (s["margin"] / s[C.REVENUE].where(s[C.REVENUE] > 0)).clip(0, 1)
        cust = cust.merge(s, on=C.CUSTOMER_ID, how="left")
    vcols = [c for c in values.columns if c not in cust.columns or c == C.CUSTOMER_ID]
    cust = cust.merge(values[vcols], on=C.CUSTOMER_ID, how="left")
    for c in (C.REVENUE_12M, C.REVENUE_PREV_12M, C.LAST_PURCHASE):
        if c in values.columns and c in summary.columns and c not in vcols:
            pass  # the engine's purchase summary is used for these (same definitions)
    cust[C.TIER] = cust[C.TIER].fillna(pol.default_tier) if C.TIER in cust.columns \
        else pol.default_tier
    cust["lost_valuable"] = cust[C.CUSTOMER_ID].isin(set(lost[C.CUSTOMER_ID].astype("str")))
    if len(facts):
        cust = cust.merge(facts, on=C.CUSTOMER_ID, how="left")
    asked = profiling.recently_asked(it, as_of)
    n_consent = cust.set_index(C.CUSTOMER_ID)[list(data.CONSENT_COLUMNS)].sum(axis=1)
    prof = cust[[C.CUSTOMER_ID]].merge(profile.drop(columns=list(data.CONSENT_COLUMNS)),
                                       on=C.CUSTOMER_ID, how="left")
    questions = profiling.next_questions(prof, cust.set_index(C.CUSTOMER_ID)[C.TIER], asked,
                                         consented_channels=n_consent)
    cust = cust.merge(questions, on=C.CUSTOMER_ID, how="left")
    top = _top_recommendation(ws)
    if top is not None:
        cust = cust.merge(top, on=C.CUSTOMER_ID, how="left")
    else:
        notes.append("No recommendations from Customize: grow offers name no product; run "
                     "`onetoone run customize` to put the top suggestion in each offer.")
    future = nba.future_outbound(it, as_of)
    return PlanInputs(cust, act, profile, summary, values, source, facts, questions, lost,
                      responses, future, pol, rates, notes)


def build_contact_plan(cfg, ws: Workspace, inputs: PlanInputs | None = None,
                       assumptions: nba.Assumptions | None = None) -> pd.DataFrame:
    """The contact plan for every customer (see :func:`nba.next_best_actions`)."""
    inputs = inputs or plan_inputs(cfg, ws, assumptions)
    return nba.next_best_actions(inputs.customers, inputs.policy, cfg.as_of,
                                 costs=cfg.channel_costs, response_rates=inputs.rates,
                                 assumptions=assumptions or assumptions_for(cfg),
                                 future_contacts=inputs.future,
                                 currency=cfg.currency)


def check(cfg, plan: pd.DataFrame, inputs: PlanInputs) -> pd.DataFrame:
    """:func:`policy.check_plan` on a plan with the workspace's consent and history."""
    return policy.check_plan(plan, inputs.customers, inputs.activity.interactions, inputs.policy,
                             cfg.as_of, tiers=inputs.customers.set_index(C.CUSTOMER_ID)[C.TIER])


def _mask(value: str | None, kind: str) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value == "":
        return None
    return masking.mask_value(value, kind)  # the one masker, as in the reports


def export_contact_plan(plan: pd.DataFrame, path: str | Path, *,
                        profile: pd.DataFrame | None = None, mask: bool = True,
                        include_leave_alone: bool = False) -> Path:
    """Write the contact plan as a CSV a campaign tool imports; returns the path.

    Columns :data:`EXPORT_COLUMNS`: one row per planned contact (``leave_alone`` rows only
    with ``include_leave_alone``), best first; dates as YYYY-MM-DD, UTF-8, comma-separated,
    every text field quoted.

    Contact details are masked by default (``a***@example.com``, ``*******123``, street
    ``***``; name, postcode and city kept): the file leaves the workbook for another tool and
    often travels by email, and the campaign tool already holds the addresses keyed by
    customer id. ``mask=False`` writes them in full for a tool that has no address book.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = plan if include_leave_alone else plan[plan["action"] != "leave_alone"]
    out = out.sort_values(C.PRIORITY, kind="stable").rename(columns={"reason": "message"})
    out = out.assign(planned_date=pd.to_datetime(out[C.PLANNED_DATE]).dt.strftime("%Y-%m-%d"),
                     expected_value=out[C.EXPECTED_VALUE].round(2))
    if profile is not None:
        keep = [c for c in ("first_name", "last_name", "email", "phone", "street", "postcode",
                            "city") if c in profile.columns]
        p = profile[[C.CUSTOMER_ID, *keep]].drop_duplicates(C.CUSTOMER_ID)
        p = p.assign(**{C.CUSTOMER_ID: p[C.CUSTOMER_ID].astype("str")})
        out = out.assign(**{C.CUSTOMER_ID: out[C.CUSTOMER_ID].astype("str")}).merge(
            p, on=C.CUSTOMER_ID, how="left")
        if mask:
            for c in ("email", "phone", "street"):
                if c in out.columns:
                    out[c] = [_mask(v, c) for v in out[c].to_numpy()]
    out = out.reindex(columns=list(EXPORT_COLUMNS))
    out.to_csv(path, index=False, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n",
               encoding="utf-8")
    return path


def write_results(ws: Workspace, **tables: pd.DataFrame) -> list[str]:
    """Write the stage's tables (``contact_plan=plan, lost_valuable=lost, ...``); None skips."""
    written = []
    with ws.stage_run("interact"):  # all of them in one transaction, in the run ledger
        for name, df in tables.items():
            if df is not None:
                ws.write(name, df)
                written.append(name)
    return written


def run(cfg, ws: Workspace, echo: bool = True) -> dict:
    """Build and check the contact plan, the lists and the channel figures; write the tables.

    Returns
    -------
    dict
        Headline figures (plain numbers and strings).
    """
    t0 = time.perf_counter()

    def say(msg: str) -> None:
        if echo:
            print(msg, flush=True)

    inputs = plan_inputs(cfg, ws)
    for n in inputs.notes:
        say(f"  note: {n}")
    plan = build_contact_plan(cfg, ws, inputs)
    bad = check(cfg, plan, inputs)
    if len(bad):
        raise policy.PolicyViolation(
            f"the contact plan breaks the contact policy {len(bad):,} time(s): "
            f"{bad['rule'].value_counts().to_dict()}")
    it = inputs.activity.interactions
    tiers = inputs.customers[[C.CUSTOMER_ID, C.TIER]]
    breaches = policy.badgering_report(it, tiers, inputs.policy)
    complainers = lists.repeat_complainers(it, min_complaints=cfg.lists.repeat_complaints)
    vols = channels.channel_volumes(it, tiers, cfg.channel_costs, as_of=cfg.as_of, months=12)
    write_results(ws, contact_plan=plan, contact_breaches=breaches, lost_valuable=inputs.lost,
                  repeat_complainers=complainers, response_rates=inputs.responses,
                  profile_questions=inputs.questions, channel_volumes=vols)
    summary = {
        "customers": len(plan),
        "planned_contacts": int((plan["action"] != "leave_alone").sum()),
        C.EXPECTED_VALUE: round(float(plan[C.EXPECTED_VALUE].sum()), 2),
        "policy_violations": len(bad),
        "value_source": inputs.value_source,
        "lost_valuable": len(inputs.lost),
        "over_contacted": int((breaches["contacts_over_cap"] > 0).sum()) if len(breaches) else 0,
        "quiet_time_breaches": int((breaches["quiet_breaches"] > 0).sum()) if len(breaches) else 0,
        "repeat_complainers": len(complainers),
        "has_interactions": it is not None,
    }
    for a, k in plan["action"].value_counts().items():
        summary[f"action_{a}"] = int(k)
    if it is not None:
        sav = channels.shift_summary(channels.shift_savings(vols, 0.3, costs=cfg.channel_costs))
        summary["contact_cost_12m"] = round(float(vols["cost"].sum()), 2)
        summary["saving_30pct_shift"] = round(sav["yearly_saving"], 2)
    summary["seconds"] = round(time.perf_counter() - t0, 1)
    return summary
