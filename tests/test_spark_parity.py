"""The same client on Spark and on DuckDB: every stage's tables agree.

A deterministic 3,000-person sample (``onetoone sample --people 3000``: every source, every
stage) is ingested and run through every stage on a DuckDB file and on a local Spark warehouse
(``engine: spark``), Identify included: splink runs through its SparkAPI on the Spark side and
must find the same customers and the same record map as splink on DuckDB (u from the same
sample of records on both, and DuckDB's Jaro-Winkler on both; see identify/linkage.py), with
a reviewer's cannot-link and must-link decisions (taken on a first DuckDB run) stored on both
before the runs compared. Then
every table of each stage is compared: the same rows, the same tiers, fence and contact plan,
every number within 1e-6 relative. The Spark workspace's own guarantees (a stage's tables
commit with its ledger row, a failed stage leaves them as they were, a killed writer leaves the
warehouse as it was, a second writer is refused) are checked on the same session.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from onetoone import columns as C
from onetoone.cli import STAGES, run_stage
from onetoone.config import load_config
from onetoone.identify import linkage as L
from onetoone.identify import overrides as O
from onetoone.ingest import ingest
from onetoone.workspace import LEDGER, Workspace, WorkspaceError

pytestmark = [pytest.mark.spark, pytest.mark.slow]

if shutil.which("java") is None:
    pytest.skip("no Java: `make java` installs Debian's openjdk-17-jre-headless",
                allow_module_level=True)
pytest.importorskip("pyspark")

PEOPLE = 3000
RTOL = 1e-6

# Columns that record when or how long, not what: they differ between any two runs.
VOLATILE = {"ingested_at", "seconds", "computed_at", "created_at", "run_id", "files", "file",
            "generated_at", "fit_s", "score_s", "decided_at"}


@pytest.fixture(scope="module")
def clients(tmp_path_factory):
    """(duckdb workspace, spark workspace, folder) after ingest and every stage on each."""
    root = tmp_path_factory.mktemp("parity")
    subprocess.run([sys.executable, "-m", "onetoone.cli", "sample", "--out", str(root / "duck"),
                    "--people", str(PEOPLE)], check=True, capture_output=True)
    # a smaller business's fence economics, so that 3,000 people still have a picket fence
    y = root / "duck" / "client.yaml"
    text = y.read_text(encoding="utf-8")
    assert "  portfolio_size: 100\n  manager_cost: 60000.0\n" in text
    y.write_text(text.replace("  portfolio_size: 100\n  manager_cost: 60000.0\n",
                              "  portfolio_size: 10\n  manager_cost: 5000.0\n"), encoding="utf-8")
    shutil.copytree(root / "duck", root / "spark")
    yaml_text = (root / "spark" / "client.yaml").read_text(encoding="utf-8")
    (root / "spark" / "client.yaml").write_text(
        yaml_text + "\nengine:\n  name: spark\n  master: local[2]\n  driver_memory: 2g\n"
        "  shuffle_partitions: 4\n", encoding="utf-8")
    cfgs = {e: load_config(root / e / "client.yaml") for e in ("duck", "spark")}
    out = {e: Workspace.open(cfgs[e]) for e in cfgs}
    times = {}
    for engine, ws in out.items():
        t0 = time.perf_counter()
        ingest(cfgs[engine], ws, echo=False)
        times[engine, "ingest"] = time.perf_counter() - t0
    # two decisions a reviewer took on a first DuckDB run (keep apart a pair it merged, merge
    # two records it kept apart), stored on both before the runs compared
    run_stage("identify", cfgs["duck"], out["duck"], echo=False)
    rm = out["duck"].read("record_map")
    multi = rm[rm[C.CLUSTER_SIZE] == 2].sort_values(C.RECORD_KEY)
    pair = multi.groupby(C.CUSTOMER_ID)[C.RECORD_KEY].agg(list).iloc[0]
    singles = rm[rm[C.CLUSTER_SIZE] == 1].sort_values(C.RECORD_KEY)[C.RECORD_KEY].tolist()[:2]
    for ws in out.values():
        O.add_override(ws, pair[0], pair[1], "cannot_link", reason="parity test")
        O.add_override(ws, singles[0], singles[1], "must_link", reason="parity test")
    for engine, ws in out.items():
        for stage in STAGES:
            t0 = time.perf_counter()
            run_stage(stage, cfgs[engine], ws, echo=False)
            times[engine, stage] = time.perf_counter() - t0
    print("\nseconds per stage:", {f"{e}/{s}": round(v, 1) for (e, s), v in times.items()})
    yield out["duck"], out["spark"], {"pair": pair, "singles": singles}
    for ws in out.values():
        ws.close()


def _comparable(df: pd.DataFrame) -> pd.DataFrame:
    """Columns sorted by name, volatile ones dropped, rows in a canonical order, values in
    types both engines agree on (strings, floats, timestamps without a zone)."""
    df = df[[c for c in df.columns if c not in VOLATILE]].copy()
    for c in df.columns:
        s = df[c]
        if isinstance(s.dtype, pd.DatetimeTZDtype):
            df[c] = s.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[us]")
        elif pd.api.types.is_datetime64_any_dtype(s):
            df[c] = s.astype("datetime64[us]")
        elif pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            df[c] = s.astype("float64")
        else:
            df[c] = s.map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v))
                          else str(v)).astype(object)
    # rows in the order of their non-number columns, taken in the table's own column order
    # (its key first), then of the numbers; then columns by name for the comparison
    keys = [c for c in df.columns if not pd.api.types.is_float_dtype(df[c])]
    order = keys + [c for c in df.columns if c not in keys]
    df = df.sort_values(order, kind="stable", na_position="last") if order else df
    return df[sorted(df.columns)].reset_index(drop=True)


def _assert_same(name: str, duck: pd.DataFrame, spark: pd.DataFrame) -> None:
    a, b = _comparable(duck), _comparable(spark)
    assert list(a.columns) == list(b.columns), (name, list(a.columns), list(b.columns))
    assert len(a) == len(b), (name, len(a), len(b))
    for c in a.columns:
        x, y = a[c], b[c]
        if pd.api.types.is_float_dtype(x):
            ok = np.isclose(x.to_numpy(), y.to_numpy(), rtol=RTOL, atol=1e-9, equal_nan=True)
            assert ok.all(), (f"{name}.{c}: {int((~ok).sum())} of {len(ok)} values differ by more "
                              f"than {RTOL:g} relative; first: duckdb {x[~ok].iloc[0]!r}, "
                              f"spark {y[~ok].iloc[0]!r}")
        else:
            diff = ~((x == y) | (x.isna() & y.isna()))
            assert not diff.any(), (f"{name}.{c}: {int(diff.sum())} of {len(x)} values differ; "
                                    f"first: duckdb {x[diff].iloc[0]!r}, spark {y[diff].iloc[0]!r}")


def _tables(stage: str) -> list[str]:
    return list(C.STAGE_TABLES[stage])


@pytest.mark.parametrize("stage", ["ingest", *STAGES])
def test_every_table_of_the_stage_is_the_same_on_spark_and_duckdb(clients, stage):
    duck, spark, _ = clients
    assert duck.engine == "duckdb" and spark.engine == "spark"
    for name in _tables(stage):
        assert duck.has(name) == spark.has(name), name
        if duck.has(name):
            _assert_same(name, duck.read(name), spark.read(name))


def test_the_headline_results_agree(clients):
    duck, spark, decided = clients
    # splink on Spark found the same customers as splink on DuckDB, record for record
    a = duck.read("record_map").sort_values(C.RECORD_KEY).reset_index(drop=True)
    b = spark.read("record_map").sort_values(C.RECORD_KEY).reset_index(drop=True)
    assert a[C.RECORD_KEY].tolist() == b[C.RECORD_KEY].tolist()
    assert a[C.CUSTOMER_ID].tolist() == b[C.CUSTOMER_ID].tolist()
    # the reviewer's decisions won on both engines
    pair, singles = decided["pair"], decided["singles"]
    for rm in (a, b):
        cid = rm.set_index(C.RECORD_KEY)[C.CUSTOMER_ID]
        assert cid[pair[0]] != cid[pair[1]] and cid[singles[0]] == cid[singles[1]]
    assert spark.count("customers") == duck.count("customers") > PEOPLE // 2
    assert spark.count("customer_value") == duck.count("customer_value") == duck.count("customers")
    # the same tiers and fence
    for t in ("customer_value", "fence_assignment"):
        d = duck.read(t).sort_values(C.CUSTOMER_ID).reset_index(drop=True)
        s = spark.read(t).sort_values(C.CUSTOMER_ID).reset_index(drop=True)
        assert d[C.CUSTOMER_ID].tolist() == s[C.CUSTOMER_ID].tolist()
        if C.TIER in d:
            assert d[C.TIER].astype(str).tolist() == s[C.TIER].astype(str).tolist()
    # every stage's run is in each ledger, finished
    for ws in (duck, spark):
        led = ws.ledger()
        assert set(STAGES) <= set(led.loc[led["status"] == "ok", "stage"])


def test_the_model_and_its_counts_agree(clients):
    duck, spark, _ = clients
    a, b = duck.read("linkage_blocking"), spark.read("linkage_blocking")
    assert a.astype(str).equals(b.astype(str))  # equal largest blocks: the smallest key on both
    wa, wb = duck.read("linkage_weights"), spark.read("linkage_weights")
    assert int(wa["pairs"].sum()) == int(wb["pairs"].sum()) > 0
    a = duck.read("linkage_pairs").sort_values(["record_key_l", "record_key_r"])
    b = spark.read("linkage_pairs").sort_values(["record_key_l", "record_key_r"])
    assert a[["record_key_l", "record_key_r"]].values.tolist() == \
        b[["record_key_l", "record_key_r"]].values.tolist()
    # every pair in the same comparison level on both engines (DuckDB's Jaro-Winkler on Spark)
    for g in [c for c in a.columns if c.startswith("gamma_")]:
        assert a[g].astype(int).tolist() == b[g].astype(int).tolist(), g
    assert np.allclose(a[C.MATCH_PROBABILITY], b[C.MATCH_PROBABILITY], rtol=1e-9, atol=1e-12)
    # u from the same sample of records on both engines, so the same model up to the order in
    # which each engine sums
    la, lb = duck.read("linkage_levels"), spark.read("linkage_levels")
    assert la[["field", "gamma", "label"]].equals(lb[["field", "gamma", "label"]])
    assert np.allclose(la["u"], lb["u"], rtol=1e-9, equal_nan=True)
    assert np.allclose(la["m"], lb["m"], rtol=1e-6, equal_nan=True)
    assert la["m_trained"].equals(lb["m_trained"])


def test_spark_jaro_winkler_is_duckdbs_to_the_bit(clients):
    """The Spark side's Jaro-Winkler (identify/linkage.py) against DuckDB's on pairs where the
    jar's differs: odd transpositions, the 0.7 boost edge, accents (bytes), long strings."""
    import duckdb

    _, spark, _ = clients
    pairs = pd.DataFrame({
        "l": ["porrter", "parker", "hnderson", "aé", "josé", "zoë", "müller", "martha", "dwayne",
              "dixon", "ab", "a", "a", "", "abc", "ca", "x" * 70 + "y", "olivai", "george",
              "172 mount pleasant drive", "crate", "robinson"],
        "r": ["porter", "parrkre", "henderson", "ae", "jose", "zoe", "muller", "marhta", "duane",
              "dicksonx", "ba", "a", "b", "", "bca", "abc", "x" * 69 + "yz", "oliivia", "gore",
              "172 marlborough avenue", "trace", "robisson"]})
    want = duckdb.sql("SELECT l, r, jaro_winkler_similarity(l, r) AS d FROM pairs").df()
    L._register_spark_jaro_winkler(spark.spark)
    got = spark.spark.createDataFrame(pairs).selectExpr(
        "l", "r", f"{L.SPARK_JW}(l, r) AS e", f"{L.SPARK_JW_AT_LEAST}(l, r, 0.92D) AS a92",
        f"{L.SPARK_JW_AT_LEAST}(l, r, 0.8D) AS a80").toPandas()
    m = want.merge(got, on=["l", "r"])
    assert len(m) == len(pairs)
    assert (m["d"] == m["e"]).all(), m[m["d"] != m["e"]]
    assert (m["a92"] == (m["d"] >= 0.92)).all() and (m["a80"] == (m["d"] >= 0.8)).all()
    # the jar's own value differs on some of them (why the Spark side does not use it)
    jar = spark.spark.createDataFrame(pairs).selectExpr("jaro_winkler(l, r) AS c").toPandas()
    assert (jar["c"].to_numpy() != m["d"].to_numpy()).any()


