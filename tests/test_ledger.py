"""Atomic stages and the run ledger: a stage's tables commit together; a stage refuses an
interrupted, failed or out-of-date upstream, naming what to re-run; `onetoone status` prints it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
from sample_support import sample_config_file

from onetoone.cli import main, status_text
from onetoone.workspace import StaleInputError, Workspace


def _ws(tmp_path: Path) -> Workspace:
    ws = Workspace(tmp_path / "w.duckdb")
    ws.write("customer_records", pd.DataFrame({"record_key": ["crm:1", "crm:2", "web:1"]}))
    return ws


def _identify(ws: Workspace, n: int = 3) -> None:
    with ws.stage_run("identify"):
        ws.write("record_map", pd.DataFrame({"record_key": ["crm:1", "crm:2", "web:1"][:n],
                                             "customer_id": ["c1", "c2", "c1"][:n]}))
        ws.write("customers", pd.DataFrame({"customer_id": ["c1", "c2"]}))


def test_a_failed_stage_commits_none_of_its_tables(tmp_path):
    ws = _ws(tmp_path)
    _identify(ws)
    before = ws.fingerprint(["record_map", "customers"])
    with pytest.raises(ZeroDivisionError), ws.stage_run("identify"):
        ws.write("record_map", pd.DataFrame({"record_key": ["crm:1"], "customer_id": ["x"]}))
        ws.write("customers", pd.DataFrame({"customer_id": ["x"]}))
        ws.write("linkage_pairs", pd.DataFrame({"a": [1]}))
        raise ZeroDivisionError("mid-stage")
    assert ws.fingerprint(["record_map", "customers"]) == before
    assert not ws.has("linkage_pairs")
    led = ws.ledger()
    assert list(led["status"]) == ["ok", "failed"]
    assert "ZeroDivisionError" in led["message"].iloc[-1]


def test_ledger_records_inputs_outputs_and_upstream(tmp_path):
    ws = _ws(tmp_path)
    _identify(ws)
    with ws.stage_run("differentiate"):
        ws.write("customer_value", pd.DataFrame({"customer_id": ["c1", "c2"], "clv": [1.0, 2.0]}))
    ident, diff = ws.last_run("identify"), ws.last_run("differentiate")
    assert ident["inputs"]["customer_records"][0] == 3
    assert ident["outputs"]["record_map"][0] == 3 and ident["outputs"]["customers"][0] == 2
    assert diff["inputs"]["upstream"] == {"identify": ident["run_id"]}
    assert diff["inputs"]["record_map"] == ident["outputs"]["record_map"]
    assert diff["outputs"] == {"customer_value": ws.fingerprint(["customer_value"])["customer_value"]}
    assert ident["ended_at"] >= ident["started_at"]


def test_nested_runs_of_one_stage_are_one_run(tmp_path):
    ws = _ws(tmp_path)
    with ws.stage_run("identify") as outer:
        with ws.stage_run("identify") as inner:
            ws.write("record_map", pd.DataFrame({"record_key": ["crm:1"], "customer_id": ["c1"]}))
        assert inner is outer
        ws.write("customers", pd.DataFrame({"customer_id": ["c1"]}))
    assert len(ws.ledger()) == 1
    assert set(ws.last_run("identify")["outputs"]) == {"record_map", "customers"}
    with pytest.raises(RuntimeError, match="inside a identify run"), \
            ws.stage_run("identify"), ws.stage_run("interact"):
        pass


def test_refuses_after_a_failed_upstream_until_it_is_rerun(tmp_path):
    ws = _ws(tmp_path)
    _identify(ws)
    with pytest.raises(ValueError), ws.stage_run("identify"):
        raise ValueError("bad records")
    with pytest.raises(StaleInputError) as exc, ws.stage_run("differentiate"):
        ws.write("customer_value", pd.DataFrame({"customer_id": ["c1"]}))
    assert exc.value.rerun == "identify"
    assert "onetoone run identify" in str(exc.value) and "failed (ValueError: bad records)" in str(exc.value)
    assert not ws.has("customer_value")
    assert ws.ledger()["status"].iloc[-1] == "refused"
    _identify(ws)
    with ws.stage_run("differentiate"):
        ws.write("customer_value", pd.DataFrame({"customer_id": ["c1"]}))
    assert ws.last_run("differentiate")["status"] == "ok"


def test_refuses_when_upstream_inputs_or_outputs_changed(tmp_path):
    ws = _ws(tmp_path)
    _identify(ws)
    with ws.stage_run("differentiate"):
        ws.write("customer_value", pd.DataFrame({"customer_id": ["c1", "c2"]}))
    assert ws.stage_problems("interact") == (None, [])
    # re-ingested customer records: identify is out of date, so is everything after it
    ws.write("customer_records", pd.DataFrame({"record_key": ["crm:1", "crm:2", "web:2"]}))
    up, reasons = ws.stage_problems("differentiate")
    assert up == "identify"
    assert "`customer_records` changed" in reasons[0] and "same number of rows" in reasons[0]
    _identify(ws, n=2)  # identify re-run on the new records: now differentiate is behind it
    up, reasons = ws.stage_problems("interact")
    assert up == "differentiate"
    assert any("`record_map` changed" in r and "then 3 rows, now 2 rows" in r for r in reasons)
    with ws.stage_run("differentiate"):
        ws.write("customer_value", pd.DataFrame({"customer_id": ["c1", "c2"]}))
    assert ws.stage_problems("interact") == (None, [])
    # a table rewritten outside its stage's run is not that run's result any more
    ws.write("customer_value", pd.DataFrame({"customer_id": ["c9"]}))
    up, reasons = ws.stage_problems("customize")
    assert up == "differentiate" and "wrote it" in reasons[0]


def test_same_rows_rewritten_are_not_a_change(tmp_path):
    ws = _ws(tmp_path)
    _identify(ws)
    ws.write("customer_records", pd.DataFrame({"record_key": ["web:1", "crm:2", "crm:1"]}))
    assert ws.stage_problems("differentiate") == (None, [])


def test_status_prints_the_ledger_and_what_to_rerun(tmp_path, capsys):
    cfg = tmp_path / "client.yaml"
    cfg.write_text("client: T\nas_of: 2026-06-30\nworkspace: w.duckdb\nsources: []\n")
    assert main(["status", str(cfg)]) == 1  # no workspace yet
    ws = _ws(tmp_path)
    assert "no stage runs recorded" in status_text(ws)
    _identify(ws)
    with pytest.raises(KeyError), ws.stage_run("differentiate"):
        raise KeyError("tier")
    ws.close()
    capsys.readouterr()
    assert main(["status", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "identify" in out and "record_map 3" in out and "customers 2" in out
    assert "failed" in out and "KeyError" in out
    assert "interact       re-run differentiate first" in out
    assert "differentiate  inputs current" in out


KILLER = textwrap.dedent("""
    import os, sys, time
    from onetoone import workspace
    from onetoone.cli import main

    original = workspace.Workspace._write

    def write_then_hang(self, name, df):
        original(self, name, df)
        if self._run is not None:
            open(sys.argv[2], "w").write(name)
            time.sleep(600)

    workspace.Workspace._write = write_then_hang
    sys.exit(main(["run", "identify", sys.argv[1]]))
