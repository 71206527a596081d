"""Next best action for every customer, on the cheapest consented channel that suits the tier,
scheduled so that the contact policy holds by construction.

The rules, in order (the first that applies wins):

1. **win_back**: a valuable customer lost in the last year (:func:`lists.lost_valuable`);
2. **retain**: valuable and declining (last 12 months at most ``decline_ratio`` of the 12
   before), or a most valuable customer at risk (``p_alive`` below ``at_risk_p_alive``);
3. **serve_cheaper**: below zero (tier BZ): show them web self-service;
4. **grow**: most growable (tier MGC): an offer, naming Customize's top recommendation;
5. **ask**: a profile question worth asking (:mod:`profiling`);
6. **leave_alone**: nothing worth saying.

An action whose expected value (response rate x value if it works - cost of the contact) is
not positive falls back to ``ask`` when a question is worth it, else ``leave_alone``; so does a
customer with no consented channel. The planned date is the first day after ``as_of`` that is
past the quiet time after the last complaint and in a month with room under the tier's cap;
when that is beyond the plan horizon the customer is left alone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

import ibis
import numpy as np
import pandas as pd

from .. import columns as C
from .channels import unit_costs, with_contact_cost
from .policy import Policy, monthly_outbound

PLAN_COLUMNS = ("customer_id", "action", "channel", "reason", C.PRIORITY, C.EXPECTED_VALUE,
                C.PLANNED_DATE, "question", C.QUESTION_2, C.TIER, "value", C.CHANNEL_COST)
"""Columns of the ``contact_plan`` table (the first eight are the stage contract)."""

HUMAN_CHANNELS = ("call_centre", "store", "sales_rep", "mail")
"""Channels where a person (or print and post) handles the contact."""

DEFAULT_RESPONSE_RATES = {"email": 0.03, "sms": 0.025, "mail": 0.04, "call_centre": 0.12}
"""Response rate per outbound channel when the client's data has too few contacts to measure."""


@dataclass(frozen=True)
class Assumptions:
    """The economics behind expected values; every field is a plain, stated assumption.

    Attributes
    ----------
    response_rates
        Share of contacts that respond, by channel (measured rates replace these).
    decline_ratio
        Retain when the last 12 months' revenue is at most this share of the 12 before.
    at_risk_p_alive
        Retain a most valuable customer whose probability of being alive is below this.
    lost_value_quantile, lost_min_orders
        Who counts as a lost valuable customer (see :func:`lists.lost_valuable`).
    grow_capture
        Share of unrealised potential (or, without it, of last year's margin) a successful
        grow offer turns into margin within a year.
    adoption_rate
        Share of below-zero customers nudged to self-service who move.
    question_value
        Value of one answered question with impact 1 (currency units).
    answer_rate
        Share of questions answered (measured rate replaces it).
    default_margin_rate
        Margin / revenue when the customer's own cannot be measured.
    """

    response_rates: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_RESPONSE_RATES))
    decline_ratio: float = 0.5
    at_risk_p_alive: float = 0.5
    lost_value_quantile: float = 0.8
    lost_min_orders: int = 2
    grow_capture: float = 0.10
    adoption_rate: float = 0.30
    question_value: float = 5.0
    answer_rate: float = 0.25
    default_margin_rate: float = 0.35


