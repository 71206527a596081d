"""Notebook 01 runs end to end on the sample client (in the suite's one batch run), writes the stage's tables and records
figures that agree with the library's."""

from __future__ import annotations

import pytest

from onetoone import paths

pytestmark = pytest.mark.skipif(not paths.SAMPLE_CONFIG.exists(),
                                reason=f"the sample client is not generated ({paths.SAMPLE_CONFIG})")


@pytest.mark.slow
def test_identify_notebook_on_the_sample():
    from batch_support import sample_figures
    from sample_support import sample_workspace

    from onetoone.config import load_config
    from onetoone.workspace import Workspace

    # the suite's one batch run executed the notebook on the sample (tests/batch_support.py)
    figures, config = sample_figures("01_identify")
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
