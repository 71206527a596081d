"""Ingest against the corpus of broken client files in tests/data/broken (see its README)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from onetoone.config import load_config
from onetoone.ingest import IngestError, ingest
from onetoone.workspace import Workspace

BROKEN = Path(__file__).parent / "data" / "broken"


@pytest.fixture()
def cfg(tmp_path):
    for f in BROKEN.iterdir():
        shutil.copy(f, tmp_path / f.name)
    return load_config(tmp_path / "client.yaml")


@pytest.fixture()
def ws(cfg):
    with Workspace.open(cfg) as w:
        yield w


@pytest.mark.parametrize("source, fragment", [
    ("empty", "empty"),
    ("header_only", "no data rows"),
    ("missing", "file not found"),
    ("glob_none", "no file matches"),
    ("latin1", "cannot be decoded as utf-8"),
    ("wrong_columns", "none of the mapped columns"),
    ("no_amount", "required column(s) ['amount']"),
])
def test_unusable_file_stops_with_error_naming_it(cfg, ws, source, fragment):
    src = cfg.source(source)
    with pytest.raises(IngestError) as err:
        ingest(cfg, ws, sources=[source], echo=False)
    msg = str(err.value)
    assert fragment in msg
    assert Path(src.path).name.replace("*", "") .split("_*")[0] in msg or src.path in msg
    assert not ws.has("transactions") or ws.count("transactions") == 0


def test_declared_encoding_loads_latin1(cfg, ws):
    (res,) = ingest(cfg, ws, sources=["latin1_declared"], echo=False)
    assert (res.read, res.loaded, res.quarantined) == (1, 1, 0)
    row = ws.read("customer_records").iloc[0]
    assert row["last_name"] == "Müller" and row["street"] == "Hauptstraße 1"


def test_bom_semicolon_and_decimal_commas(cfg, ws):
    (res,) = ingest(cfg, ws, sources=["german"], echo=False)
    assert (res.read, res.loaded, res.quarantined) == (5, 5, 0)
    df = ws.read("transactions").set_index("transaction_id")
    assert df.loc["B1", "amount"] == pytest.approx(1234.50)
    assert df.loc["B3", "amount"] == pytest.approx(-3.99)
    assert df.loc["B5", "channel"] == "call_centre"
    assert str(df.loc["B2", "date"].date()) == "2026-01-06"
    assert df.loc["B3", "record_key"] is None or df["record_key"].isna()["B3"]  # anonymous
    assert df.loc["B1", "record_key"] == "kasse:K1"


def test_bad_rows_are_quarantined_with_reasons_and_counts_add_up(cfg, ws):
    (res,) = ingest(cfg, ws, sources=["tx_bad_rows"], echo=False)
    assert res.read == 11
    assert res.loaded + res.quarantined == res.read
    reasons: dict[str, int] = {}
    for k, v in res.reasons.items():
        reasons[k.split(" (")[0]] = reasons.get(k.split(" (")[0], 0) + v
    assert reasons == {
        "does not match the declared date format": 1, "date after the as-of date 2026-06-30": 1,
        "does not match the declared number format": 2,  # 'ten', and '1,299.00' (no thousands
        "empty identifier": 2,  # transaction_id and product_id          separator declared)
        "duplicate transaction_id within the source": 1, "unknown channel": 1,
    }
    assert res.loaded == 3  # L1, L2, L9 (anonymous)
    q = ws.read("quarantine")
    assert set(q["action"]) == {"row quarantined"}
    row = q[q["value"] == "ten"].iloc[0]
    assert (row["file"].endswith("tx_bad_rows.csv"), row["row"], row["column"]) == \
        (True, 6, "amount")
    assert row["reason"].startswith("does not match the declared number format (amount; decimal '.'")
    dup = q[q["reason"].str.startswith("duplicate")].iloc[0]
    assert (dup["row"], dup["value"]) == (8, "L1") and "the row kept is line 2" in dup["reason"]
    tx = ws.read("transactions").set_index("transaction_id")
    assert tx.loc["L1", "record_id"] == "C1"  # the first of the duplicates wins
    assert tx.loc["L9", "record_key"] is None or tx["record_key"].isna()["L9"]


def test_bad_optional_values_are_cleared_not_lost(cfg, ws):
    (res,) = ingest(cfg, ws, sources=["customers_bad"], echo=False)
    assert (res.read, res.loaded, res.quarantined) == (5, 3, 2)
    cust = ws.read("customer_records").set_index("record_id")
    assert set(cust.index) == {"A1", "A2", "A5"}
    assert cust.loc["A1", "last_name"] == "Lee"
    assert cust["birth_date"].isna()["A2"] and cust["birth_date"].isna()["A5"]  # bad / future
    assert cust.loc["A5", "email"] == "cat@example.com"
    assert cust["household_size"].isna()["A5"] and cust.loc["A2", "household_size"] == 3
    q = ws.read("quarantine")
    cleared = q[q["action"] == "value cleared"]
    assert sorted(cleared["column"]) == ["birth_date", "birth_date", "consent_email", "household_size"]
    assert res.cleared == 4


def test_interactions_rules(cfg, ws):
    (res,) = ingest(cfg, ws, sources=["interactions_bad"], echo=False)
    assert (res.read, res.loaded, res.quarantined) == (5, 3, 2)
    assert {k.split(" (")[0] for k in res.reasons} == {"unknown channel",
                                                       "date after the as-of date 2026-06-30"}
    it = ws.read("interactions").set_index("interaction_id")
    assert it["satisfaction"].isna()["I5"] and it.loc["I1", "satisfaction"] == 2


def test_reingest_replaces_never_duplicates(cfg, ws):
    first = ingest(cfg, ws, sources=["tx_good", "tx_bad_rows"], echo=False)
    n_tx, n_q = ws.count("transactions"), ws.count("quarantine")
    again = ingest(cfg, ws, sources=["tx_bad_rows"], echo=False)
    assert ws.count("transactions") == n_tx and ws.count("quarantine") == n_q
    assert again[0].loaded == first[1].loaded
    log = ws.read("ingest_log")
    assert sorted(log["source"]) == ["tx_bad_rows", "tx_good"]


def test_duplicate_key_across_sources_is_quarantined(cfg, ws):
    ingest(cfg, ws, sources=["tx_good"], echo=False)
    (res,) = ingest(cfg, ws, sources=["tx_bad_rows"], echo=False)
    assert any("already loaded from another source" in r for r in res.reasons)
    assert res.loaded + res.quarantined == res.read
