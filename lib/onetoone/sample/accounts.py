"""Trade accounts of the sample client: the few customers worth a lot.

Harbour & Finch runs a trade desk: interior designers, holiday-let and small-hotel owners,
cafés, offices and schools buy furniture, lighting, textiles, tableware, coffee machines and
computing through a trade account with a sales rep. There are few of them (about 1.5 % of
customers) but each buys in bulk, every few weeks, at a trade discount: their yearly
contribution is tens of times a household's. They are what makes a picket fence worth
building (see data/sample/README.md, "Trade accounts and the picket fence").

:func:`add_trade_accounts` runs after the consumer behaviour, records and campaigns are made
and draws from its own random stream, so every other part of the sample (people, records,
consumer purchases, contacts) comes out exactly as without it. The accounts' orders go on
their existing CRM record (channel ``sales_rep``, the ``crm_orders`` export), with returns,
and a sales rep visits each account every one to two months (``crm_campaign_contacts``,
medium ``REP``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .people import DAYS

__all__ = ["FENCE_ECONOMICS", "N_TRADE", "TRADE_SUBJECTS", "add_trade_accounts"]

N_TRADE = 300
"""Trade accounts among the sample's 20,000 people (scaled with the people count)."""

TRADE_SUBJECTS = ("furniture", "lighting", "textiles", "tableware", "coffee", "cookware",
                  "computing", "smart_home", "garden_furniture", "decor")
"""What trade customers buy: fitting out rooms, kitchens, offices and terraces."""

SPEND_MEDIAN = 15_000.0  # GBP list price a year, typical trade account
SPEND_SIGMA = 0.85  # lognormal spread: the largest accounts buy ten times the typical one
SPEND_CAP = 250_000.0
TRADE_DISCOUNT = 0.10  # on every line; 15 % on lines above GBP 2,000
CHURN = 0.08  # share of accounts that stop buying during the window
VISIT_COST = 45.0  # the CRM's cost of a sales-rep visit (same as the small business accounts)


FENCE_ECONOMICS = {
    # ranked and valued on margin: last 12 months' gross margin less cost to serve
    "value": "contribution_12m",
    # 100 accounts per manager: a conversation with each every month or so (about 1,200 a
    # year, plus visits with the reps), the load of a retail key-account manager
    "portfolio_size": 100,
    # GBP 42k salary plus employer NI, pension, car and expenses: about GBP 60k a year
    "manager_cost": 60000.0,
    # CRM seat share, account pages, data upkeep and reporting per managed customer
    "it_cost_per_customer": 50.0,
    # trade accounts lapse at about 20 % a year; a named manager halves that: 10 % of value kept
    "retention_uplift": 0.10,
    # share of wallet: more of each fit-out bought here, about 5 % more margin a year
    "growth_uplift": 0.05,
    "it_cost_halving_months": 18.0,
    "projection_years": 5.0,
}
"""The sample's picket-fence economics (client.yaml ``fence``); see data/sample/README.md."""


def _stream(seed: int) -> np.random.Generator:
    # a child of the seed that the generator's own streams (spawned 10, 12 and 13 deep) never use
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(100,)))


def add_trade_accounts(g) -> np.ndarray:
    """Turn some CRM customers into trade accounts; append their orders and rep visits.

    Parameters
    ----------
    g : onetoone.sample.generator._Sample
        The sample being built, after ``_campaigns``. Its ``lines``, ``camp`` and ``business``
        are extended in place.

    Returns
    -------
    numpy.ndarray
        Boolean mask of the people who hold a trade account (also ``g.trade``).
    """
    rng = _stream(g.seed)
    n = g.n
    crm_recs = g.by["crm"]
    has_crm = np.zeros(n, bool)
    has_crm[np.fromiter(crm_recs.keys(), dtype=np.int64)] = True
    planted = (g.business | g.below | g.decliner | g.lost | g.over | g.complainer
               | g.no_identifier)
    cand = np.flatnonzero(has_crm & ~planted)
    k = min(len(cand), max(10, round(N_TRADE * n / 20000)))
    chosen = np.sort(rng.choice(cand, k, replace=False))
    trade = np.zeros(n, bool)
    trade[chosen] = True

    cat = g.cat
    subj_idx = [cat.subjects.index(s) for s in TRADE_SUBJECTS]
    plain = [cat.subject_products[s][~cat.configurable[cat.subject_products[s]]]
             for s in subj_idx]
    next_order = int(g.lines["order"].max()) + 1
    lines, visits = [], []
    for p in chosen:
        rid, created = crm_recs[p][0]
        spend = min(SPEND_CAP, SPEND_MEDIAN * rng.lognormal(0.0, SPEND_SIGMA))
        per_year = rng.uniform(8, 20)  # orders a year
        start = 0.0 if rng.random() < 0.6 else rng.uniform(0, DAYS - 240)
        start = max(start, created + 1.0, 0.0)
        stop = DAYS if rng.random() >= CHURN else rng.uniform(start + 180, DAYS + 180)
        stop = min(stop, DAYS - 0.5)
        # the account's few subjects: a designer buys furniture and lighting, a café coffee
        mine = rng.choice(len(subj_idx), rng.integers(2, 5), replace=False)
        t = start + rng.exponential(365.25 / per_year)
        while t < stop:
            n_lines = 1 + rng.poisson(1.8)
            target = spend / per_year / n_lines
            for _ in range(n_lines):
                pool = plain[mine[rng.integers(len(mine))]]
                prod = int(pool[rng.integers(len(pool))])
                price = float(cat.price[prod])
                qty = max(1, round(target / price * rng.lognormal(0.0, 0.4)))
                disc = 0.15 if price * qty > 2000 else TRADE_DISCOUNT
                lines.append((next_order, p, t, prod, float(qty),
                              round(price * qty * (1 - disc), 2),
                              round(float(cat.unit_cost[prod]) * qty, 2), disc, rid))
            next_order += 1
            t += rng.exponential(365.25 / per_year)
        d = max(start, created + 1.0, 0.0) + rng.uniform(0, 45)
        while d < stop:
            visits.append((rid, p, d, "REP", "VISIT", None,
                           "ACCEPTED" if rng.random() < 0.6 else "NO RESPONSE", None, VISIT_COST))
            d += rng.uniform(30, 60)
    T = pd.DataFrame(lines, columns=["order", "person", "day", "product", "quantity", "amount",
                                     "cost", "discount", "record_id"])
    T.insert(3, "channel", "sales_rep")
    T["is_return"] = False
    # returns: 3 % of lines come back within a month (wrong size, damaged in delivery)
    ret = T[rng.random(len(T)) < 0.03].copy()
    ret["day"] = ret["day"] + rng.uniform(1, 30, len(ret))
    ret = ret[ret["day"] < DAYS - 0.5]
    for col in ("quantity", "amount", "cost"):
        ret[col] = -ret[col]
    ret["is_return"] = True
    T = pd.concat([T, ret], ignore_index=True)
    T = T.astype({c: g.lines[c].dtype for c in T.columns if c in g.lines.columns})
    g.lines = pd.concat([g.lines, T[g.lines.columns]], ignore_index=True)
    V = pd.DataFrame(visits, columns=list(g.camp.columns))
    V = V.astype({c: g.camp[c].dtype for c in V.columns if c not in ("campaign", "topic")})
    g.camp = (pd.concat([g.camp, V], ignore_index=True)
              .sort_values(["day", "record_id"], kind="stable").reset_index(drop=True))
    g.business = g.business | trade
    g.trade = trade
    return trade
