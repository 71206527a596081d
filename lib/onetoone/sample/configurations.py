"""The sample client's saved configurations: the web shop's configurator export.

Every online purchase of a configurable product was configured first: it is exported as an
``ORDERED`` configuration of the buyer's web account, saved a few minutes before the order.
A customer who buys the same base product again re-orders their last configuration with
probability ``REORDER`` (else configures a new one). Some web customers also saved a
configuration they never ordered (``SAVED``) or left one half-way (``ABANDONED``). Options
are drawn within the compatibility rules (defaults more often than other options); the quoted
price is the base price plus the options. The file is ``web_configurations.csv.gz`` and the
client config maps it onto the canonical ``saved_configurations`` table.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml

__all__ = ["FILE", "REORDER", "saved_configurations", "source_config", "write_configurations"]

FILE = "web_configurations.csv.gz"
REORDER = 0.6  # chance that a repeat purchase of a base product re-uses the last configuration
SAVED_ONLY = 0.05  # share of other web customers who saved a configuration without ordering
STATES = {"saved": "SAVED", "ordered": "ORDERED", "abandoned": "ABANDONED"}


def _rng(seed: int) -> np.random.Generator:
    # a child of the seed no other stream of the generator uses (they spawn up to 13 deep;
    # accounts.py uses 100)
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(101,)))


class _Options:
    """Draw valid configurations of one base product from the catalogue's components."""

    def __init__(self, components: pd.DataFrame, rules: pd.DataFrame, base_price: float):
        self.modules = [list(g["option_id"]) for _, g in components.groupby("module", sort=False)]
        self.price = dict(zip(components["option_id"], components["price"].astype(float)))
        self.rules = list(zip(rules["option_id"], rules["rule"], rules["other_option_id"]))
        self.base = base_price

    def valid(self, chosen: set) -> bool:
        return all(a not in chosen or ((b in chosen) == (r == "requires")) for a, r, b in self.rules)

    def draw(self, rng: np.random.Generator) -> list[str]:
        for _ in range(30):
            pick = [opts[0] if rng.random() < 0.4 else opts[rng.integers(len(opts))]
                    for opts in self.modules]
            if self.valid(set(pick)):
                return pick
        return [opts[0] for opts in self.modules]  # defaults are always valid

    def quote(self, pick: list[str]) -> float:
        return round(self.base + sum(self.price[o] for o in pick), 2)


def saved_configurations(g) -> pd.DataFrame:
    """The export as the web shop delivers it (one row per saved configuration)."""
    from .writer import _ts

    rng = _rng(g.seed)
    cat = g.cat
    prod_ids = cat.products["product_id"].to_numpy()
    base_price = dict(zip(cat.products["product_id"], cat.products["price"].astype(float)))
    opts = {p: _Options(c, cat.rules[cat.rules["product_id"] == p], base_price[p])
            for p, c in cat.components.groupby("product_id", sort=False)}
    L = g.lines
    web = ((L["channel"] == "web").to_numpy() & ~L["is_return"].to_numpy(bool)
           & L["record_id"].notna().to_numpy())
    conf = cat.configurable[L["product"].to_numpy()] & web
    bought = pd.DataFrame({"record_id": L["record_id"].to_numpy()[conf],
                           "product_id": prod_ids[L["product"].to_numpy()[conf]],
                           "day": L["day"].to_numpy(float)[conf]})
    bought = bought.sort_values(["record_id", "day", "product_id"], kind="stable")
    rows = []
    last: dict = {}
    for rec, pid, day in bought.itertuples(index=False):
        o = opts[pid]
        prev = last.get((rec, pid))
        pick = prev if prev is not None and rng.random() < REORDER else o.draw(rng)
        last[(rec, pid)] = pick
        saved = day - rng.uniform(5, 90) / 1440
        rows.append((rec, pid, pick, o.quote(pick), saved, "ordered"))
    # web customers who saved (or abandoned) a configuration without ordering one
    buyers = set(bought["record_id"])
    others = pd.DataFrame({"record_id": L["record_id"].to_numpy()[web],
                           "day": L["day"].to_numpy(float)[web]})
    others = others[~others["record_id"].isin(buyers)].drop_duplicates("record_id")
    others = others.sort_values("record_id", kind="stable")
    keep = rng.random(len(others)) < SAVED_ONLY
    bases = list(opts)
    for rec, day in others[keep].itertuples(index=False):
        pid = bases[rng.integers(len(bases))]
        pick = opts[pid].draw(rng)
        state = "abandoned" if rng.random() < 0.25 else "saved"
        rows.append((rec, pid, pick, opts[pid].quote(pick), day - rng.uniform(1, 60) / 1440,
                     state))
    df = pd.DataFrame(rows, columns=["record_id", "product_id", "pick", "price", "day", "state"])
    df = df.sort_values(["day", "record_id"], kind="stable").reset_index(drop=True)
    ts = pd.Series(_ts(df["day"].to_numpy()))
    return pd.DataFrame({
        "ConfigRef": [f"CFG{i + 1:06d}" for i in range(len(df))],
        "AccountId": df["record_id"].to_numpy(),
        "BaseSKU": df["product_id"].to_numpy(),
        "Options": [";".join(p) for p in df["pick"]],
        "QuotedPrice": df["price"].to_numpy(),
        "SavedAt": ts.dt.strftime("%Y-%m-%d %H:%M:%S").to_numpy(),
        "State": df["state"].map(STATES).to_numpy(),
    })


def source_config() -> dict:
    """The client.yaml source entry that maps the export onto ``saved_configurations``."""
    return {"name": "web_configurations", "path": FILE, "table": "saved_configurations",
            "system": "web", "format": "csv",
            "columns": {"ConfigRef": "configuration_id", "AccountId": "record_id",
                        "BaseSKU": "product_id", "Options": "options",
                        "QuotedPrice": "price", "SavedAt": "created_at", "State": "status"},
            "values": {"status": {v: k for k, v in STATES.items()}}}


def write_configurations(g, out: Path) -> int:
    """Write the export beside the other files and add its source to ``client.yaml``."""
    from .generator import write_csv

    df = saved_configurations(g)
    write_csv(df, out / FILE, float_format="%.2f")
    path = out / "client.yaml"
    text = path.read_text(encoding="utf-8")
    head = "".join(line + "\n" for line in text.splitlines() if line.startswith("#"))
    cfg = yaml.safe_load(text)
    cfg["sources"] = [s for s in cfg["sources"] if s.get("name") != "web_configurations"]
    cfg["sources"].append(source_config())
    path.write_text(head + yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True, width=100),
                    encoding="utf-8")
    return len(df)
