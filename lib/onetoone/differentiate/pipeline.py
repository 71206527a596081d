"""The Differentiate stage: value, lifetime value, needs, potential, tiers, lists and the fence.

``run(cfg, ws)`` (what ``onetoone run differentiate CONFIG`` calls) computes everything with
:func:`differentiate` and writes:

``customer_value``
    One row per customer: history (revenue, gross_margin, cost_to_serve, contribution,
    orders, first/last purchase, revenue_12m, revenue_prev_12m), CLV (frequency, recency, T in
    **weeks**, monetary_value, p_alive, expected_purchases over the horizon, clv = discounted
    expected gross margin over ``cfg.clv.horizon_months``), potential, share_of_wallet,
    unrealised_potential, tier, migrator, segment, segment_name, and the workshop-list flags
    is_decliner, is_lost_valuable, is_low_share_high_potential.
``segments``
    Needs segment profiles and names.
``fence_assignment``
    Customers inside the default picket fence (the position with the highest net benefit)
    with their customer manager, portfolios balanced by value.
``clv_holdout``
    The calibration / holdout check: predicted against actual repeat purchases by
    calibration frequency bin.

Customers are Identify's resolved customers when ``record_map`` exists, otherwise source
records (see :mod:`onetoone.customers`). A customer with records but no purchase gets zero
value, ``p_alive`` NaN and segment -1 ("No purchases yet").
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import columns as C
from ..config import FENCE_VALUES as _FENCE_VALUES
from ..config import ClientConfig
from ..customers import identified, with_customer_id
from ..workspace import Workspace
from . import lists as L
from .clv import (
    BGNBD,
    ConvergenceError,
    GammaGamma,
    HoldoutCheck,
    calibration_holdout,
    predict_clv,
    rfm_summary,
)
from .fence import BreakEven, ManagerAssignment, PicketFence
from .matrix import MatrixPlacement, differentiation_matrix
from .needs import NeedsSegments, needs_features, segment_needs
from .potential import potential_value, tenure_band
from .skew import skew_summary
from .tiers import TierResult, assign_tiers
from .value import historical_value, months_before, purchases

__all__ = ["Differentiation", "LifetimeValue", "customer_history", "customer_universe",
           "differentiate", "fence_for", "lifetime_value", "needs_segments", "run", "write"]

TIME_UNIT = "W"
"""Time unit of recency, T and the BG/NBD parameters: weeks (days / 7)."""

NO_PURCHASE_SEGMENT = -1
NO_PURCHASE_NAME = "No purchases yet"
NOT_SEGMENTED = -2
NOT_SEGMENTED_NAME = "Not segmented (no needs data)"


@dataclass
class LifetimeValue:
    """Fitted BG/NBD and Gamma-Gamma models, predictions and the holdout check."""

    summary: pd.DataFrame  # frequency, recency, T, monetary_value (weeks) per customer
    predictions: pd.DataFrame  # p_alive, expected_purchases, expected_value, clv
    bgnbd: BGNBD
    gg: GammaGamma
    margin_rate: float
    holdout: HoldoutCheck | None
    notes: list[str] = field(default_factory=list)


@dataclass
class Differentiation:
    """Everything the stage computed; ``customers`` is the ``customer_value`` table."""

    customers: pd.DataFrame
    segments: NeedsSegments | None
    clv: LifetimeValue | None
    tiers: TierResult
    skew: dict[str, float]
    matrix: MatrixPlacement
    fence: PicketFence
    break_even: BreakEven
    assignment: ManagerAssignment | None
    notes: list[str]
    seconds: dict[str, float]

    def segment_table(self) -> pd.DataFrame:
        if self.segments is None:
            g = self.customers.groupby([C.SEGMENT, C.SEGMENT_NAME]).size()
            return g.rename("size").reset_index()
        return self.segments.table()

    def summary(self) -> dict:
        """Headline figures as plain numbers and strings."""
        cv = self.customers
        tiers = self.tiers.counts()
        out = {
            "customers": len(cv),
            C.REVENUE: round(float(cv[C.REVENUE].sum()), 2),
            C.CONTRIBUTION: round(float(cv[C.CONTRIBUTION].sum()), 2),
            "clv_total": round(float(cv[C.CLV].sum()), 2),
            "gini_clv": round(self.skew["gini"], 4),
            "top_20pct_share": round(self.skew["top_20%"], 4),
            "segments": int(self.segments.k) if self.segments is not None else 0,
            "needs_diversity": (round(self.matrix.needs_diversity, 4) if self.matrix.known
                                else None),
            "matrix": self.matrix.label if self.matrix.known else "needs unknown",
            **{f"tier_{k}": int(v) for k, v in tiers.items()},
            "migrators": int(cv[C.MIGRATOR].sum()),
            "decliners": int(cv[C.IS_DECLINER].sum()),
            "lost_valuable": int(cv[C.IS_LOST_VALUABLE].sum()),
            "low_share_high_potential": int(cv[C.IS_LOW_SHARE_HIGH_POTENTIAL].sum()),
            "fence_customers": int(self.break_even.best.customers),
            "fence_managers": int(self.break_even.best.managers),
            "fence_net_benefit": round(self.break_even.best.net_benefit, 2),
            "fence_cost": round(self.break_even.best.cost, 2),
            "fence_roi": (round(float(self.break_even.best.roi), 4)
                          if np.isfinite(self.break_even.best.roi) else None),
            "fence_value": self.fence.value_name,
        }
        if self.clv is not None:
            out.update({f"bgnbd_{k}": round(v, 4) for k, v in self.clv.bgnbd.params_.items()})
            out.update({f"gg_{k}": round(v, 4) for k, v in self.clv.gg.params_.items()})
            if self.clv.holdout is not None:
                out["holdout_predicted"] = round(self.clv.holdout.predicted_total, 1)
                out["holdout_actual"] = round(self.clv.holdout.actual_total, 1)
        return out


# ------------------------------------------------------------------------------------------
# steps
# ------------------------------------------------------------------------------------------
def _tables(ws: Workspace):
    if not ws.has("transactions"):
        raise LookupError(
            f"the workspace {ws.path} has no transactions: Differentiate needs purchases to "
            f"value customers. Map an order-line export onto `transactions` in the client "
            f"config and run `onetoone ingest CONFIG`")
    tx = with_customer_id(ws, "transactions")
    it = with_customer_id(ws, "interactions") if ws.has("interactions") else None
    products = ws.table("products") if ws.has("products") else None
    return tx, it, products


def customer_universe(ws: Workspace) -> pd.Series:
    """Every known customer id: Identify's customers, else every source record key."""
    if identified(ws) and ws.has("customers"):
        ids = ws.table("customers").select(C.CUSTOMER_ID).distinct().to_pandas()[C.CUSTOMER_ID]
    elif ws.has("customer_records"):
        ids = ws.table("customer_records").select(C.RECORD_KEY).distinct().to_pandas()[C.RECORD_KEY]
    else:
        ids = pd.Series([], dtype=str)
    return ids.dropna().astype(str).rename(C.CUSTOMER_ID)