def test_identify_normalises_and_builds_golden_records_inside_spark(clients):
    """The normalisation and the golden records as Spark computes them (the pandas functions
    as pandas UDFs on the executors, the survivorship as group-bys) against the library's
    pandas functions on the same records, value for value."""
    from onetoone.identify import golden as G
    from onetoone.identify import normalise as N

    duck, spark, _ = clients
    cfg = load_config(spark.path.parent / "client.yaml")
    t = spark.table("customer_records")
    engine = N.normalise_table(t, region=cfg.country, as_of=cfg.as_of)
    got = engine.to_pandas().sort_values(C.RECORD_KEY).reset_index(drop=True)
    want = N.normalise_records(t.to_pandas(), region=cfg.country, as_of=cfg.as_of)
    want = want.sort_values(C.RECORD_KEY).reset_index(drop=True)
    cols = [c for c in want.columns if c.endswith("_n")]
    _assert_same("normalised records", want[[C.RECORD_KEY, *cols]], got[[C.RECORD_KEY, *cols]])
    assert got[C.HAS_IDENTIFIER].tolist() == N.has_identifier(want).tolist()
    rm = spark.table("record_map").select(C.RECORD_KEY, C.CUSTOMER_ID)
    on_spark = G.golden_table(engine.join(rm, C.RECORD_KEY), cfg.identify.survivorship,
                              cfg.identify.source_priority).to_pandas()
    in_pandas = G.golden_records(want.merge(rm.to_pandas(), on=C.RECORD_KEY),
                                 cfg.identify.survivorship, cfg.identify.source_priority)
    _assert_same("golden records", in_pandas, on_spark)
    _assert_same("customers", duck.read("customers"), on_spark)