def contact_facts(interactions: ibis.Table | None, as_of: dt.date | str,
                  costs: Mapping[str, float] | None = None, *, customer_id: str = C.CUSTOMER_ID,
                  date: str = C.DATE, channel: str = C.CHANNEL, direction: str = C.DIRECTION,
                  kind: str = C.INTERACTION_TYPE, outcome: str = C.OUTCOME,
                  topic: str = C.TOPIC) -> pd.DataFrame:
    """Per customer, from the contact history (computed in the engine).

    Returns
    -------
    pandas.DataFrame
        customer_id, last_contact, last_complaint, last_complaint_open (bool),
        last_complaint_topic, complaints, human_inbound_12m (contacts on call centre, store
        desk, rep or post the customer started), human_inbound_cost_12m, outbound_12m.
    """
    cols = [customer_id, "last_contact", "last_complaint", "last_complaint_open",
            "last_complaint_topic", "complaints", "human_inbound_12m", "human_inbound_cost_12m",
            "outbound_12m"]
    if interactions is None:
        return pd.DataFrame(columns=cols)
    end = pd.Timestamp(as_of) + pd.Timedelta(days=1)
    # complaints dated after as_of (should ingest let any through) still start a quiet time
    t = with_contact_cost(interactions, costs)
    past = t[date] < ibis.timestamp(end)
    last12 = (t[date] >= ibis.timestamp(end - pd.DateOffset(months=12))) & past
    comp = t[kind] == "complaint"
    human_in = (t[direction] == "inbound") & t[channel].isin(list(HUMAN_CHANNELS)) & last12
    g = t.group_by(t[customer_id].cast("string").name(customer_id)).aggregate(
        last_contact=t[date].max(where=past),
        last_complaint=t[date].max(where=comp),
        last_complaint_outcome=t[outcome].argmax(t[date], where=comp),
        last_complaint_topic=t[topic].argmax(t[date], where=comp),
        complaints=comp.sum(),
        human_inbound_12m=human_in.sum(),
        human_inbound_cost_12m=t["contact_cost"].sum(where=human_in),
        outbound_12m=((t[direction] == "outbound") & last12).sum())
    df = g.to_pandas()
    df["last_complaint_open"] = df["last_complaint_outcome"].eq("open").fillna(False).astype(bool)
    df["human_inbound_cost_12m"] = df["human_inbound_cost_12m"].fillna(0.0)
    for c in ("complaints", "human_inbound_12m", "outbound_12m"):
        df[c] = df[c].fillna(0).astype(int)
    return df[cols]


def future_outbound(interactions: ibis.Table | None, as_of: dt.date | str, *,
                    customer_id: str = C.CUSTOMER_ID, date: str = C.DATE,
                    direction: str = C.DIRECTION) -> pd.DataFrame:
    """Outbound contacts per customer and month for the months a plan can fall in.

    The month of the day after ``as_of`` and later: those counts (and only those) decide
    whether a planned contact fits under the cap.
    """
    if interactions is None:
        return pd.DataFrame(columns=[customer_id, "month", "contacts"])
    first = (pd.Timestamp(as_of) + pd.Timedelta(days=1)).to_period("M").start_time
    m = monthly_outbound(interactions, customer_id=customer_id, date=date, direction=direction)
    df = m.filter(m["month"] >= ibis.timestamp(first)).select(customer_id, "month",
                                                               "contacts").to_pandas()
    df["month"] = pd.to_datetime(df["month"])
    return df


def measured_rates(responses: pd.DataFrame | None, defaults: Mapping[str, float],
                   min_contacts: int = 200, channel: str = C.CHANNEL) -> dict[str, float]:
    """Response rate per channel: measured where at least ``min_contacts`` contacts, else default."""
    out = dict(defaults)
    if responses is not None and len(responses):
        for _, r in responses.iterrows():
            if r["contacts"] >= min_contacts and r[channel] in out:
                out[r[channel]] = float(r["response_rate"])
    return out