def customer_history(cfg: ClientConfig, ws: Workspace) -> pd.DataFrame:
    """Historical value per customer (:func:`~.value.historical_value` on the workspace),
    including known customers without activity (all zeros)."""
    tx, it, products = _tables(ws)
    value = historical_value(tx, it, products, as_of=cfg.as_of, channel_costs=cfg.channel_costs)
    notes = list(value.attrs.get("notes", []))
    if products is None:
        notes.append("no product catalogue: margins use each line's own cost only")
    ids = customer_universe(ws)
    extra = sorted(set(ids) - set(value[C.CUSTOMER_ID]))
    if extra:
        blank = pd.DataFrame({C.CUSTOMER_ID: extra})
        value = pd.concat([value, blank], ignore_index=True)
        for col in value.columns:
            if col != C.CUSTOMER_ID and pd.api.types.is_numeric_dtype(value[col]):
                value[col] = value[col].fillna(0)
    value = value.sort_values(C.CUSTOMER_ID, kind="stable").reset_index(drop=True)
    value.attrs["notes"] = notes
    return value


def lifetime_value(cfg: ClientConfig, ws: Workspace, margin_rate: float = 1.0) -> LifetimeValue:
    """Fit BG/NBD and Gamma-Gamma on the purchases up to ``cfg.as_of`` (time unit: weeks).

    Purchases on one day are one purchase; monetary value is the revenue of a purchase day;
    ``clv`` is the discounted expected *margin* (revenue x ``margin_rate``) over
    ``cfg.clv.horizon_months``. The holdout check refits BG/NBD on the history before the
    last ``cfg.clv.holdout_months`` months and compares its forecast with what happened.

    Raises
    ------
    ConvergenceError
        When a model cannot be fitted; the message says why and what to try.
    """
    tx, _, _ = _tables(ws)
    buys = purchases(tx)
    notes: list[str] = []
    summary = rfm_summary(buys, observation_end=cfg.as_of, time_unit=TIME_UNIT, freq="D")
    if len(summary) < 20 or (summary[C.FREQUENCY] > 0).sum() < 10:
        raise ConvergenceError(
            f"lifetime_value: {len(summary)} customers with purchases, "
            f"{int((summary['frequency'] > 0).sum())} with a repeat purchase; BG/NBD needs "
            f"hundreds. Check that transactions carry customer record ids")
    bg = BGNBD().fit(summary[C.FREQUENCY], summary[C.RECENCY], summary["T"])
    gg = GammaGamma()
    try:
        gg.fit(summary[C.FREQUENCY], summary[C.MONETARY_VALUE])
    except ConvergenceError as exc:
        cap = summary.loc[summary[C.FREQUENCY] > 0, C.MONETARY_VALUE].quantile(0.99)
        notes.append(f"Gamma-Gamma did not fit on raw spend ({exc}); refitted with spend per "
                     f"purchase capped at the 99th percentile ({cap:,.2f})")
        gg = GammaGamma().fit(summary[C.FREQUENCY], summary[C.MONETARY_VALUE].clip(upper=cap))
    pred = predict_clv(summary, bg, gg, horizon_months=cfg.clv.horizon_months,
                       annual_discount_rate=cfg.clv.annual_discount_rate, time_unit=TIME_UNIT,
                       margin=margin_rate)
    holdout = None
    months, note = holdout_months_for(cfg.clv.holdout_months, summary["T"].max() * 7 / 30.4375)
    if note:
        notes.append(note)
    if months > 0:
        cal_end = (pd.Timestamp(months_before(cfg.as_of, months)) - pd.Timedelta(days=1)).date()
        try:
            holdout = calibration_holdout(buys, cal_end, cfg.as_of, time_unit=TIME_UNIT)
        except (ConvergenceError, ValueError) as exc:
            notes.append(f"no holdout check: {exc}")
    return LifetimeValue(summary, pred, bg, gg, margin_rate, holdout, notes)