def test_the_lookup_runs_on_spark(clients):
    duck, spark, decided = clients
    pair = decided["pair"]
    one = duck.read("customer_records").set_index(C.RECORD_KEY).loc[pair[0]]
    query = f"{one[C.FIRST_NAME] or ''} {one[C.LAST_NAME] or ''}".strip()
    fd, nd = O.search_customers(duck, query)
    fs, ns = O.search_customers(spark, query)
    assert nd == ns >= 1
    assert fd[C.CUSTOMER_ID].tolist() == fs[C.CUSTOMER_ID].tolist()


def test_a_failed_stage_on_spark_leaves_its_tables_and_says_so_in_the_ledger(clients):
    _, spark, _ = clients
    before = spark.read("contact_plan")
    with pytest.raises(RuntimeError, match="boom"), spark.stage_run("interact", check=False):
        spark.write("contact_plan", before.head(3))
        assert spark.count("contact_plan") == 3  # the run sees what it wrote
        raise RuntimeError("boom")
    assert spark.count("contact_plan") == len(before)
    last = spark.ledger().iloc[-1]
    assert last["stage"] == "interact" and last["status"] == "failed" and "boom" in last["message"]
    # a reader opening the warehouse now sees the committed tables only
    other = Workspace(spark.path, read_only=True)
    assert other.engine == "spark" and other.count("contact_plan") == len(before)
    assert LEDGER not in other.tables()


