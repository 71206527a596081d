"""The Interact workshop widgets on the sample: the timeline found by id, name, email or phone
(Identify's search), "where we left off" agreeing with the table, the next best action; the
channel-shift simulator's tier checkboxes."""

from __future__ import annotations

import pandas as pd
import pytest

from onetoone import columns as C
from onetoone.ui.interact import ChannelShiftSimulator, TimelineLookup


@pytest.fixture(scope="module")
def sample_lookup():
    from sample_support import sample_workspace

    from onetoone.workspace import Workspace

    cfg = sample_workspace("identify")
    with Workspace(cfg.workspace_path, read_only=True) as ws:
        lookup = TimelineLookup.snapshot(ws, cfg.as_of, currency=cfg.currency)
        customers = ws.read("customers")
    return lookup, customers


@pytest.mark.slow
def test_timeline_finds_a_customer_by_id_name_email_or_phone(sample_lookup):
    lookup, customers = sample_lookup
    c = customers.dropna(subset=[C.EMAIL, C.PHONE, C.LAST_NAME]).sort_values(
        "n_records", ascending=False).iloc[0]
    cid = str(c[C.CUSTOMER_ID])
    for query in (cid.lower(), c[C.EMAIL].upper(), f"  {c[C.PHONE]} ",
                  f"{c[C.FIRST_NAME]} {c[C.LAST_NAME]}".upper()):
        lookup.customer.value = query
        ids = [v for _, v in lookup.results.options]
        assert cid in ids, query
        assert "found" in lookup.status.value or " of " in lookup.status.value
    lookup.results.value = cid
    assert lookup.shown == cid and "Where we left off with" in lookup.summary.value
    # a common surname: the count says how many matched, not the cap
    common = customers[C.LAST_NAME].value_counts().index[0]
    lookup.customer.value = common
    total = int((customers[C.LAST_NAME].str.lower() == common.lower()).sum())
    if total > lookup.LIMIT:
        assert f"{lookup.LIMIT} of " in lookup.status.value


@pytest.mark.slow
def test_where_we_left_off_agrees_with_the_table_and_shows_the_plan(sample_lookup):
    lookup, _ = sample_lookup
    it = lookup.interactions
    comp = it.filter((it[C.INTERACTION_TYPE] == "complaint") & (it[C.OUTCOME] == "open")
                     & it[C.CUSTOMER_ID].notnull()).select(C.CUSTOMER_ID).distinct().to_pandas()
    checked = 0
    for cid in comp[C.CUSTOMER_ID].astype(str).head(40):
        lookup.show(cid)
        tl = lookup.timeline
        open_rows = tl[(tl["type"] == "complaint") & (tl["outcome"] == "open")]
        assert len(open_rows) and lookup.last.open_complaint, cid  # the table lists one
        assert "still open" in lookup.summary.value
        checked += 1
    assert checked >= 10
    cid = str(comp[C.CUSTOMER_ID].iloc[0])
    lookup.show(cid)
    assert "no contact plan yet" in lookup.summary.value
    plan = pd.DataFrame({C.CUSTOMER_ID: [cid], "action": ["retain"], "channel": ["email"],
                         C.PLANNED_DATE: [pd.Timestamp("2026-10-05")],
                         "reason": ["valuable and declining: a call before they lapse"]})
    lookup.set_plan(plan)
    assert "Next best action" in lookup.summary.value and "Retain" in lookup.summary.value
    assert "valuable and declining" in lookup.summary.value


def test_keep_people_for_is_one_checkbox_per_tier():
    vols = pd.DataFrame({"channel": ["call_centre"] * 3, "direction": "inbound",
                         "tier": ["MVC", "MGC", "maintain"], "contacts": [100, 100, 100],
                         "customers": [50, 50, 50], "cost": [650.0] * 3})
    sim = ChannelShiftSimulator(vols, {"call_centre": 6.5, "web": 0.1}, share=1.0,
                                keep_tiers=("MVC",))
    assert set(sim.keep_boxes) == {"MVC", "MGC", "maintain"}
    assert sim.keep_tiers == ("MVC",)
    sim.keep_boxes["MGC"].value = True  # a plain click on MGC keeps MVC ticked
    assert sim.keep_tiers == ("MVC", "MGC")
    saved = sim.current["yearly_saving"]
    sim.keep_boxes["MVC"].value = False
    assert sim.keep_tiers == ("MGC",) and sim.current["yearly_saving"] > saved