# -- channel choice ---------------------------------------------------------------------------
def choose_channels(actions: np.ndarray, tiers: np.ndarray, consent: pd.DataFrame,
                    policy: Policy, costs: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """The cheapest consented channel that suits each (action, tier), and whether it suits.

    Suitable channels are ``policy.channels_by_action[action]`` when set, else
    ``policy.channels_by_tier[tier]``. When none of them is consented the cheapest consented
    channel of any kind is used (second array False). No consent at all gives None.

    Parameters
    ----------
    consent
        One row per customer, aligned with ``actions``: a bool column per consent column.
    """
    n = len(actions)
    chosen = np.full(n, None, dtype=object)
    suits_ok = np.zeros(n, bool)
    planable = [ch for ch in policy.consent_columns if policy.consent_columns[ch] in consent.columns]
    by_cost = sorted(planable, key=lambda ch: (costs.get(ch, np.inf), ch))
    given = {ch: consent[policy.consent_columns[ch]].fillna(False).to_numpy(bool) for ch in by_cost}
    tiers = np.asarray(tiers, dtype=object)
    actions = np.asarray(actions, dtype=object)
    suit = {ch: np.zeros(n, bool) for ch in by_cost}
    combos = pd.DataFrame({"a": actions, "t": tiers}).drop_duplicates()
    for a, t in zip(combos["a"], combos["t"]):
        rows = (actions == a) & (tiers == t)
        wanted = policy.channels_by_action.get(a) or policy.channels_by_tier.get(t) \
            or policy.channels_by_tier.get(policy.default_tier) or tuple(by_cost)
        for ch in wanted:
            if ch in suit:
                suit[ch] |= rows
    for ch in by_cost:  # cheapest suitable consented channel
        pick = pd.isna(chosen) & given[ch] & suit[ch]
        chosen[pick] = ch
        suits_ok |= pick
    for ch in by_cost:  # else the cheapest consented channel
        pick = pd.isna(chosen) & given[ch]
        chosen[pick] = ch
    return chosen, suits_ok


# -- scheduling -------------------------------------------------------------------------------
def schedule(customer_ids: pd.Series, caps: np.ndarray, last_complaint: pd.Series,
             future: pd.DataFrame | None, policy: Policy, as_of: dt.date | str, *,
             customer_id: str = C.CUSTOMER_ID) -> np.ndarray:
    """The first allowed contact day per customer within the horizon, or NaT.

    Allowed: after ``as_of``; more than ``quiet_days`` after the last complaint; in a month
    whose outbound contacts so far (``future``) leave room under the cap.
    """
    start = pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)
    end = start + pd.Timedelta(days=policy.horizon_days - 1)
    lc = pd.to_datetime(last_complaint).dt.normalize().to_numpy()
    quiet_end = lc + np.timedelta64(policy.quiet_days + 1, "D")
    earliest = np.where(pd.isna(lc), start.to_datetime64(), np.maximum(quiet_end, start.to_datetime64()))
    earliest = earliest.astype("datetime64[s]")
    caps = np.asarray(caps, int)
    day = earliest.copy()
    ok = caps >= 1
    if future is not None and len(future):
        used = future.assign(**{customer_id: future[customer_id].astype("str")}).set_index(
            [customer_id, "month"])["contacts"]
        cid = customer_ids.astype("str").to_numpy()
        for _ in range(14):  # move to the next month while this one is full
            month = pd.DatetimeIndex(day).to_period("M").start_time
            have = pd.MultiIndex.from_arrays([cid, month])
            u = used.reindex(have).fillna(0).to_numpy()
            full = ok & (u + 1 > caps)
            if not full.any():
                break
            nxt = (pd.DatetimeIndex(day[full]).to_period("M") + 1).start_time
            day[full] = nxt.to_numpy().astype("datetime64[s]")
            ok &= day <= end.to_datetime64()
    ok &= day <= end.to_datetime64()
    out = np.where(ok, day, np.datetime64("NaT"))
    return out.astype("datetime64[s]")


# -- the plan -------------------------------------------------------------------------------
def _money(x, currency: str) -> str:
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return "?"
    return f"{currency} {x:,.0f}"


def _date(x) -> str:
    return "?" if pd.isna(x) else pd.Timestamp(x).strftime("%d %b %Y")


def _col(df: pd.DataFrame, name: str, default) -> pd.Series:
    if name in df.columns:
        return df[name]
    return pd.Series(default, index=df.index)