def test_two_workspaces_in_one_session_keep_their_own_tables(clients, tmp_path):
    _, spark, _ = clients
    n = spark.count("contact_plan")
    other = Workspace(tmp_path / "other.spark", spark=spark.spark)
    other.write("contact_plan", pd.DataFrame({C.CUSTOMER_ID: ["x"]}))
    assert other.count("contact_plan") == 1 and spark.count("contact_plan") == n
    other.close()
    assert spark.count("contact_plan") == n


def test_a_second_writer_is_refused_with_the_holders_pid(clients):
    _, spark, _ = clients
    with pytest.raises(WorkspaceError, match=r"locked by another process \(pid \d+\)"):
        Workspace(spark.path)


def test_a_killed_writer_leaves_the_warehouse_as_it_was(clients, tmp_path):
    _, spark, _ = clients
    # a process that writes part of a run and is killed before the commit
    script = (
        "import os, signal\n"
        "import pandas as pd\n"
        "from onetoone.workspace import Workspace\n"
        f"ws = Workspace({str(tmp_path / 'w.spark')!r})\n"
        "ws.write('t', pd.DataFrame({'a': [1, 2, 3]}))\n"
        "with ws.stage_run('identify', check=False):\n"
        "    ws.write('t', pd.DataFrame({'a': [9]}))\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n")
    p = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True,
                       text=True)
    assert p.returncode == -9, p.stderr[-2000:]
    ws = Workspace(tmp_path / "w.spark", read_only=True, spark=spark.spark)
    assert ws.read("t")["a"].tolist() == [1, 2, 3]
    assert ws.ledger()["status"].tolist() == ["interrupted"]


def test_missing_strings_stay_missing_through_memtables_and_writes(clients):
    import ibis

    _, spark, _ = clients
    df = pd.DataFrame({"k": ["a", "b", None], "n": [1.5, None, 3.0]})
    got = spark.con.execute(ibis.memtable(df).filter(ibis._.k.isnull()).count())
    assert got == 1
    spark.write("__parity_probe", df)
    back = spark.read("__parity_probe")
    assert back["k"].isna().tolist() == [False, False, True]
    spark.drop("__parity_probe")
    assert not spark.has("__parity_probe")
