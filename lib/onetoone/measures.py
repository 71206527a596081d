"""Short-term measures (docs/stages.md, section 0): the scorecard that proves the programme's benefit.

Per period (rolling windows ending at the config's as-of date) and per customer group (the
customers inside the picket fence against the rest): satisfaction, revenue per customer,
categories per customer, cost to serve per customer, retention and attrition, share of
wallet. And, when the config names a pilot group, the pilot against a matched control with
bootstrap confidence intervals.

Transaction- and contact-level work runs in DuckDB through Ibis; only per-customer-per-period
aggregates become pandas.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import numpy as np
import pandas as pd

from . import columns as C
from .config import ClientConfig
from .customers import with_customer_id
from .workspace import Workspace

PERIOD_MONTHS = {"M": 1, "Q": 3, "H": 6, "Y": 12}
INSIDE, REST, ALL = "inside the fence", "rest", "all customers"
MEASURES = ["active_customers", "revenue_per_customer", "categories_per_customer",
            "cost_to_serve_per_customer", "satisfaction", "retention", "attrition",
            C.SHARE_OF_WALLET]


@dataclass(frozen=True)
class Period:
    index: int  # 0 = the period ending at as_of; 1 = the one before, ...
    start: pd.Timestamp
    end: pd.Timestamp  # exclusive

    @property
    def label(self) -> str:
        return f"{self.start:%Y-%m-%d} to {(self.end - pd.Timedelta(days=1)):%Y-%m-%d}"


def periods(as_of, freq: str = "Q", n: int = 4) -> list[Period]:
    """``n`` rolling windows of ``freq`` ending at ``as_of`` (inclusive), newest first."""
    if freq not in PERIOD_MONTHS:
        raise ValueError(f"period {freq!r} unknown; expected one of {sorted(PERIOD_MONTHS)}")
    end = pd.Timestamp(as_of) + pd.Timedelta(days=1)
    out = []
    for i in range(n):
        start = end - pd.DateOffset(months=PERIOD_MONTHS[freq])
        out.append(Period(i, start, end))
        end = start
    return out


def _period_case(col: ibis.Value, ps: list[Period]) -> ibis.Value:
    return ibis.cases(*[((col >= p.start) & (col < p.end), p.index) for p in ps], else_=None)


def customer_period_activity(ws: Workspace, cfg: ClientConfig, ps: list[Period]) -> pd.DataFrame:
    """Per customer and period: revenue, orders, categories bought, cost to serve, satisfaction."""
    tx = with_customer_id(ws, "transactions")
    tx = tx.filter(tx[C.CUSTOMER_ID].notnull())
    if ws.has("products"):
        pr = ws.table("products").select(C.PRODUCT_ID, C.CATEGORY)
        tx = tx.left_join(pr, tx[C.PRODUCT_ID] == pr[C.PRODUCT_ID]).drop(f"{C.PRODUCT_ID}_right")
        cat = tx[C.CATEGORY]
    else:
        cat = tx[C.PRODUCT_ID]
    tx = tx.mutate(__period=_period_case(tx[C.DATE], ps), __cat=cat)
    tx = tx.filter(tx["__period"].notnull())
    buy = tx.group_by([C.CUSTOMER_ID, "__period"]).aggregate(
        revenue=tx[C.AMOUNT].sum(),
        orders=tx[C.ORDER_ID].nunique(),
        categories=tx["__cat"].nunique(),
    ).to_pandas()
    frames = [buy]
    if ws.has("interactions"):
        it = with_customer_id(ws, "interactions")
        it = it.filter(it[C.CUSTOMER_ID].notnull())
        unit = ibis.cases(*[(it[C.CHANNEL] == ch, float(v)) for ch, v in cfg.channel_costs.items()],
                          else_=0.0)
        it = it.mutate(__period=_period_case(it[C.DATE], ps),
                       __cost=ibis.coalesce(it[C.COST], unit))
        it = it.filter(it["__period"].notnull())
        contact = it.group_by([C.CUSTOMER_ID, "__period"]).aggregate(
            cost_to_serve=it["__cost"].sum(),
            contacts=it.count(),
            satisfaction_sum=it[C.SATISFACTION].sum(),
            satisfaction_n=it[C.SATISFACTION].count(),
        ).to_pandas()
        frames.append(contact)
    out = frames[0]
    for f in frames[1:]:
        out = out.merge(f, on=[C.CUSTOMER_ID, "__period"], how="outer")
    out = out.rename(columns={"__period": "period"})
    for col in (C.REVENUE, C.ORDERS, "categories", C.COST_TO_SERVE, "contacts", "satisfaction_sum",
                "satisfaction_n"):
        if col not in out:
            out[col] = 0.0
        out[col] = out[col].fillna(0).astype(float)
    out["period"] = out["period"].astype(int)
    return out


def fence_members(ws: Workspace) -> tuple[set, str]:
    """The customers inside the picket fence and where that came from."""
    if ws.has("fence_assignment"):
        ids = ws.read("fence_assignment", columns=[C.CUSTOMER_ID])[C.CUSTOMER_ID]
        if len(ids) == 0:  # Differentiate placed the fence and it pays for nobody
            return set(), "the picket fence is empty: individual management pays for nobody"
        return set(ids), "the customers Differentiate placed inside the fence"
    if ws.has("customer_value"):
        cv = ws.read("customer_value", columns=[C.CUSTOMER_ID, C.TIER])
        return (set(cv.loc[cv[C.TIER] == "MVC", C.CUSTOMER_ID]),
                "the most valuable tier (MVC), as Differentiate placed no fence")
    return set(), "no fence yet: run Differentiate to place it"


def scorecard(cfg: ClientConfig, ws: Workspace) -> tuple[pd.DataFrame, dict]:
    """The short-term measures per period and group; and notes on where the groups came from.

    Returns a long DataFrame: period, period_label, group, measure, value. When the fence is
    empty there is no "inside" group: only all customers are measured. ``satisfaction_responses``
    counts the ratings each satisfaction mean rests on. Retention for a
    period is the share of the group's customers active in the period before who bought again
    in this one; attrition is its complement. Share of wallet is today's (from
    ``customer_value``), shown on the latest period only.
    """
    ps = periods(cfg.as_of, cfg.measure_period, cfg.measure_periods + 1)  # +1 for retention
    act = customer_period_activity(ws, cfg, ps)
    inside, source = fence_members(ws)
    act["group"] = np.where(act[C.CUSTOMER_ID].isin(inside), INSIDE, REST)
    sow = None
    if ws.has("customer_value"):
        cv = ws.read("customer_value", columns=[C.CUSTOMER_ID, C.SHARE_OF_WALLET])
        cv["group"] = np.where(cv[C.CUSTOMER_ID].isin(inside), INSIDE, REST)
        sow = cv
    rows = []
    groups = (INSIDE, REST, ALL) if inside else (ALL,)  # nothing is inside an empty fence
    for p in ps[:-1]:
        prev = act[(act["period"] == p.index + 1) & (act[C.REVENUE] > 0)]
        cur = act[act["period"] == p.index]
        for group in groups:
            sel = cur if group == ALL else cur[cur["group"] == group]
            buyers = sel[sel[C.REVENUE] > 0]
            n = len(buyers)
            pv = prev if group == ALL else prev[prev["group"] == group]
            retained = pv[C.CUSTOMER_ID].isin(buyers[C.CUSTOMER_ID]).mean() if len(pv) else np.nan
            sat_n = sel["satisfaction_n"].sum()
            vals = {
                "active_customers": float(n),
                "revenue_per_customer": buyers[C.REVENUE].sum() / n if n else np.nan,
                "categories_per_customer": buyers["categories"].mean() if n else np.nan,
                "cost_to_serve_per_customer": sel[C.COST_TO_SERVE].sum() / n if n else np.nan,
                "satisfaction": sel["satisfaction_sum"].sum() / sat_n if sat_n else np.nan,
                "retention": retained,
                "attrition": 1 - retained if not np.isnan(retained) else np.nan,
                C.SHARE_OF_WALLET: np.nan,
            }
            if sow is not None and p.index == 0:
                s = sow if group == ALL else sow[sow["group"] == group]
                vals[C.SHARE_OF_WALLET] = s[C.SHARE_OF_WALLET].mean() if len(s) else np.nan
            vals["satisfaction_responses"] = float(sat_n)  # what the mean rests on
            rows += [{"period": p.index, "period_label": p.label, "group": group, "measure": m,
                      "value": float(v) if not np.isnan(v) else np.nan} for m, v in vals.items()]
    notes = {"fence_source": source, "customers_inside": len(inside),
             "period": cfg.measure_period, "periods": cfg.measure_periods}
    return pd.DataFrame(rows), notes


def scorecard_table(card: pd.DataFrame) -> pd.DataFrame:
    """The scorecard as a readable table: one row per measure and group, one column per period."""
    t = card.pivot_table(index=["measure", "group"], columns="period_label", values="value",
                         aggfunc="first", dropna=False)
    t = t[sorted(t.columns)]
    order = {m: i for i, m in enumerate([*MEASURES, "satisfaction_responses"])}
    gorder = {INSIDE: 0, REST: 1, ALL: 2}
    t = t.reset_index()
    t = t.sort_values(["measure", "group"], key=lambda s: s.map(order if s.name == "measure" else gorder))
    return t.set_index(["measure", "group"])


# -- pilot against a matched control ---------------------------------------------------------
def _pilot_ids(cfg: ClientConfig, ws: Workspace) -> set:
    path = cfg.resolve(cfg.pilot.path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: the pilot group file named by `pilot.path` does not exist")
    df = pd.read_csv(path, dtype=str)
    if C.CUSTOMER_ID in df:
        return set(df[C.CUSTOMER_ID].dropna())
    if C.RECORD_KEY in df:
        keys = set(df[C.RECORD_KEY].dropna())
        if ws.has("record_map"):  # the pilot's records only: the engine joins, not the kernel
            m = ws.table("record_map")
            k = ibis.memtable(pd.DataFrame({"__k": sorted(keys)}, dtype=object))
            j = m.join(k, m[C.RECORD_KEY] == k["__k"])
            return set(j.select(C.CUSTOMER_ID).to_pandas()[C.CUSTOMER_ID])
        return keys
    raise ValueError(f"{path}: expected a column {C.CUSTOMER_ID!r} or {C.RECORD_KEY!r}; "
                     f"found {list(df.columns)}")


def _window_revenue(ws: Workspace, start, end) -> pd.DataFrame:
    tx = with_customer_id(ws, "transactions")
    tx = tx.filter(tx[C.CUSTOMER_ID].notnull() & (tx[C.DATE] >= pd.Timestamp(start))
                   & (tx[C.DATE] < pd.Timestamp(end)))
    return tx.group_by(C.CUSTOMER_ID).aggregate(
        revenue=tx[C.AMOUNT].sum(), orders=tx[C.ORDER_ID].nunique()).to_pandas()


def bootstrap_mean_ci(diffs: np.ndarray, n_boot: int = 2000, level: float = 0.95,
                      seed: int = 0) -> tuple[float, float, float]:
    """Mean of paired differences with a percentile bootstrap interval."""
    diffs = np.asarray(diffs, dtype=float)
    if len(diffs) < 2:
        return (float(diffs.mean()) if len(diffs) else np.nan, np.nan, np.nan)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(diffs), size=(n_boot, len(diffs)))
    means = diffs[idx].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(diffs.mean()), float(lo), float(hi)


def pilot_vs_control(cfg: ClientConfig, ws: Workspace, n_boot: int = 2000,
                     seed: int = 0) -> tuple[pd.DataFrame, dict]:
    """Compare the pilot group with a control matched on pre-pilot revenue (and tier).

    Each pilot customer is paired, without replacement, with the non-pilot customer of the
    same tier whose revenue in the 12 months before the pilot start is closest (log scale).
    Outcomes are per customer over the pilot window (start to as-of); the difference is the
    mean of the paired differences with a bootstrap confidence interval. The pre-period row
    is the balance check: its interval should contain zero.
    """
    if cfg.pilot is None:
        raise ValueError("the client config names no pilot group (`pilot:` with path and start)")
    start = pd.Timestamp(cfg.pilot.start)
    end = pd.Timestamp(cfg.as_of) + pd.Timedelta(days=1)
    pre = _window_revenue(ws, start - pd.DateOffset(months=12), start)
    post = _window_revenue(ws, start, end)
    pilot = _pilot_ids(cfg, ws)
    base = pd.DataFrame({C.CUSTOMER_ID: pd.concat([pre[C.CUSTOMER_ID], post[C.CUSTOMER_ID]]).unique()})
    if ws.has("customer_value"):
        tiers = ws.read("customer_value", columns=[C.CUSTOMER_ID, C.TIER])
        base = base.merge(tiers, on=C.CUSTOMER_ID, how="left")
    else:
        base[C.TIER] = "all"
    base[C.TIER] = base[C.TIER].fillna("unknown")
    base = base.merge(pre.rename(columns={C.REVENUE: "pre_revenue", C.ORDERS: "pre_orders"}),
                      on=C.CUSTOMER_ID, how="left")
    base = base.merge(post.rename(columns={C.REVENUE: "post_revenue", C.ORDERS: "post_orders"}),
                      on=C.CUSTOMER_ID, how="left").fillna({"pre_revenue": 0.0, "post_revenue": 0.0,
                                                             "pre_orders": 0, "post_orders": 0})
    base["is_pilot"] = base[C.CUSTOMER_ID].isin(pilot)
    missing = len(pilot - set(base[C.CUSTOMER_ID]))
    pairs = []
    for _tier, grp in base.groupby(C.TIER):
        p = grp[grp["is_pilot"]]
        c = grp[~grp["is_pilot"]].copy()
        if p.empty or c.empty:
            continue
        c_key = np.log1p(c["pre_revenue"].clip(lower=0).to_numpy())
        order = np.argsort(c_key)
        c_sorted, c_ids = c_key[order], c.index.to_numpy()[order]
        used = np.zeros(len(c_sorted), dtype=bool)
        for i, row in p.sort_values("pre_revenue", ascending=False).iterrows():
            k = np.log1p(max(row["pre_revenue"], 0.0))
            j = int(np.searchsorted(c_sorted, k))
            lo, hi = j - 1, j  # walk outwards to the nearest unused control
            while lo >= 0 and used[lo]:
                lo -= 1
            while hi < len(c_sorted) and used[hi]:
                hi += 1
            cands = [c for c in (lo, hi) if 0 <= c < len(c_sorted)]
            best = min(cands, key=lambda c: abs(c_sorted[c] - k)) if cands else -1
            if best >= 0:
                used[best] = True
                pairs.append((i, c_ids[best]))
    if not pairs:
        raise ValueError("no pilot customer could be matched to a control customer")
    pi, ci = zip(*pairs)
    P, Q = base.loc[list(pi)].reset_index(drop=True), base.loc[list(ci)].reset_index(drop=True)
    rows = []
    for label, col in [("revenue per customer (pilot window)", "post_revenue"),
                       ("orders per customer (pilot window)", "post_orders"),
                       ("revenue per customer (12 months before: balance check)", "pre_revenue")]:
        mean, lo, hi = bootstrap_mean_ci(P[col].to_numpy(float) - Q[col].to_numpy(float),
                                         n_boot=n_boot, seed=seed)
        rows.append({"measure": label, "pilot": P[col].mean(), "control": Q[col].mean(),
                     "difference": mean, "ci_low": lo, "ci_high": hi,
                     "significant": bool(lo > 0 or hi < 0)})
    notes = {"pilot": cfg.pilot.name, "pilot_customers": len(pilot), "matched_pairs": len(pairs),
             "unmatched_or_unknown": len(pilot) - len(pairs), "not_found": missing,
             "start": str(start.date()), "n_boot": n_boot}
    return pd.DataFrame(rows), notes