def next_best_actions(customers: pd.DataFrame, policy: Policy, as_of: dt.date | str, *,
                      costs: Mapping[str, float] | None = None,
                      response_rates: Mapping[str, float] | None = None,
                      assumptions: Assumptions | None = None,
                      future_contacts: pd.DataFrame | None = None, currency: str = "EUR",
                      customer_id: str = C.CUSTOMER_ID) -> pd.DataFrame:
    """The contact plan: one row per customer with action, channel, reason, priority, value.

    Parameters
    ----------
    customers
        One row per customer (build it with :func:`onetoone.interact.pipeline.plan_inputs`):
        customer_id, tier, the consent columns; optional: revenue_12m, revenue_prev_12m,
        revenue_before_12m, margin_rate, contribution, clv, p_alive, unrealised_potential,
        lost_valuable, last_purchase, last_complaint, last_complaint_open,
        last_complaint_topic, human_inbound_12m, human_inbound_cost_12m, question_1,
        question_1_score, question_1_text, question_2, top_product.
    policy
        The contact rules; the plan keeps them by construction.
    future_contacts
        Outbound contacts already made in the plan's months (:func:`future_outbound`).

    Returns
    -------
    pandas.DataFrame
        :data:`PLAN_COLUMNS`, priority 1 = first; ``leave_alone`` rows have no channel,
        no date and expected value 0.
    """
    A = assumptions or Assumptions()
    costs = unit_costs(costs)
    rates = dict(A.response_rates)
    rates.update(response_rates or {})
    df = customers.reset_index(drop=True)
    n = len(df)
    cid = df[customer_id].astype("str")
    tier = _col(df, C.TIER, policy.default_tier).fillna(policy.default_tier).astype("str").to_numpy(object)
    r12 = _col(df, C.REVENUE_12M, 0.0).fillna(0.0).to_numpy(float)
    rprev = _col(df, C.REVENUE_PREV_12M, 0.0).fillna(0.0).to_numpy(float)
    rbefore = _col(df, C.REVENUE_BEFORE_12M, np.nan).to_numpy(float)
    mrate = _col(df, "margin_rate", np.nan).fillna(A.default_margin_rate).clip(0, 1).to_numpy(float)
    contrib = _col(df, C.CONTRIBUTION, np.nan).to_numpy(float)
    clv = _col(df, C.CLV, np.nan).to_numpy(float)
    palive = _col(df, C.P_ALIVE, np.nan).to_numpy(float)
    unreal = _col(df, C.UNREALISED_POTENTIAL, np.nan).to_numpy(float)
    lost = _col(df, "lost_valuable", False).fillna(False).to_numpy(bool)
    hin_cost = _col(df, "human_inbound_cost_12m", 0.0).fillna(0.0).to_numpy(float)
    hin = _col(df, "human_inbound_12m", 0).fillna(0).to_numpy(float)
    q1 = _col(df, "question_1", None).to_numpy(object)
    q1_score = _col(df, "question_1_score", 0.0).fillna(0.0).to_numpy(float)
    q1_text = _col(df, "question_1_text", None).to_numpy(object)
    q2 = _col(df, C.QUESTION_2, None).to_numpy(object)
    top = _col(df, "top_product", None).to_numpy(object)
    has_q = pd.notna(q1) & (q1_score > 0)

    prev_q80 = np.quantile(rprev[rprev > 0], 0.8) if (rprev > 0).any() else np.inf
    valuable = (tier == "MVC") | (rprev >= prev_q80)
    declining = (rprev > 0) & (r12 > 0) & (r12 <= A.decline_ratio * rprev)
    at_risk = (tier == "MVC") & (palive < A.at_risk_p_alive)
    retain = valuable & (declining | at_risk) & ~lost
    action = np.select([lost, retain, tier == "BZ", tier == "MGC", has_q],
                       ["win_back", "retain", "serve_cheaper", "grow", "ask"],
                       default="leave_alone").astype(object)

    consent = df[[c for c in policy.consent_columns.values() if c in df.columns]]
    margin_12 = np.maximum(rprev, 0) * mrate

    def evaluate(act: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        ch, suits = choose_channels(act, tier, consent, policy, costs)
        cost = pd.Series(ch).map(costs).fillna(0.0).to_numpy(float)
        rr = pd.Series(ch).map(rates).fillna(0.0).to_numpy(float)
        gain = np.zeros(n)
        gain = np.where(act == "win_back", rr * margin_12, gain)
        risk_value = np.where(np.isnan(palive) | np.isnan(clv), 0.0,
                              (1 - np.nan_to_num(palive)) * np.nan_to_num(clv))
        gain = np.where(act == "retain", rr * (np.maximum(rprev - r12, 0) * mrate + risk_value),
                        gain)
        grow_base = np.where(np.isnan(unreal), np.maximum(r12, 0) * mrate, np.maximum(unreal, 0))
        gain = np.where(act == "grow", rr * A.grow_capture * grow_base, gain)
        saving = np.maximum(hin_cost - hin * costs.get("web", 0.0), 0)
        gain = np.where(act == "serve_cheaper", A.adoption_rate * saving, gain)
        gain = np.where(act == "ask", A.answer_rate * A.question_value * q1_score, gain)
        ev = np.where(pd.isna(ch) | (act == "leave_alone"), 0.0, np.round(gain - cost, 2))
        return ch, suits, ev

    channel, suits, ev = evaluate(action)
    why_fallback = np.full(n, None, dtype=object)
    weak = (action != "leave_alone") & (pd.isna(channel) | (ev <= 0))
    why_fallback[weak & pd.isna(channel)] = "no_consent"
    why_fallback[weak & ~pd.isna(channel)] = "not_worth"
    first_choice = action.copy()
    first_ev = ev.copy()
    retry = weak & has_q & (action != "ask")
    if retry.any():
        act2 = np.where(retry, "ask", action).astype(object)
        ch2, s2, ev2 = evaluate(act2)
        good = retry & ~pd.isna(ch2) & (ev2 > 0)
        action = np.where(good, "ask", action).astype(object)
        channel = np.where(good, ch2, channel)
        suits = np.where(good, s2, suits)
        ev = np.where(good, ev2, ev)
        weak &= ~good
    action[weak] = "leave_alone"
    channel[weak] = None
    ev[weak] = 0.0

    # schedule inside the policy
    caps = policy.caps(pd.Series(tier))
    last_complaint = _col(df, "last_complaint", pd.NaT)
    day = schedule(cid, caps, last_complaint, future_contacts, policy, as_of,
                   customer_id=customer_id)
    unscheduled = (action != "leave_alone") & pd.isna(day)
    action[unscheduled] = "leave_alone"
    channel[unscheduled] = None
    ev[unscheduled] = 0.0
    leave = action == "leave_alone"
    channel[leave] = None
    ev[leave] = 0.0
    day = np.where(leave, np.datetime64("NaT"), day).astype("datetime64[s]")

    reason = _reasons(df, action, first_choice, first_ev, channel, suits, why_fallback,
                      unscheduled, caps, tier, r12, rprev, rbefore, contrib, palive, unreal,
                      hin, hin_cost, q1_text, top, policy, currency)

    ev = np.round(ev, 2)
    order = np.lexsort((cid.to_numpy(), -ev, leave))
    priority = np.empty(n, dtype=np.int64)
    priority[order] = np.arange(1, n + 1)
    n_contacts = int((~leave).sum())
    priority[leave] = n_contacts + 1
    value = np.where(np.isnan(clv), np.nan_to_num(contrib), clv)
    plan = pd.DataFrame({
        customer_id: cid.to_numpy(), "action": action.astype(str), "channel": channel,
        "reason": reason, C.PRIORITY: priority, C.EXPECTED_VALUE: ev,
        C.PLANNED_DATE: pd.to_datetime(day), "question": np.where(leave, None, q1),
        C.QUESTION_2: np.where(leave, None, q2), C.TIER: tier.astype(str), "value": value,
        C.CHANNEL_COST: pd.Series(channel).map(costs).to_numpy(float),
    })
    return plan.sort_values(C.PRIORITY, kind="stable").reset_index(drop=True)


def _reasons(df, action, first_choice, first_ev, channel, suits, why_fallback, unscheduled, caps,
             tier, r12, rprev, rbefore, contrib, palive, unreal, hin, hin_cost, q1_text, top,
             policy: Policy, currency: str) -> np.ndarray:
    n = len(df)
    out = np.empty(n, dtype=object)
    last = pd.to_datetime(_col(df, C.LAST_PURCHASE, pd.NaT)).to_numpy()
    lc_open = _col(df, "last_complaint_open", False).fillna(False).to_numpy(bool)
    lc = pd.to_datetime(_col(df, "last_complaint", pd.NaT)).to_numpy()
    lc_topic = _col(df, "last_complaint_topic", None).to_numpy(object)
    cur = currency
    for i in range(n):
        a = action[i]
        if a == "win_back":
            before = rbefore[i] if not np.isnan(rbefore[i]) else rprev[i]
            s = (f"Valuable customer lost: {_money(before, cur)} in the two years before the last "
                 f"12 months, nothing bought since {_date(last[i])}. Call to win them back.")
        elif a == "retain":
            if rprev[i] > 0 and r12[i] <= rprev[i] * 0.5 + 1e-9:
                s = (f"Valuable and declining: {_money(r12[i], cur)} in the last 12 months against "
                     f"{_money(rprev[i], cur)} the year before. Find out why before a competitor does.")
            else:
                s = (f"Most valuable customer at risk (probability alive {palive[i]:.2f}). "
                     "A personal call to keep them.")
        elif a == "grow":
            offer = f" Offer {top[i]}." if top[i] is not None and not pd.isna(top[i]) else ""
            if not np.isnan(unreal[i]):
                s = f"Most growable: {_money(unreal[i], cur)} of unrealised potential.{offer}"
            else:
                s = (f"Growable: {_money(r12[i], cur)} in the last 12 months, in the band below "
                     f"the most valuable.{offer}")
        elif a == "serve_cheaper":
            s = (f"Below zero (contribution {_money(contrib[i], cur)}): {int(hin[i])} calls or "
                 f"visits in 12 months cost {_money(hin_cost[i], cur)}. Show them web "
                 "self-service.")
        elif a == "ask":
            s = f"Ask: {q1_text[i]}"
            if first_choice[i] not in ("ask", "leave_alone"):
                s = (f"{first_choice[i].replace('_', ' ')} not worth a contact "
                     f"(expected {_money(first_ev[i], cur)}); ask instead: {q1_text[i]}")
        else:
            if unscheduled[i]:
                s = (f"{first_choice[i].replace('_', ' ').capitalize()} would be next, but the "
                     f"contact policy leaves no day in the next {policy.horizon_days} days "
                     f"(cap {caps[i]} a month, {policy.quiet_days} quiet days after a complaint).")
            elif why_fallback[i] == "no_consent":
                s = ("No opt-in on any channel: ask for consent at their next inbound contact "
                     f"(would be: {first_choice[i].replace('_', ' ')}).")
            elif why_fallback[i] == "not_worth":
                s = (f"{first_choice[i].replace('_', ' ').capitalize()} not worth a contact "
                     f"(expected {_money(first_ev[i], cur)}); nothing to ask.")
            else:
                s = f"Nothing worth saying now ({tier[i]}); their profile has no useful gap."
        if a != "leave_alone":
            if not suits[i] and channel[i] is not None:
                s += (f" (By {channel[i]}: no opt-in on the channels that suit a {tier[i]} "
                      f"customer for this.)")
            if lc_open[i]:
                s += (f" Open complaint ({lc_topic[i]}, {_date(lc[i])}): resolve it first.")
        out[i] = s
    return out
