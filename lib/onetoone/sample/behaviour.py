"""Purchases (BG/NBD-like), order lines, returns and contacts of the sample client's people."""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import vocab as V
from .catalog import Catalogue
from .people import DAYS

CHANNEL_CODES = ("store", "web", "mail", "sales_rep")
BUSINESS_SUBJECTS = ("computing", "furniture", "coffee", "smart_home", "tableware")


def simulate_orders(rng: np.random.Generator, people: pd.DataFrame,
                    business: np.ndarray) -> pd.DataFrame:
    """Order dates per person: Poisson purchasing while alive, geometric dropout after each order.

    Purchase rate ``lam`` ~ Gamma(r, 1/alpha) per year and dropout ``p`` ~ Beta(a, b) per
    person (the BG/NBD story). Business accounts buy steadily through a sales rep.
    Returns one row per order: person (row index), day (float days since the window start),
    channel code.
    """
    n = len(people)
    seg = people["segment"].to_numpy()
    lam = rng.gamma(0.9, 1 / 0.11, n) / 365.25  # orders per day
    p = rng.beta(0.8, 6.0, n)
    lam[business] = rng.uniform(3, 6, business.sum()) / 365.25
    p[business] = 0.01
    buyer = rng.random(n) > 0.04
    existing = rng.random(n) < 0.55  # already customers when the window starts
    t = np.where(existing, rng.exponential(1 / np.maximum(lam, 1e-4)) % 120,
                 rng.uniform(0, DAYS, n))
    alive = buyer & (t < DAYS)
    persons, days = [], []
    while alive.any():
        idx = np.flatnonzero(alive)
        persons.append(idx)
        days.append(t[idx])
        dead = rng.random(len(idx)) < p[idx]
        alive[idx[dead]] = False
        t[idx] += rng.exponential(1.0 / lam[idx])
        alive &= t < DAYS
    person = np.concatenate(persons)
    day = np.concatenate(days)
    # channel of each order from the person's channel mix
    mix = np.zeros((n, 3))
    for name, spec in V.SEGMENTS.items():
        rows = seg == name
        base = np.array([spec["chan"].get(c, 0.0) for c in ("store", "web", "mail")])
        mix[rows] = rng.dirichlet(base * 2.5 + 0.02, rows.sum())
    # polarise: most people use (almost) only their favourite channel
    pol = rng.random(n) < 0.70
    fav = mix.argmax(1)
    mix[pol] = 0.03
    mix[pol, fav[pol]] = 0.94
    cum = np.cumsum(mix, 1)
    u = rng.random(len(person))
    ch = (u[:, None] > cum[person]).sum(1)
    ch = np.minimum(ch, 2)
    ch[business[person]] = 3
    orders = pd.DataFrame({"person": person, "day": day, "channel": np.array(CHANNEL_CODES)[ch]})
    orders = orders.sort_values(["day", "person"], kind="stable").reset_index(drop=True)
    people_attrs = {"lam": lam * 365.25, "p": p, "buyer": buyer, "mix": mix}
    orders.attrs.update(people_attrs)
    return orders