""")


def _state(ws: Workspace) -> dict:
    names = ("record_map", "customers", "linkage_pairs", "customer_value", "segments")
    return ws.fingerprint(names)


@pytest.mark.slow
def test_kill_9_during_identify_leaves_the_workspace_as_it_was(tmp_path):
    """A subprocess running `onetoone run identify` is killed with SIGKILL right after its
    first table write: nothing it wrote survives, the ledger says it did not finish, and
    `onetoone run differentiate` refuses with a message naming identify."""
    cfg_path = sample_config_file("differentiate", tmp_path)
    ws_path = tmp_path / "differentiate.duckdb"
    with Workspace(ws_path) as ws:
        before = _state(ws)
        runs_before = len(ws.ledger())
    assert before["record_map"] and before["customer_value"]
    marker = tmp_path / "first_write"
    script = tmp_path / "killer.py"
    script.write_text(KILLER)
    proc = subprocess.Popen([sys.executable, str(script), str(cfg_path), str(marker)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    deadline = time.monotonic() + 240
    while not marker.exists():
        assert proc.poll() is None, proc.stdout.read().decode()
        assert time.monotonic() < deadline, "identify never wrote a table"
        time.sleep(0.1)
    assert marker.read_text() == "record_map"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL

    with Workspace(ws_path) as ws:
        assert _state(ws) == before
        led = ws.ledger()
        assert len(led) == runs_before + 1
        assert (led["stage"].iloc[-1], led["status"].iloc[-1]) == ("identify", "interrupted")

    res = subprocess.run([sys.executable, "-m", "onetoone.cli", "run", "differentiate",
                          str(cfg_path)], capture_output=True, text=True, timeout=300,
                         check=False)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "Traceback" not in res.stderr
    assert "onetoone run identify" in res.stderr and "did not finish" in res.stderr
    with Workspace(ws_path) as ws:
        assert _state(ws) == before
        assert ws.ledger()["status"].iloc[-1] == "refused"
