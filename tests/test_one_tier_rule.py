"""One tier rule and one value summary across the stages.

Differentiate's rule is the only one: Interact and Customize read the tier Differentiate wrote,
or, before it has run, the one fallback defined in differentiate.tiers. Margins follow one rule
(the line's cost, else quantity x the product's unit cost) wherever a stage sums them.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from onetoone import paths
from onetoone.differentiate.tiers import FALLBACK_RULE, TIERS, fallback_tiers


def _workspace(tmp_path, n=300, seed=11):
    """Transactions (a third without a line cost), products with unit costs, some contacts."""
    from onetoone.config import ClientConfig
    from onetoone.workspace import Workspace

    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        for _ in range(int(rng.integers(1, 8))):
            day = pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(rng.integers(0, 1000)))
            rows.append((f"pos:{i}", day, f"p{rng.integers(0, 6)}", float(rng.gamma(2, 30))))
    tx = pd.DataFrame(rows, columns=["record_key", "date", "product_id", "amount"])
    tx["transaction_id"] = [f"t{j}" for j in range(len(tx))]
    tx["order_id"] = tx["transaction_id"]
    tx["quantity"] = 1.0
    tx["cost"] = np.where(rng.random(len(tx)) < 0.33, np.nan, (tx["amount"] * 0.55).round(2))
    tx["channel"] = "store"
    products = pd.DataFrame({"product_id": [f"p{i}" for i in range(6)], "category": "c",
                             "unit_cost": [5.0, 10.0, 20.0, 1.0, 2.0, 40.0]})
    contacts = pd.DataFrame({
        "interaction_id": [f"i{j}" for j in range(400)],
        "record_key": [f"pos:{rng.integers(0, n)}" for _ in range(400)],
        "date": pd.Timestamp("2026-03-01"), "channel": "call_centre", "cost": None,
        "direction": "inbound", "type": "service"})
    cfg = ClientConfig(client="tiers", as_of="2026-09-30", sources=[],
                       workspace=str(tmp_path / "tiers.duckdb"))
    ws = Workspace(cfg.workspace_path)
    ws.write("transactions", tx)
    ws.write("products", products)
    ws.write("interactions", contacts)
    ws.write("customer_records", pd.DataFrame({"record_key": [f"pos:{i}" for i in range(n)],
                                               "record_id": [str(i) for i in range(n)]}))
    return cfg, ws


def _tiers_everywhere(cfg, ws) -> pd.DataFrame:
    from onetoone.customize.profile import customer_profile
    from onetoone.differentiate.read import customer_tiers
    from onetoone.interact import data

    d, source = customer_tiers(cfg, ws)
    i, isource = data.customer_values(ws, data.activity(ws), cfg)
    c = customer_profile(ws, cfg=cfg)
    assert source == isource
    out = (d.set_index("customer_id")["tier"].rename("differentiate").to_frame()
           .join(i.set_index("customer_id")["tier"].rename("interact"))
           .join(c.set_index("customer_id")["tier"].rename("customize")))
    out.attrs["source"] = source
    return out


def test_tiers_is_defined_once():
    pattern = re.compile(r"^\s*TIERS\s*=", re.MULTILINE)
    defined = [p for p in (paths.ROOT / "lib").rglob("*.py") if pattern.search(p.read_text())]
    assert [p.relative_to(paths.ROOT / "lib").as_posix() for p in defined] == \
        ["onetoone/differentiate/tiers.py"]
    from onetoone.interact import data

    assert data.TIERS is TIERS


def test_fallback_rule_is_differentiates_rule_without_potential():
    cv = pd.DataFrame({"contribution": [500.0, 300.0, 50.0, 40.0, 30.0, 20.0, 10.0, 5.0, -3.0,
                                        0.0]}, index=list("abcdefghij"))
    from onetoone.config import Tiers

    t = fallback_tiers(cv, Tiers(mvc_share=0.2, mgc_share=0.3)).table["tier"]
    assert list(t[["a", "b"]]) == ["MVC", "MVC"]  # top 20 % by contribution
    assert list(t[["i", "j"]]) == ["BZ", "BZ"]  # at or below zero
    assert "MGC" not in set(t)  # growability is unknown without Differentiate's potential
    assert set(t) <= set(TIERS) and "potential" in FALLBACK_RULE


def test_every_stage_reads_the_same_tier_before_and_after_differentiate(tmp_path):
    from onetoone.differentiate.pipeline import differentiate, write

    cfg, ws = _workspace(tmp_path)
    with ws:
        before = _tiers_everywhere(cfg, ws)
        assert before.attrs["source"] == "fallback"
        assert (before["differentiate"] == before["interact"]).all()
        assert (before["differentiate"] == before["customize"]).all()
        assert before["differentiate"].value_counts()["MVC"] >= 10
        write(ws, differentiate(cfg, ws))
        after = _tiers_everywhere(cfg, ws)
        cv = ws.read("customer_value").set_index("customer_id")["tier"]
    assert after.attrs["source"] == "differentiate"
    assert (after["interact"] == cv.reindex(after.index)).all()
    assert (after["customize"] == cv.reindex(after.index)).all()
    assert len(set(after["differentiate"])) >= 2


def test_one_margin_rule_in_every_value_summary(tmp_path):
    from onetoone.customers import with_customer_id
    from onetoone.differentiate.value import historical_value
    from onetoone.interact import data

    cfg, ws = _workspace(tmp_path)
    with ws:
        tx = with_customer_id(ws, "transactions")
        hv = historical_value(tx, None, ws.table("products"), as_of=cfg.as_of)
        ps = data.purchase_summary(tx, cfg.as_of, products=ws.table("products"))
        nulls = int(ws.sql("SELECT count(*) AS n FROM transactions WHERE cost IS NULL")["n"][0])
    assert nulls > 100  # the unit-cost fallback matters on this data
    m = hv.set_index("customer_id")["gross_margin"]
    p = ps.set_index("customer_id")["margin"].reindex(m.index)
    np.testing.assert_allclose(p.to_numpy(), m.to_numpy(), rtol=1e-9)


def test_no_stage_module_ranks_tiers_on_its_own():
    """No tier labels assigned outside Differentiate (np.select / tier[...] = "MVC")."""
    offenders = []
    for p in (paths.ROOT / "lib" / "onetoone").rglob("*.py"):
        rel = p.relative_to(paths.ROOT / "lib" / "onetoone").as_posix()
        if rel.startswith(("differentiate/", "sample/")):
            continue
        if re.search(r"""\[[^\]]*\]\s*=\s*["']MVC["']""", p.read_text()):
            offenders.append(rel)
    assert not offenders, offenders


@pytest.mark.parametrize("module", ["interact/data.py", "customize/profile.py"])
def test_later_stages_name_the_fallback(module):
    text = (Path(paths.ROOT) / "lib" / "onetoone" / module).read_text()
    assert "customer_tiers" in text
