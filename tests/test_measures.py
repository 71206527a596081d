"""Short-term measures: scorecard per period and group, pilot vs matched control."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from onetoone.config import ClientConfig
from onetoone.measures import (
    ALL,
    INSIDE,
    REST,
    bootstrap_mean_ci,
    periods,
    pilot_vs_control,
    scorecard,
    scorecard_table,
)
from onetoone.workspace import Workspace


def _cfg(tmp_path, **kw) -> ClientConfig:
    cfg = ClientConfig(client="T", as_of="2026-06-30", sources=[], **kw)
    cfg.base_dir = tmp_path
    return cfg


def _tx(rows):
    df = pd.DataFrame(rows, columns=["record_key", "date", "amount", "product_id", "order_id"])
    df["date"] = pd.to_datetime(df["date"])
    return df


def test_periods_are_rolling_windows_ending_at_as_of():
    ps = periods("2026-06-30", "Q", 2)
    assert ps[0].start == pd.Timestamp("2026-04-01") and ps[0].end == pd.Timestamp("2026-07-01")
    assert ps[1].end == ps[0].start and ps[1].label == "2026-01-01 to 2026-03-31"


def test_scorecard_by_group_and_period(tmp_path):
    cfg = _cfg(tmp_path)
    with Workspace(tmp_path / "w.duckdb") as ws:
        ws.write("transactions", _tx([
            ("a", "2026-02-01", 100.0, "p1", "o1"), ("a", "2026-05-01", 300.0, "p2", "o2"),
            ("a", "2026-05-02", 100.0, "p1", "o3"),
            ("b", "2026-02-10", 50.0, "p1", "o4"),  # b lapses: not retained
            ("c", "2026-06-01", 20.0, "p1", "o5"),
            (None, "2026-06-01", 999.0, "p1", "o6"),  # anonymous: not in any customer measure
        ]))
        ws.write("products", pd.DataFrame({"product_id": ["p1", "p2"], "category": ["x", "y"]}))
        ws.write("interactions", pd.DataFrame({
            "record_key": ["a", "c", "c"], "date": pd.to_datetime(["2026-05-05", "2026-06-02", "2026-06-03"]),
            "channel": ["call_centre", "email", "web"], "cost": [None, None, 1.0],
            "satisfaction": [4.0, None, 2.0]}))
        ws.write("fence_assignment", pd.DataFrame({"customer_id": ["a"], "manager": [1]}))
        ws.write("customer_value", pd.DataFrame({"customer_id": ["a", "b", "c"],
                                                 "share_of_wallet": [0.8, 0.2, 0.5], "tier": ["MVC", "maintain", "maintain"]}))
        card, notes = scorecard(cfg, ws)
    v = card[card["period"] == 0].set_index(["group", "measure"])["value"]
    assert v[(INSIDE, "revenue_per_customer")] == 400.0
    assert v[(INSIDE, "categories_per_customer")] == 2.0
    assert v[(REST, "revenue_per_customer")] == 20.0
    assert v[(ALL, "active_customers")] == 2.0
    assert v[(INSIDE, "retention")] == 1.0 and v[(REST, "retention")] == 0.0
    assert v[(REST, "attrition")] == 1.0
    assert v[(INSIDE, "cost_to_serve_per_customer")] == pytest.approx(cfg.channel_costs["call_centre"])
    assert v[(REST, "cost_to_serve_per_customer")] == pytest.approx(cfg.channel_costs["email"] + 1.0)
    assert v[(ALL, "satisfaction")] == pytest.approx(3.0)
    assert v[(REST, "share_of_wallet")] == pytest.approx(0.35)
    assert notes["customers_inside"] == 1
    table = scorecard_table(card)
    assert table.index[0] == ("active_customers", INSIDE)


def test_bootstrap_ci_covers_known_difference():
    rng = np.random.default_rng(1)
    d = rng.normal(5.0, 2.0, 400)
    mean, lo, hi = bootstrap_mean_ci(d)
    assert lo < 5.0 < hi and hi - lo < 1.0 and mean == pytest.approx(d.mean())


def test_pilot_vs_control_finds_a_planted_uplift(tmp_path):
    rng = np.random.default_rng(3)
    rows, pilot = [], []
    for i in range(400):
        key = f"k{i}"
        base = rng.lognormal(4, 0.5)
        rows.append((key, "2025-06-01", base, "p1", f"pre{i}"))
        uplift = 30.0 if i % 2 == 0 else 0.0
        rows.append((key, "2026-03-01", base + uplift + rng.normal(0, 5), "p1", f"post{i}"))
        if i % 2 == 0:
            pilot.append(key)
    pd.DataFrame({"customer_id": pilot}).to_csv(tmp_path / "pilot.csv", index=False)
    cfg = _cfg(tmp_path, pilot={"path": "pilot.csv", "start": "2026-01-01"})
    with Workspace(tmp_path / "w.duckdb") as ws:
        ws.write("transactions", _tx(rows))
        res, notes = pilot_vs_control(cfg, ws, n_boot=500)
    post = res.iloc[0]
    assert notes["matched_pairs"] == 200
    assert post["significant"] and post["ci_low"] < 30 < post["ci_high"] + 5
    balance = res.iloc[2]
    assert abs(balance["difference"]) < 5
