"""The contact policy: consent per channel, frequency caps per tier and month, quiet time after
a complaint. Two uses:

- :func:`badgering_report`: who the client contacted more than the policy allows, in the data;
- :func:`check_plan`: every rule checked on a contact plan, independently of how the plan was
  built (:mod:`onetoone.interact.nba` builds it to respect the policy; this proves it).

Months are calendar months. A complaint on day ``c`` makes days ``c .. c + quiet_days``
quiet: an outbound contact on one of them breaks the policy. Only outbound contacts count
towards a cap; inbound ones are the customer's own doing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

import ibis
import numpy as np
import pandas as pd

from .. import columns as C

ACTIONS = ("retain", "grow", "win_back", "serve_cheaper", "ask", "leave_alone")
"""Every action a contact plan can hold; ``leave_alone`` is no contact."""


@dataclass(frozen=True)
class Policy:
    """The contact rules of one client (see :meth:`from_config`)."""

    caps_per_month: Mapping[str, int]
    quiet_days: int = 14
    channels_by_tier: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    channels_by_action: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    horizon_days: int = 30
    consent_columns: Mapping[str, str] = field(default_factory=lambda: dict(C.CONSENT_CHANNELS))
    default_tier: str = "maintain"

    @classmethod
    def from_config(cls, cfg) -> Policy:
        """The policy in ``cfg.contact_policy``."""
        p = cfg.contact_policy
        return cls(caps_per_month=dict(p.caps_per_month),
                   quiet_days=int(p.quiet_days_after_complaint),
                   channels_by_tier={k: tuple(v) for k, v in p.channels_by_tier.items()},
                   channels_by_action={k: tuple(v) for k, v in p.channels_by_action.items()},
                   horizon_days=int(getattr(p, "plan_horizon_days", 30)))

    def cap(self, tier) -> int:
        """Outbound contacts allowed per month for a tier (unknown tiers: the default tier's)."""
        if tier in self.caps_per_month:
            return int(self.caps_per_month[tier])
        if self.default_tier in self.caps_per_month:
            return int(self.caps_per_month[self.default_tier])
        return int(min(self.caps_per_month.values())) if self.caps_per_month else 0

    def caps(self, tiers: pd.Series) -> np.ndarray:
        """:meth:`cap` for each element of a Series of tiers."""
        return tiers.map(lambda t: self.cap(t)).to_numpy(dtype=int)

    def describe(self) -> str:
        caps = ", ".join(f"{k} {v}" for k, v in self.caps_per_month.items())
        return (f"at most {caps} outbound contacts a month; no outbound contact for "
                f"{self.quiet_days} days after a complaint; only on channels the customer "
                f"opted in to ({', '.join(self.consent_columns)})")


def _outbound(interactions: ibis.Table, direction: str = C.DIRECTION) -> ibis.Table:
    if direction not in interactions.columns:
        raise KeyError(f"interactions have no column {direction!r}; expected inbound/outbound "
                       "to tell our contacts from the customer's")
    return interactions.filter(interactions[direction] == "outbound")


def _complaints(interactions: ibis.Table, kind: str = C.INTERACTION_TYPE) -> ibis.Table:
    return interactions.filter(interactions[kind] == "complaint")


def _tier_table(tiers: pd.DataFrame | pd.Series | None, customer_id: str) -> pd.DataFrame:
    if tiers is None:
        return pd.DataFrame({"__cid": pd.Series([], dtype="str"), "__tier": pd.Series([], dtype="str")})
    if isinstance(tiers, pd.Series):
        tiers = tiers.rename(C.TIER).rename_axis(customer_id).reset_index()
    return pd.DataFrame({"__cid": tiers[customer_id].astype("str"),
                         "__tier": tiers[C.TIER].astype("str")})


def monthly_outbound(interactions: ibis.Table, *, customer_id: str = C.CUSTOMER_ID,
                     date: str = C.DATE, direction: str = C.DIRECTION,
                     channel: str = C.CHANNEL) -> ibis.Table:
    """Outbound contacts per customer and calendar month (an Ibis expression)."""
    t = _outbound(interactions, direction)
    t = t.filter(t[customer_id].notnull())
    return t.group_by([t[customer_id].cast("string").name(customer_id),
                       t[date].truncate("M").name("month")]).aggregate(
        contacts=t.count(), channels=t[channel].nunique())


def badgering_report(interactions: ibis.Table | None, tiers: pd.DataFrame | pd.Series | None,
                     policy: Policy, *, customer_id: str = C.CUSTOMER_ID, date: str = C.DATE,
                     direction: str = C.DIRECTION, kind: str = C.INTERACTION_TYPE
                     ) -> pd.DataFrame:
    """Customers the client contacted more than the policy allows.

    Two rules are checked over the whole contact history: more outbound contacts in a calendar
    month than the tier's cap, and outbound contacts within ``quiet_days`` after a complaint.

    Parameters
    ----------
    interactions
        Ibis table with customer_id, date, direction, type (None: nothing to check).
    tiers
        Frame (customer_id, tier) or Series indexed by customer_id; customers not in it get
        the policy's default tier.

    Returns
    -------
    pandas.DataFrame
        One row per customer who broke a rule: customer_id, tier, cap, max_per_month,
        worst_month, months_over_cap, contacts_over_cap, quiet_breaches, last_breach;
        most over-contacted first.
    """
    cols = ["customer_id", C.TIER, "cap", "max_per_month", "worst_month", "months_over_cap",
            "contacts_over_cap", "quiet_breaches", "last_breach"]
    if interactions is None:
        return pd.DataFrame(columns=cols)
    tt = _tier_table(tiers, customer_id)
    caps = {t: policy.cap(t) for t in set(tt["__tier"]) | {policy.default_tier}}
    m = monthly_outbound(interactions, customer_id=customer_id, date=date, direction=direction)
    tm = ibis.memtable(tt)
    j = m.left_join(tm, m[customer_id] == tm["__cid"])
    tier = j["__tier"].fill_null(policy.default_tier)
    cap = ibis.cases(*[(tier == k, v) for k, v in caps.items()], else_=policy.cap(None))
    j = j.mutate(__tier2=tier, cap=cap)
    over = j.filter(j["contacts"] > j["cap"])
    # the worst month is the busiest, the earliest of equally busy ones (argmax alone picks any)
    over = over.mutate(__rank=over["contacts"].cast("int64") * 1_000_000
                       - (over["month"].year() * 12 + over["month"].month()).cast("int64"))
    o = over.group_by([over[customer_id], over["__tier2"].name(C.TIER), over["cap"]]).aggregate(
        max_per_month=over["contacts"].max(),
        worst_month=over["month"].argmax(over["__rank"]),
        months_over_cap=over.count(),
        contacts_over_cap=(over["contacts"] - over["cap"]).sum(),
        last_cap_breach=over["month"].max()).to_pandas()
    # quiet time after a complaint
    out_ = _outbound(interactions, direction)
    out_ = out_.filter(out_[customer_id].notnull())
    comp = _complaints(interactions, kind)
    comp = comp.filter(comp[customer_id].notnull()).select(
        __cid=comp[customer_id].cast("string"), __cday=comp[date].date())
    q = out_.select(__ocid=out_[customer_id].cast("string"), __oday=out_[date].date(),
                    __oid=out_[C.INTERACTION_ID] if C.INTERACTION_ID in out_.columns
                    else out_[date].cast("string"))
    jq = q.join(comp, (q["__ocid"] == comp["__cid"]) & (q["__oday"] >= comp["__cday"])
                & (q["__oday"] <= comp["__cday"] + ibis.interval(days=policy.quiet_days)))
    jq = jq.select("__ocid", "__oid", "__oday").distinct()
    qb = jq.group_by(jq["__ocid"].name(customer_id)).aggregate(
        quiet_breaches=jq.count(), last_quiet_breach=jq["__oday"].max()).to_pandas()
    df = o.merge(qb, on=customer_id, how="outer")
    if not len(df):
        return pd.DataFrame(columns=cols)
    missing = df[C.TIER].isna()
    if missing.any():
        tmap = tt.set_index("__cid")["__tier"]
        df.loc[missing, C.TIER] = (df.loc[missing, customer_id].map(tmap)
                                   .fillna(policy.default_tier))
        df.loc[missing, "cap"] = df.loc[missing, C.TIER].map(policy.cap)
    df["max_per_month"] = df["max_per_month"].fillna(0).astype(int)
    df["months_over_cap"] = df["months_over_cap"].fillna(0).astype(int)
    df["contacts_over_cap"] = df["contacts_over_cap"].fillna(0).astype(int)
    df["quiet_breaches"] = df["quiet_breaches"].fillna(0).astype(int)
    df["cap"] = df["cap"].astype(int)
    last = pd.concat([pd.to_datetime(df["last_cap_breach"]),
                      pd.to_datetime(df["last_quiet_breach"])], axis=1).max(axis=1)
    df["last_breach"] = last
    df = df.sort_values(["contacts_over_cap", "quiet_breaches", customer_id],
                        ascending=[False, False, True]).reset_index(drop=True)
    return df[cols]


# -- plan checks ---------------------------------------------------------------------------------
def check_plan(plan: pd.DataFrame, consent: pd.DataFrame, interactions: ibis.Table | None,
               policy: Policy, as_of: dt.date | str, *, tiers: pd.Series | None = None,
               customer_id: str = C.CUSTOMER_ID, date: str = C.DATE,
               direction: str = C.DIRECTION, kind: str = C.INTERACTION_TYPE) -> pd.DataFrame:
    """Every way a contact plan breaks the policy; an empty frame means it keeps every rule.

    Checked for each planned contact (any action but ``leave_alone``): the channel is one that
    needs and has the customer's consent; the planned date lies within the horizon after
    ``as_of``; past outbound contacts in the planned month plus the plan's own contacts that
    month stay within the tier's cap; no complaint falls within ``quiet_days`` before the
    planned date. ``leave_alone`` rows must carry no channel and no date; the action must be
    one of :data:`ACTIONS`; each customer appears once.

    Parameters
    ----------
    plan
        customer_id, action, channel, planned_date, tier (unless ``tiers`` is given).
    consent
        customer_id and the consent columns (``policy.consent_columns``).
    interactions
        Ibis table of the contact history with customer_id (None: no history).
    tiers
        The tier per customer_id to check caps against (default: the plan's own column).

    Returns
    -------
    pandas.DataFrame
        customer_id, rule, detail; one row per broken rule and customer.
    """
    problems: list[pd.DataFrame] = []

    def add(mask, rule: str, detail) -> None:
        mask = np.asarray(mask, bool)
        if mask.any():
            d = detail[mask] if isinstance(detail, (pd.Series, np.ndarray)) else detail
            problems.append(pd.DataFrame({customer_id: plan.loc[mask, customer_id].to_numpy(),
                                          "rule": rule, "detail": d}))

    cid = plan[customer_id].astype("str")
    action = plan["action"]
    add(~action.isin(ACTIONS), "unknown action", action.astype("str").to_numpy())
    add(cid.duplicated(keep=False).to_numpy(), "customer planned more than once", "duplicate")
    contact = (action != "leave_alone").to_numpy()
    chan = plan["channel"]
    pdate = pd.to_datetime(plan[C.PLANNED_DATE])
    add(~contact & (chan.notna() | pdate.notna()).to_numpy(), "leave_alone with a contact",
        "leave_alone rows must have no channel and no planned date")
    add(contact & (chan.isna() | pdate.isna()).to_numpy(), "contact without channel or date",
        "a planned contact needs a channel and a date")
    # consent
    col = chan.map(policy.consent_columns)
    add(contact & chan.notna().to_numpy() & col.isna().to_numpy(), "channel needs no consent column",
        ("channel " + chan.astype("str") + " has no consent column; only "
         + ", ".join(policy.consent_columns) + " can be planned").to_numpy())
    cons = consent.assign(**{customer_id: consent[customer_id].astype("str")}).drop_duplicates(
        customer_id).set_index(customer_id)
    given = np.zeros(len(plan), bool)
    for ch, c in policy.consent_columns.items():
        rows = (chan == ch).to_numpy()
        if rows.any() and c in cons.columns:
            given[rows] = cid[rows].map(cons[c]).fillna(False).astype(bool).to_numpy()
    add(contact & col.notna().to_numpy() & ~given, "no consent",
        ("no opt-in for " + chan.astype("str")).to_numpy())
    # horizon
    start = pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)
    end = start + pd.Timedelta(days=policy.horizon_days - 1)
    outside = contact & pdate.notna().to_numpy() & ((pdate < start) | (pdate > end)).to_numpy()
    add(outside, "outside the plan horizon",
        ("planned " + pdate.dt.strftime("%Y-%m-%d").fillna("") + f", expected {start.date()}"
         f" to {end.date()}").to_numpy())
    planned = pd.DataFrame({"__cid": cid, "__day": pdate.dt.normalize(),
                            "__month": pdate.dt.to_period("M").dt.start_time})[contact
                                                                              & pdate.notna().to_numpy()]
    # caps: history in the planned month + the plan's own contacts that month
    tier = (tiers.reindex(cid).to_numpy() if tiers is not None else plan[C.TIER].to_numpy())
    cap = pd.Series(tier).map(lambda t: policy.cap(t if isinstance(t, str) else None)).to_numpy()
    own = planned.groupby(["__cid", "__month"]).size().rename("own")
    hist = pd.Series(0, index=own.index, dtype=int, name="hist")
    if interactions is not None and len(planned):
        keys = ibis.memtable(own.reset_index()[["__cid", "__month"]])
        m = monthly_outbound(interactions, customer_id=customer_id, date=date, direction=direction)
        j = keys.join(m, (keys["__cid"] == m[customer_id]) & (keys["__month"] == m["month"]))
        h = j.select("__cid", "__month", "contacts").to_pandas()
        if len(h):
            h["__month"] = pd.to_datetime(h["__month"])
            hist = (h.set_index(["__cid", "__month"])["contacts"].reindex(own.index)
                    .fillna(0).astype(int).rename("hist"))
    total = (own + hist).rename("total").reset_index()
    if len(planned):
        month_total = planned.merge(total, on=["__cid", "__month"], how="left")["total"].to_numpy()
        full = np.zeros(len(plan), dtype=float)
        full[np.flatnonzero(contact & pdate.notna().to_numpy())] = month_total
        add(contact & (full > cap), "over the monthly cap",
            np.char.add(np.char.add(full.astype(int).astype(str), " contacts in the month, cap "),
                        cap.astype(str)))
    # quiet time after a complaint
    if interactions is not None and len(planned):
        keys = ibis.memtable(planned[["__cid", "__day"]].drop_duplicates())
        comp = _complaints(interactions, kind)
        comp = comp.select(__c=comp[customer_id].cast("string"), __cday=comp[date].date())
        j = keys.join(comp, (keys["__cid"] == comp["__c"])
                      & (keys["__day"].date() >= comp["__cday"])
                      & (keys["__day"].date() <= comp["__cday"]
                         + ibis.interval(days=policy.quiet_days)))
        bad = j.group_by("__cid").aggregate(__last=j["__cday"].max()).to_pandas()
        if len(bad):
            last = cid.map(bad.set_index("__cid")["__last"].astype("str"))
            add(contact & last.notna().to_numpy(), "within the quiet time after a complaint",
                ("complaint on " + last.fillna("") + f", quiet for {policy.quiet_days} days").to_numpy())
    if not problems:
        return pd.DataFrame({customer_id: pd.Series([], dtype="str"),
                             "rule": pd.Series([], dtype="str"), "detail": pd.Series([], dtype="str")})
    return pd.concat(problems, ignore_index=True)


class PolicyViolation(AssertionError):
    """A contact plan that breaks the contact policy (raised by :func:`assert_plan_keeps_policy`)."""


def assert_plan_keeps_policy(plan: pd.DataFrame, consent: pd.DataFrame,
                             interactions: ibis.Table | None, policy: Policy,
                             as_of: dt.date | str, **kw) -> None:
    """Raise :class:`PolicyViolation` listing the first problems when :func:`check_plan` finds any."""
    bad = check_plan(plan, consent, interactions, policy, as_of, **kw)
    if len(bad):
        head = bad.head(10).to_string(index=False)
        raise PolicyViolation(f"the contact plan breaks the contact policy {len(bad):,} time(s) "
                              f"({bad['rule'].value_counts().to_dict()}); first ones:\n{head}")