def holdout_months_for(configured: int, history_months: float) -> tuple[int, str | None]:
    """The holdout the history allows, and a note when it differs from the configured one.

    The calibration period must be at least as long as the holdout, so the holdout is at most
    half the history (whole months). Less than one month left: no holdout check (the note
    says so); the models are still fitted on the whole history.
    """
    if configured <= 0:
        return 0, None
    allowed = int(max(history_months, 0) // 2)
    if allowed >= configured:
        return configured, None
    if allowed < 1:
        return 0, (f"no holdout check: {history_months:.1f} months of purchase history is too "
                   f"short to hold out any of it (the config asks for {configured} months)")
    return allowed, (f"holdout shortened from {configured} to {allowed} month(s): the history "
                     f"covers {history_months:.1f} months and the calibration period must be at "
                     f"least as long as the holdout")


def needs_segments(cfg: ClientConfig, ws: Workspace, *, k_range=(3, 8), method="kmeans",
                   random_state: int = 0) -> NeedsSegments:
    """Behaviour features from the workspace, clustered (see :mod:`.needs`)."""
    tx, it, products = _tables(ws)
    feats = needs_features(tx, products, it, as_of=cfg.as_of)
    seg = segment_needs(feats, k_range=k_range, method=method, random_state=random_state)
    seg.features = feats  # type: ignore[attr-defined]
    return seg


def assemble(cfg: ClientConfig, value: pd.DataFrame, clv: LifetimeValue | None,
             segments: NeedsSegments | None) -> tuple[pd.DataFrame, TierResult]:
    """The ``customer_value`` table from the parts: CLV, segments, potential, tiers, lists."""
    cv = value.set_index(C.CUSTOMER_ID)
    if clv is not None:
        s = clv.summary.reindex(cv.index)
        p = clv.predictions.reindex(cv.index)
        cv[C.FREQUENCY] = s[C.FREQUENCY].fillna(0.0)
        cv[C.RECENCY] = s[C.RECENCY].fillna(0.0)
        cv["T"] = s["T"]
        cv[C.MONETARY_VALUE] = s[C.MONETARY_VALUE].fillna(0.0)
        cv[C.P_ALIVE] = p[C.P_ALIVE]
        cv[C.EXPECTED_PURCHASES] = p[C.EXPECTED_PURCHASES].fillna(0.0)
        cv[C.CLV] = p[C.CLV].fillna(0.0)
    else:
        for col in (C.FREQUENCY, C.RECENCY, "T", C.MONETARY_VALUE, C.P_ALIVE):
            cv[col] = np.nan
        cv[C.EXPECTED_PURCHASES] = 0.0
        cv[C.CLV] = 0.0
    if segments is not None:
        cv[C.SEGMENT] = segments.labels.reindex(cv.index).fillna(NO_PURCHASE_SEGMENT).astype(int)
        names = {**segments.names, NO_PURCHASE_SEGMENT: NO_PURCHASE_NAME}
        cv[C.SEGMENT_NAME] = cv[C.SEGMENT].map(names)
    else:  # no needs segments: buyers are not segmented, the rest have not bought yet
        bought = cv[C.ORDERS].fillna(0) > 0
        cv[C.SEGMENT] = np.where(bought, NOT_SEGMENTED, NO_PURCHASE_SEGMENT)
        cv[C.SEGMENT_NAME] = np.where(bought, NOT_SEGMENTED_NAME, NO_PURCHASE_NAME)
    cv["profile"] = tenure_band(cv[C.FIRST_PURCHASE], cfg.as_of)
    pot = potential_value(cv, value_col=C.CLV, group_cols=(C.SEGMENT, "profile"),
                          **cfg.lists.potential())
    cv = cv.join(pot)
    tiers = assign_tiers(cv, cfg.tiers, value_col=C.CLV)
    cv = cv.join(tiers.table)
    cv = cv.reset_index()
    dec = L.decliners(cv, **cfg.lists.decliners())
    lost = L.lost_valuable(cv, cfg.as_of, **cfg.lists.lost_valuable())
    low = L.low_share_high_potential(cv, **cfg.lists.low_share_high_potential())
    cv[C.IS_DECLINER] = cv[C.CUSTOMER_ID].isin(dec[C.CUSTOMER_ID])
    cv[C.IS_LOST_VALUABLE] = cv[C.CUSTOMER_ID].isin(lost[C.CUSTOMER_ID])
    cv[C.IS_LOW_SHARE_HIGH_POTENTIAL] = cv[C.CUSTOMER_ID].isin(low[C.CUSTOMER_ID])
    return cv, tiers


FENCE_VALUES = _FENCE_VALUES
"""What the picket fence ranks customers by (``cfg.fence.value``; see :func:`fence_for`)."""

FENCE_VALUE_LABELS = {
    "contribution_12m": "contribution, last 12 months (margin less cost to serve)",
    C.CLV: "lifetime margin (discounted CLV), per year",
}
"""How readouts, charts and exports name each fence value."""


def fence_for(cfg: ClientConfig, customers: pd.DataFrame, value: str | None = None) -> PicketFence:
    """The picket fence over ``customer_value`` rows, on a margin.

    ``value`` (default ``cfg.fence.value``): ``"contribution_12m"``, the last 12 months' gross
    margin less cost to serve, a yearly margin the uplift rates (share of a customer's yearly
    value kept or added by a customer manager) apply to; or ``"clv"``, the discounted expected
    margin over ``cfg.clv.horizon_months``, spread over the horizon's years. The fence carries
    the choice as ``value_name`` and ``value_label`` so every readout can say which.
    """
    value = cfg.fence.value if value is None else value
    if value not in FENCE_VALUES:
        raise ValueError(f"fence value must be one of {FENCE_VALUES}; found {value!r}")
    if value not in customers.columns:
        raise KeyError(f"fence_for: customer_value has no column {value!r}; re-run "
                       f"Differentiate (onetoone run differentiate CONFIG)")
    years = cfg.clv.horizon_months / 12 if value == C.CLV else 1.0
    v = customers.set_index(C.CUSTOMER_ID)[value].astype(float).fillna(0.0)
    return PicketFence(v, economics=cfg.fence, value_years=years, value_name=value,
                       value_label=FENCE_VALUE_LABELS[value])


def differentiate(cfg: ClientConfig, ws: Workspace, *, k_range=(3, 8), random_state: int = 0,
                  fence_value: str | None = None, echo: bool = False) -> Differentiation:
    """Compute the whole stage (nothing is written; see :func:`write`).

    ``fence_value`` chooses what the picket fence ranks by (:func:`fence_for`; default
    ``cfg.fence.value``); the default fence position is the one with the highest yearly net
    benefit.
    """
    say = print if echo else (lambda *a, **k: None)
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    value = customer_history(cfg, ws)
    notes = list(value.attrs.get("notes", []))
    seconds["value"] = time.perf_counter() - t0
    say(f"  value: {len(value):,} customers, revenue {value['revenue'].sum():,.0f} "
        f"{cfg.currency} ({seconds['value']:.1f} s)")
    rev = float(value[C.REVENUE].sum())
    margin_rate = float(np.clip(value[C.GROSS_MARGIN].sum() / rev, 0, 1)) if rev > 0 else 1.0
    t0 = time.perf_counter()
    clv: LifetimeValue | None
    try:
        clv = lifetime_value(cfg, ws, margin_rate=margin_rate)
        notes += clv.notes
    except ConvergenceError as exc:
        clv = None
        notes.append(f"no lifetime value: {exc}")
    seconds[C.CLV] = time.perf_counter() - t0
    if clv is not None:
        say(f"  CLV: {clv.bgnbd!r}; {clv.gg!r} ({seconds['clv']:.1f} s)")
    t0 = time.perf_counter()
    needs_unknown = ""
    try:
        segments = needs_segments(cfg, ws, k_range=k_range, random_state=random_state)
        missing = segments.features.attrs.get("missing", {})  # type: ignore[attr-defined]
        notes += [f"needs features: {v}" for v in missing.values()]
    except ValueError as exc:
        segments = None
        needs_unknown = str(exc)
        notes.append(f"no needs segments: {exc}")
    seconds["needs"] = time.perf_counter() - t0
    if segments is not None:
        say(f"  needs: {segments.k} segments, diversity {segments.diversity:.2f} "
            f"({seconds['needs']:.1f} s)")
    t0 = time.perf_counter()
    cv, tiers = assemble(cfg, value, clv, segments)
    values = cv[C.CLV] if cv[C.CLV].sum() > 0 else cv[C.CONTRIBUTION]
    skew = skew_summary(values)
    matrix = differentiation_matrix(skew["gini"], segments.diversity if segments else None,
                                    unknown=needs_unknown)
    fence = fence_for(cfg, cv, fence_value)
    be = fence.break_even()
    k = be.best.customers
    assignment = fence.assign_managers(k) if k > 0 else None
    if k == 0:
        notes.append("the picket fence pays nowhere with these economics: no customer is "
                     "worth a customer manager yet")
    seconds["assemble"] = time.perf_counter() - t0
    for n in notes:
        say(f"  note: {n}")
    return Differentiation(cv, segments, clv, tiers, skew, matrix, fence, be, assignment,
                           notes, seconds)


CUSTOMER_VALUE_COLUMNS = [
    C.CUSTOMER_ID, C.REVENUE, C.GROSS_MARGIN, C.COST_TO_SERVE, C.CONTRIBUTION, C.ORDERS,
    C.FIRST_PURCHASE, C.LAST_PURCHASE, C.REVENUE_12M, C.REVENUE_PREV_12M, C.REVENUE_BEFORE_12M,
    "gross_margin_12m", "cost_to_serve_12m", "contribution_12m",
    C.RETURNED_ORDERS, C.RETURNS_VALUE, "contacts", C.INBOUND_CONTACTS, "complaints",
    C.FREQUENCY, C.RECENCY, "T", C.MONETARY_VALUE, C.P_ALIVE, C.EXPECTED_PURCHASES, C.CLV,
    "profile", C.POTENTIAL, C.SHARE_OF_WALLET, C.UNREALISED_POTENTIAL, C.POTENTIAL_BASIS,
    C.TIER, C.MIGRATOR, C.MIGRATOR_EDGE, C.SEGMENT, C.SEGMENT_NAME, C.IS_DECLINER,
    C.IS_LOST_VALUABLE, C.IS_LOW_SHARE_HIGH_POTENTIAL,
]


def write(ws: Workspace, d: Differentiation) -> dict[str, int]:
    """Write customer_value, segments, fence_assignment and clv_holdout; rows per table.

    All of them commit in one transaction, recorded in the run ledger
    (:meth:`~onetoone.workspace.Workspace.stage_run`)."""
    with ws.stage_run("differentiate"):
        return _write_tables(ws, d)


def _write_tables(ws: Workspace, d: Differentiation) -> dict[str, int]:
    cv = d.customers[[c for c in CUSTOMER_VALUE_COLUMNS if c in d.customers.columns]].copy()
    for col in ("profile", C.POTENTIAL_BASIS, C.SEGMENT_NAME, C.TIER, C.MIGRATOR_EDGE):
        cv[col] = cv[col].astype(object).where(cv[col].notna(), None)
    ws.write("customer_value", cv)
    seg = d.segment_table()
    ws.write("segments", seg)
    out = {"customer_value": len(cv), "segments": len(seg)}
    if d.assignment is not None:
        fa = d.assignment.customers.merge(cv[[C.CUSTOMER_ID, C.TIER, C.SEGMENT_NAME]],
                                          on=C.CUSTOMER_ID, how="left")
        ws.write("fence_assignment", fa)
        out["fence_assignment"] = len(fa)
    else:
        ws.drop("fence_assignment")
    pos = pd.DataFrame([d.matrix.as_dict()])  # typed: a null needs diversity stays DOUBLE
    for col in ("needs_diversity", "value_skew", "skew_threshold", "diversity_threshold"):
        pos[col] = pos[col].astype("float64")
    for col in ("quadrant", "label", "example", "emphasis", "unknown"):
        pos[col] = pos[col].astype("string")
    ws.write("client_position", pos)  # read by the readiness report
    out["client_position"] = 1
    if d.clv is not None and d.clv.holdout is not None:
        ho = d.clv.holdout.table.reset_index()
        ws.write("clv_holdout", ho)
        out["clv_holdout"] = len(ho)
    return out


def run(cfg: ClientConfig, ws: Workspace, echo: bool = True) -> dict:
    """Compute and write the Differentiate stage; return its headline figures."""
    d = differentiate(cfg, ws, echo=echo)
    rows = write(ws, d)
    if echo:
        print(f"  wrote {', '.join(f'{k} ({v:,} rows)' for k, v in rows.items())}")
        print(f"  {d.matrix.sentence()}")
    return d.summary()
