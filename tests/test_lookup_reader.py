"""The lookups read the workspace per lookup: the customer's rows only (record keys resolved
through record_map, as with_customer_id resolves them), and no file lock held between lookups."""

from __future__ import annotations

import pandas as pd

from onetoone.customers import with_customer_id
from onetoone.interact.timeline import customer_timeline
from onetoone.ui.interact import TimelineLookup
from onetoone.workspace import Workspace

AS_OF = "2026-09-30"


def _workspace(path) -> Workspace:
    ws = Workspace(path)
    # c1 has two records; crm:x is a record key that is also mapped (to c2); web:z is unmapped
    ws.write("record_map", pd.DataFrame({"record_key": ["crm:a", "web:b", "crm:x"],
                                         "customer_id": ["c1", "c1", "c2"]}))
    ws.write("transactions", pd.DataFrame({
        "transaction_id": [f"t{i}" for i in range(6)],
        "order_id": ["o1", "o1", "o2", "o3", "o4", "o5"],
        "record_key": ["crm:a", "crm:a", "web:b", "crm:x", "web:z", None],
        "date": pd.to_datetime(["2026-01-02", "2026-01-02", "2026-03-01", "2026-04-01",
                                "2026-05-01", "2026-06-01"]),
        "product_id": ["p2", "p1", "p1", "p1", "p2", "p1"],
        "amount": [10.0, 5.0, 7.0, 3.0, 4.0, 9.0], "is_return": False, "channel": "web",
        "source_system": "crm"}))
    ws.write("interactions", pd.DataFrame({
        "interaction_id": ["i1", "i2"], "record_key": ["web:b", "crm:x"],
        "date": pd.to_datetime(["2026-07-01", "2026-07-02"]), "channel": ["email", "web"],
        "direction": "inbound", "type": ["complaint", "enquiry"],
        "outcome": ["open", None], "topic": ["late", None], "source_system": "crm"}))
    ws.write("products", pd.DataFrame({"product_id": ["p1", "p2"], "name": ["Lamp", "Bulb"]}))
    return ws


def test_timeline_reads_one_customer_and_releases_the_file(tmp_path):
    path = tmp_path / "w.duckdb"
    ws = _workspace(path)
    whole = {c: customer_timeline(with_customer_id(ws, "transactions"),
                                  with_customer_id(ws, "interactions"), c,
                                  products=ws.table("products"))
             for c in ("c1", "c2", "web:z", "crm:x", "nobody")}
    lookup = TimelineLookup.snapshot(ws, AS_OF)
    lookup.show("c1")  # while the notebook's workspace is open, through it
    pd.testing.assert_frame_equal(lookup.timeline, whole["c1"])
    ws.close()
    for c, expected in whole.items():  # the same rows as filtering the whole tables
        lookup.show(c)
        pd.testing.assert_frame_equal(lookup.timeline, expected, check_dtype=False)
    assert len(whole["c1"]) == 3 and "2 line(s): Bulb, Lamp" in set(whole["c1"]["detail"])
    assert whole["crm:x"].empty  # a record key mapped to another customer is that customer's
    assert len(whole["web:z"]) == 1  # an unmapped record counts as its own customer
    # nothing holds the file between lookups: a writer can open it now
    with Workspace(path) as writer:
        assert writer.has("transactions")
    lookup.show("c2")
    assert lookup.last.events == 2