def expand_lines(rng: np.random.Generator, orders: pd.DataFrame, people: pd.DataFrame,
                 cat: Catalogue, business: np.ndarray, spend: np.ndarray, promo: np.ndarray,
                 deep_discount: np.ndarray) -> pd.DataFrame:
    """Order lines: product choice driven by the person's subject affinities, price and margin."""
    n_orders = len(orders)
    person_o = orders["person"].to_numpy()
    is_bus = business[person_o]
    n_lines = 1 + rng.poisson(0.85 * spend[person_o])
    n_lines[is_bus] = 1 + rng.poisson(1.5, is_bus.sum())
    n_lines = np.minimum(n_lines, 12)
    order_idx = np.repeat(np.arange(n_orders), n_lines)
    person = person_o[order_idx]
    m = len(order_idx)
    aff = people.attrs["aff"]
    aff_w = people.attrs["aff_w"]
    # subject: mostly from the person's affinities, sometimes from the segment, rarely anything
    cumw = np.cumsum(aff_w[person], 1)
    u = rng.random(m) * cumw[:, -1]
    k = (u[:, None] > cumw).sum(1)
    k = np.minimum(k, 2)
    subj = aff[person, k]
    n_sub = len(cat.subjects)
    seg_names = list(V.SEGMENTS)
    seg_idx = people["segment"].map({s: i for i, s in enumerate(seg_names)}).to_numpy()[person]
    seg_sub_cum = []
    for name in seg_names:
        cats = V.SEGMENTS[name]["cats"]
        w = np.array([cats.get(cat.subject_category[s], 0.0) + 0.15 for s in range(n_sub)])
        seg_sub_cum.append(np.cumsum(w) / w.sum())
    seg_sub_cum = np.array(seg_sub_cum)
    roll = rng.random(m)
    explore = roll >= 0.80
    u2 = rng.random(m)
    subj_explore = (u2[:, None] > seg_sub_cum[seg_idx]).sum(1)
    subj = np.where(explore, np.minimum(subj_explore, n_sub - 1), subj)
    bus_line = is_bus[order_idx]
    bus_sub = np.array([cat.subjects.index(s) for s in BUSINESS_SUBJECTS])
    subj[bus_line] = bus_sub[rng.integers(len(bus_sub), size=bus_line.sum())]
    # product within subject by popularity
    prod = np.empty(m, dtype=int)
    u3 = rng.random(m)
    for s in range(n_sub):
        rows = np.flatnonzero(subj == s)
        if len(rows):
            j = np.searchsorted(cat.subject_cumw[s], u3[rows], side="right")
            prod[rows] = cat.subject_products[s][np.minimum(j, len(cat.subject_products[s]) - 1)]
    qty = np.ones(m)
    r = rng.random(m)
    qty[r < 0.14] = 2
    qty[r < 0.04] = 3
    qty[bus_line] = rng.integers(1, 7, bus_line.sum())
    conf = cat.configurable[prod]
    qty[conf & ~bus_line] = 1
    unit_price = cat.price[prod].copy()
    unit_cost = cat.unit_cost[prod].copy()
    for row, prices in cat.config_price.items():
        rows = np.flatnonzero(prod == row)
        if len(rows):
            pick = rng.integers(len(prices), size=len(rows))
            unit_price[rows] = prices[pick]
            unit_cost[rows] = cat.config_cost[row][pick]
    # promotions: price-sensitive people buy on promotion more often, some at a deep discount
    on_promo = rng.random(m) < promo[person]
    disc = np.array([0.1, 0.2, 0.25, 0.3, 0.5])[rng.choice(5, m, p=[0.25, 0.3, 0.2, 0.15, 0.1])]
    deep = deep_discount[person] & on_promo
    disc[deep] = rng.choice([0.5, 0.6, 0.7], deep.sum())
    disc = np.where(on_promo, disc, 0.0)
    amount = np.round(unit_price * qty * (1 - disc), 2)
    cost = np.round(unit_cost * qty, 2)
    day = orders["day"].to_numpy()[order_idx]
    return pd.DataFrame({
        "order": order_idx, "person": person, "day": day,
        "channel": orders["channel"].to_numpy()[order_idx], "product": prod, "quantity": qty,
        "amount": amount, "cost": cost, "discount": disc,
    })


def add_returns(rng: np.random.Generator, lines: pd.DataFrame, return_rate: np.ndarray,
                no_return_after: np.ndarray) -> pd.DataFrame:
    """A return line (negative quantity, amount and cost) for some lines, 1-30 days later.

    ``no_return_after[person]`` is a day index after which the person makes no return (a
    lost customer has no activity at all in the last 12 months); ``DAYS`` for everybody else.
    """
    ret = rng.random(len(lines)) < return_rate[lines["person"].to_numpy()]
    r = lines.loc[ret].copy()
    r["day"] = r["day"] + rng.uniform(1, 30, len(r))
    r = r[r["day"] < no_return_after[r["person"].to_numpy()]]
    r["quantity"] = -r["quantity"]
    r["amount"] = -r["amount"]
    r["cost"] = -r["cost"]
    r["is_return"] = True
    out = lines.assign(is_return=False)
    out = pd.concat([out, r], ignore_index=True)
    return out
