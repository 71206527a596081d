"""One contract between stages: every table a stage writes matches columns.py; the thresholds a
workshop may question are the client's to set; the design lives in the repository."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
from sample_support import sample_workspace

from onetoone import columns as C
from onetoone.cli import STAGES
from onetoone.config import WorkshopLists, load_config
from onetoone.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]

FAMILIES = {
    "str": ("VARCHAR",),
    "int": ("BIGINT", "INTEGER", "HUGEINT", "SMALLINT", "TINYINT", "UBIGINT", "DOUBLE"),
    "float": ("DOUBLE", "FLOAT", "BIGINT", "INTEGER", "DECIMAL", "HUGEINT"),
    "bool": ("BOOLEAN",),
    "date": ("DATE", "TIMESTAMP"),
    "timestamp": ("TIMESTAMP", "DATE"),
}
"""DuckDB types a contract type may be stored as (an int column with gaps arrives as DOUBLE
from pandas; a column that is empty on a client may be typed by DuckDB as INTEGER)."""


def _schema(ws: Workspace, table: str) -> list[tuple[str, str]]:
    return [tuple(r) for r in ws.duckdb.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
        "ORDER BY ordinal_position", [table]).fetchall()]


def test_contracts_are_well_formed():
    assert {ct.stage for ct in C.OUTPUT_TABLES.values()} <= set(STAGES)
    assert not set(C.OUTPUT_TABLES) & set(C.TABLES)  # an input table is never a stage output
    for stage in STAGES:
        assert set(C.STAGE_TABLES[stage]) == {t for t, ct in C.OUTPUT_TABLES.items()
                                              if ct.stage == stage}, stage
    for table, ct in C.OUTPUT_TABLES.items():
        assert len(set(ct.names)) == len(ct.names), table
        assert all(c.dtype in FAMILIES and c.meaning for c in ct.columns), table
        assert ct.meaning and (ct.extra_meaning or not ct.extra), table
    assert set(C.UPSTREAM) == set(C.STAGE_READS) == set(STAGES)
    for stage, ups in C.UPSTREAM.items():  # a stage reads what its upstream stages write
        written = {t for t, ct in C.OUTPUT_TABLES.items() if ct.stage in ups}
        assert all(t in C.TABLES or t in written or t == "link_overrides"
                   for t in C.STAGE_READS[stage]), stage


def test_contract_problems_names_what_is_wrong():
    good = C.OUTPUT_TABLES["recommendations"].names
    assert C.contract_problems("recommendations", good) == []
    assert "missing ['score']" in C.contract_problems(
        "recommendations", [c for c in good if c != "score"])[0]
    assert "not in its contract ['tier']" in C.contract_problems(
        "recommendations", [*good, "tier"])[0]
    assert "order" in C.contract_problems("recommendations", list(reversed(good)))[0]
    assert C.contract_problems("segments", [*C.OUTPUT_TABLES["segments"].names, "cat_books"]) == []
    with pytest.raises(KeyError, match="no contract for table 'nope'"):
        C.contract_of("nope")


@pytest.mark.slow  # builds the sample up to customize when no other test has (shared after)
def test_every_table_a_stage_writes_matches_its_contract():
    """The run ledger of the whole sample run says which tables each stage wrote; each one has
    a contract under that stage and its stored columns and types match it."""
    cfg = sample_workspace("customize")
    with Workspace(cfg.workspace_path, read_only=True) as ws:
        led = ws.ledger()
        ok = led[led["status"] == "ok"]
        assert set(ok["stage"]) == set(STAGES), led[["stage", "status", "message"]]
        checked = set()
        for r in ok.itertuples(index=False):
            for table in json.loads(r.outputs):
                if not ws.has(table):
                    continue  # dropped by its stage (an empty fence writes no fence_assignment)
                ct = C.contract_of(table)
                assert ct.stage == r.stage, f"{table} is written by {r.stage}, contract says {ct.stage}"
                schema = _schema(ws, table)
                assert C.contract_problems(table, [n for n, _ in schema]) == []
                types = dict(schema)
                for col in ct.columns:
                    stored = types[col.name].split("(")[0]
                    assert stored.startswith(FAMILIES[col.dtype]), (table, col.name, stored)
                for col in (c for c in ct.columns if c.required):
                    nulls = ws.duckdb.execute(
                        f'SELECT count(*) FROM "{table}" WHERE "{col.name}" IS NULL').fetchone()[0]
                    assert nulls == 0, f"{table}.{col.name} is required but has {nulls} nulls"
                checked.add(table)
        assert {"record_map", "customers", "customer_value", "segments", "contact_plan",
                "recommendations", "client_position"} <= checked


def test_cross_stage_names_are_written_once():
    """The cross-stage columns appear as constants, not string literals, in the library (the
    config's ``Literal`` choices aside: a type needs the literal)."""
    import io
    import tokenize

    names = {C.TIER, C.CLV, C.SEGMENT_NAME, C.REVENUE_12M, C.UNREALISED_POTENTIAL, C.P_ALIVE,
             C.CONTRIBUTION, C.IS_DECLINER}
    found = []
    for f in (ROOT / "lib" / "onetoone").rglob("*.py"):
        if f.name in ("columns.py", "config.py") or "sample" in f.parts:
            continue
        text = f.read_text(encoding="utf-8")
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.STRING and tok.string[1:-1] in names \
                    and tok.string[0] in "\"'" and tok.string[-1] == tok.string[0]:
                found.append(f"{f.relative_to(ROOT)}:{tok.start[0]}: {tok.line.strip()}")
    assert found == [], "\n".join(found)


# -- settable thresholds ------------------------------------------------------------------------
def test_every_threshold_has_a_default_and_a_description():
    for name, field in WorkshopLists.model_fields.items():
        assert field.description and len(field.description) > 20, name
        assert field.default is not None, name
    from onetoone.config import Identify

    for name in ("threshold_probability", "review_band"):
        assert Identify.model_fields[name].description, name


def test_list_thresholds_from_the_config_reach_the_lists(tmp_path):
    """Differentiate's lists and potential use the config's thresholds: a looser decliner ratio
    lists more decliners, a shorter lost window more lost customers, a lower potential
    percentile less unrealised potential."""
    from onetoone.differentiate.pipeline import assemble, customer_history
    from onetoone.interact.pipeline import assumptions_for

    cfg = sample_workspace("differentiate")
    with Workspace(cfg.workspace_path, read_only=True) as ws:
        value = customer_history(cfg, ws)
        cv = ws.read("customer_value").set_index(C.CUSTOMER_ID)
    # the stage's own lifetime values, so that potential has something to rank
    clv = SimpleNamespace(summary=cv[[C.FREQUENCY, C.RECENCY, C.AGE_T, C.MONETARY_VALUE]],
                          predictions=cv[[C.P_ALIVE, C.EXPECTED_PURCHASES, C.CLV]])
    base, _ = assemble(cfg, value, clv, None)
    loose = cfg.model_copy(deep=True)
    loose.lists = WorkshopLists(decliner_ratio=0.9, lost_window_months=6, potential_percentile=0.6)
    more, _ = assemble(loose, value, clv, None)
    assert more["is_decliner"].sum() > base["is_decliner"].sum() > 0
    assert more["is_lost_valuable"].sum() > base["is_lost_valuable"].sum() > 0
    assert more["unrealised_potential"].sum() < base["unrealised_potential"].sum()
    a = assumptions_for(loose)
    assert (a.decline_ratio, a.lost_value_quantile) == (0.9, pytest.approx(0.8))

    yaml_path = tmp_path / "c.yaml"
    yaml_path.write_text("client: T\nas_of: 2026-06-30\nsources: []\nlists:\n  decliner_ratio: 1.5\n")
    with pytest.raises(Exception, match=r"lists\.decliner_ratio"):
        load_config(yaml_path)


# -- the design in the repository --------------------------------------------------------------
def test_nothing_points_outside_the_repository():
    # the pattern is assembled so that this file does not match it
    outside = r"\.\./" + "shared" + r"\|" + "shared" + "/DESIGN" + r"\|IDIC\.md\|TOOLCHAIN\.md"
    res = subprocess.run(
        ["grep", "-rnI", outside, "README.md", "lib", "tests", "notebooks", "docs", "benchmarks",
         "--exclude-dir=*.egg-info"],
        cwd=ROOT, capture_output=True, text=True, check=False)
    assert res.returncode == 1 and res.stdout == "", res.stdout


def test_the_design_documents_are_there_and_linked():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for doc in ("architecture.md", "stages.md", "recipes.md", "data_model.md"):
        path = ROOT / "docs" / doc
        assert path.exists() and len(path.read_text(encoding="utf-8")) > 2000, doc
        assert f"docs/{doc}" in readme, doc
    for link in re.findall(r"\]\(((?:\.\./)?[\w./-]+\.md)\)",
                           "".join(p.read_text(encoding="utf-8")
                                   for p in (ROOT / "docs").glob("*.md"))):
        assert (ROOT / "docs" / link).resolve().exists(), link
