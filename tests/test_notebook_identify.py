"""Notebook 01 runs end to end on the sample client, writes the stage's tables and records
figures that agree with the library's."""

from __future__ import annotations

import pytest

from onetoone import paths

pytestmark = pytest.mark.skipif(not paths.SAMPLE_CONFIG.exists(),
                                reason=f"the sample client is not generated ({paths.SAMPLE_CONFIG})")


def test_identify_notebook_on_the_sample(tmp_path):
    from sample_support import run_notebook, sample_config_file, sample_workspace

    from onetoone.config import load_config
    from onetoone.workspace import Workspace

    config = sample_config_file("ingest", tmp_path)
    figures = run_notebook("01_identify.ipynb", config, tmp_path, REVIEW_ROWS=5,
                           LOOKUP_QUERY="smith")["identify"]
    with Workspace(load_config(config).workspace_path, read_only=True) as ws:
        for t in ("record_map", "customers", "linkage_pairs", "link_overrides"):
            assert ws.has(t), t
        n_records, n_customers = ws.count("record_map"), ws.count("customers")
    assert figures["records"] == n_records and figures["customers"] == n_customers
    # the notebook and the CLI pipeline resolve the sample identically
    with Workspace(sample_workspace("identify").workspace_path, read_only=True) as ws:
        assert ws.count("customers") == n_customers
    assert figures["records_without_identifier"] > 0
    assert figures["precision"] >= 0.98 and figures["recall"] >= 0.97
    assert figures["blocking_recall"] >= figures["recall"] - 0.01
    assert 0.9 <= figures["estimated_blocking_recall"] <= 1.0
    assert 0 < figures["transactions_recognised"] < 1
    assert 0 < figures["interactions_recognised"] <= 1
    assert 0 < figures["addressable_email"] < 1
    assert isinstance(figures["top_question"], str)
