"""The sample client's catalogue: products, configurable base products, components, rules."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import vocab as V


@dataclass
class Catalogue:
    """Products with the arrays the purchase simulation needs.

    ``products`` has the client's column names already canonical (the catalogue export uses
    canonical names). ``subject_products[s]`` holds product row indices of subject ``s`` and
    ``subject_cumw[s]`` their cumulative popularity.
    """

    products: pd.DataFrame
    components: pd.DataFrame
    rules: pd.DataFrame
    subjects: list[str]
    subject_category: list[str]
    subject_products: list[np.ndarray]
    subject_cumw: list[np.ndarray]
    price: np.ndarray
    unit_cost: np.ndarray
    configurable: np.ndarray
    config_price: dict[int, np.ndarray]  # product row -> sampled configuration prices
    config_cost: dict[int, np.ndarray]


def _round_price(x: np.ndarray) -> np.ndarray:
    """Retail-style prices: .99 under 100, whole pounds (ending 9) above."""
    small = np.floor(x) + 0.99
    large = np.round(x / 10.0) * 10.0 - 1.0
    return np.where(x < 100, small, large).round(2)


def build_catalogue(rng: np.random.Generator, n_products: int = 1500) -> Catalogue:
    """Build ~``n_products`` products over the subjects in :mod:`vocab`, ~30 configurable."""
    subjects, subj_cat, subj_price, subj_nouns = [], [], [], []
    for cat, subs in V.CATALOGUE.items():
        for sub, (price, nouns) in subs.items():
            subjects.append(sub)
            subj_cat.append(cat)
            subj_price.append(price)
            subj_nouns.append(nouns)
    n_conf = len(V.CONFIGURABLE)
    n_plain = n_products - n_conf
    per = np.full(len(subjects), n_plain // len(subjects))
    per[: n_plain - per.sum()] += 1
    rows = []
    used_names: set[str] = set()
    for s, (sub, cat, base, nouns) in enumerate(zip(subjects, subj_cat, subj_price, subj_nouns)):
        prices = _round_price(base * rng.lognormal(0.0, 0.45, per[s]))
        margins = rng.uniform(0.30, 0.55, per[s])
        for k in range(per[s]):
            for _ in range(50):
                name = f"{V.ADJECTIVES[rng.integers(len(V.ADJECTIVES))]} {nouns[rng.integers(len(nouns))]}"
                if name not in used_names:
                    break
                name = f"{name} {rng.integers(2, 9)}"
                if name not in used_names:
                    break
            used_names.add(name)
            rows.append((name, cat, sub, float(prices[k]),
                         round(float(prices[k]) * (1 - margins[k]), 2), False))
    for sub, name, base, _mods in V.CONFIGURABLE:
        cat = subj_cat[subjects.index(sub)]
        rows.append((name, cat, sub, base, round(base * 0.58, 2), True))
    order = rng.permutation(len(rows))
    rows = [rows[i] for i in order]
    products = pd.DataFrame(rows, columns=["name", "category", "subject", "price", "unit_cost",
                                           "configurable"])
    products.insert(0, "product_id", [f"HF{100001 + i}" for i in range(len(products))])

    # popularity: Zipf within each subject (a random rank per product)
    subj_index = {s: i for i, s in enumerate(subjects)}
    sidx = products["subject"].map(subj_index).to_numpy()
    subject_products, subject_cumw = [], []
    for s in range(len(subjects)):
        idx = np.flatnonzero(sidx == s)
        ranks = rng.permutation(len(idx)) + 1
        w = 1.0 / ranks ** 1.1
        w[products["configurable"].to_numpy()[idx]] *= 0.3
        subject_products.append(idx)
        subject_cumw.append(np.cumsum(w) / w.sum())

    # components and rules
    comp_rows, rule_rows = [], []
    config_price: dict[int, np.ndarray] = {}
    config_cost: dict[int, np.ndarray] = {}
    name_to_row = {n: i for i, n in enumerate(products["name"]) if products["configurable"].iat[i]}
    for _sub, name, base, mods in V.CONFIGURABLE:
        row = name_to_row[name]
        pid = products["product_id"].iat[row]
        opts_by_mod = []
        for module, options in mods.items():
            ids = []
            for k, (opt, add) in enumerate(options):
                oid = f"{pid}-{module[:3].upper()}{k + 1}"
                comp_rows.append((pid, module, oid, opt, float(add), round(add * 0.55, 2), k == 0))
                ids.append((oid, add))
            opts_by_mod.append(ids)
        # rules only between non-default options, so every default configuration is valid
        nondef = [(m, o) for m, ids in enumerate(opts_by_mod) for o in ids[1:]]
        n_rules = 2 if len(opts_by_mod) >= 3 else 1
        for r in range(n_rules):
            a, b = rng.choice(len(nondef), 2, replace=False)
            (ma, oa), (mb, ob) = nondef[a], nondef[b]
            if ma == mb:
                continue
            rule = "requires" if r == 0 else "excludes"
            rule_rows.append((pid, oa[0], rule, ob[0]))
        # sample valid configurations for the purchase simulation
        prices, costs = [], []
        rules_here = [x for x in rule_rows if x[0] == pid]
        for _ in range(24):
            pick = [ids[rng.integers(len(ids))] for ids in opts_by_mod]
            chosen = {o[0] for o in pick}
            ok = True
            for _p, oa, rule, ob in rules_here:
                if oa in chosen and ((rule == "requires") != (ob in chosen)):
                    ok = False
            if not ok:
                pick = [ids[0] for ids in opts_by_mod]
            add = sum(o[1] for o in pick)
            prices.append(base + add)
            costs.append(round(base * 0.58 + add * 0.55, 2))
        config_price[row] = np.array(prices, dtype=float)
        config_cost[row] = np.array(costs, dtype=float)
    components = pd.DataFrame(comp_rows, columns=["product_id", "module", "option_id", "option_name",
                                                  "price", "unit_cost", "is_default"])
    # a second rule on the same pair of options could contradict the first (a requires b and
    # a excludes b): keep the first only. Filtered here, after the draws, so the rest of the
    # sample stays as it was.
    seen: set = set()
    consistent = []
    for row in rule_rows:
        key = (row[0], frozenset((row[1], row[3])))
        if key not in seen:
            seen.add(key)
            consistent.append(row)
    rules = pd.DataFrame(consistent, columns=["product_id", "option_id", "rule", "other_option_id"])
    return Catalogue(
        products=products, components=components, rules=rules, subjects=subjects,
        subject_category=subj_cat, subject_products=subject_products, subject_cumw=subject_cumw,
        price=products["price"].to_numpy(float), unit_cost=products["unit_cost"].to_numpy(float),
        configurable=products["configurable"].to_numpy(bool), config_price=config_price,
        config_cost=config_cost)
