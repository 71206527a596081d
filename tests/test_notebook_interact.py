"""notebooks/03_interact.ipynb runs end to end on the sample client, writes its tables and the
campaign file, and, on a client without an interactions file, still plans and says what the
missing data would add."""

from __future__ import annotations

import json

import pandas as pd
import yaml
from sample_support import run_notebook, sample_config_file

from onetoone.interact import pipeline
from onetoone.workspace import Workspace


def test_interact_notebook_on_sample_with_and_without_interactions(tmp_path):
    full = tmp_path / "full"
    full.mkdir()
    config = sample_config_file("differentiate", full)
    csv = full / "plan.csv"
    figures = run_notebook("03_interact.ipynb", config, full, EXPORT_CSV=str(csv))["interact"]
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
    ws_path = yaml.safe_load(config.read_text(encoding="utf-8"))["workspace"]
    with Workspace(ws_path, read_only=True) as ws:  # the notebook released its lock
        for table in ("contact_plan", "contact_breaches", "lost_valuable", "repeat_complainers",
                      "response_rates", "profile_questions", "channel_volumes"):
            assert ws.has(table), table
        plan = ws.read("contact_plan")
        assert len(plan) == figures["customers"]
        assert int((plan["action"] != "leave_alone").sum()) == figures["planned_contacts"]

    # the same client without its interactions file
    bare = tmp_path / "bare"
    bare.mkdir()
    config = sample_config_file("differentiate", bare)
    with Workspace(yaml.safe_load(config.read_text(encoding="utf-8"))["workspace"]) as ws:
        ws.drop("interactions")
    figures = run_notebook("03_interact.ipynb", config, bare)["interact"]
    assert figures["has_interactions"] is False and figures["policy_violations"] == 0
    assert figures["planned_contacts"] > 1000 and figures["lost_valuable"] >= 200
    text = json.dumps(json.loads((bare / "03_interact.ipynb").read_text(encoding="utf-8")))
    assert "No interactions file" in text and "badgering check" in text
