"""notebooks/03_interact.ipynb runs end to end on the sample client (in the suite's one batch
run), writes its tables and the campaign file. The client without an interactions file is a
partial client of the same run (tests/test_partial_clients.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from batch_support import sample_figures

from onetoone.interact import pipeline
from onetoone.workspace import Workspace


@pytest.mark.slow
def test_interact_notebook_on_sample():
    # the suite's one batch run executed the notebook on the sample (tests/batch_support.py);
    # the client without interactions is one of its partial clients (test_partial_clients.py)
    figures, config = sample_figures("03_interact")
    ws_path = yaml.safe_load(config.read_text(encoding="utf-8"))["workspace"]
    csv = Path(ws_path).parent / "contact_plan.csv"  # EXPORT_CSV's default
    assert figures["policy_violations"] == 0
    assert figures["value_source"] == "differentiate" and figures["has_interactions"] is True
    assert figures["planned_contacts"] > 1000 and figures["expected_value"] > 0
    assert figures["over_contacted"] >= 200 and figures["quiet_time_breaches"] >= 100
    assert figures["lost_valuable"] >= 200 and figures["repeat_complainers"] >= 150
    assert 0 < figures["shift_yearly_saving"] < figures["contact_cost_12m"]
    assert figures["lookup_events"] > 0
    exported = pd.read_csv(csv, dtype=str)
    assert list(exported.columns) == list(pipeline.EXPORT_COLUMNS)
    assert len(exported) == figures["export_rows"] == figures["planned_contacts"]
    with Workspace(ws_path, read_only=True) as ws:  # the notebook released its lock
        for table in ("contact_plan", "contact_breaches", "lost_valuable", "repeat_complainers",
                      "response_rates", "profile_questions", "channel_volumes"):
            assert ws.has(table), table
        plan = ws.read("contact_plan")
        assert len(plan) == figures["customers"]
        assert int((plan["action"] != "leave_alone").sum()) == figures["planned_contacts"]
