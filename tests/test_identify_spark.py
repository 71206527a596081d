"""Identify on Spark: splink through its SparkAPI on the workspace's session, checked against
the DuckDB run of the same client (FEBRL dataset 1 without the identifier, with a must-link and
a cannot-link decision stored through the workspace before the run)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from onetoone import columns as C
from onetoone.cli import run_stage
from onetoone.config import load_config
from onetoone.identify import linkage as L
from onetoone.identify import overrides as O
from onetoone.ingest import ingest
from onetoone.workspace import Workspace

pytestmark = [pytest.mark.spark, pytest.mark.slow]

if shutil.which("java") is None:
    pytest.skip("no Java: `make java` installs Debian's openjdk-17-jre-headless",
                allow_module_level=True)
pytest.importorskip("pyspark")

FEBRL = Path(__file__).parent / "data" / "febrl"
SPARK = "\nengine:\n  name: spark\n  master: local[2]\n  driver_memory: 2g\n  shuffle_partitions: 2\n"


def _client(root: Path, spark: bool):
    root.mkdir()
    shutil.copy(FEBRL / "dataset1.csv", root / "dataset1.csv")
    text = (FEBRL / "febrl1_no_id.yaml").read_text(encoding="utf-8")
    (root / "client.yaml").write_text(text + (SPARK if spark else ""), encoding="utf-8")
    return load_config(root / "client.yaml")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """(duckdb workspace, spark workspace), each ingested, with the same two decisions, and
    identified."""
    root = tmp_path_factory.mktemp("identify_spark")
    cfg_d, cfg_s = _client(root / "duck", False), _client(root / "spark", True)
    duck, spark = Workspace.open(cfg_d), Workspace.open(cfg_s)
    ingest(cfg_d, duck, echo=False)
    ingest(cfg_s, spark, echo=False)
    run_stage("identify", cfg_d, duck, echo=False)
    # two decisions a reviewer took on the first DuckDB run, stored on both before the run
    rm = duck.read("record_map")
    multi = rm[rm[C.CLUSTER_SIZE] == 2].sort_values(C.RECORD_KEY)
    pair = multi.groupby(C.CUSTOMER_ID)[C.RECORD_KEY].agg(list).iloc[0]
    singles = rm[rm[C.CLUSTER_SIZE] == 1].sort_values(C.RECORD_KEY)[C.RECORD_KEY].tolist()[:2]
    out = {"duck": (cfg_d, duck), "spark": (cfg_s, spark)}
    for cfg, ws in out.values():
        O.add_override(ws, pair[0], pair[1], "cannot_link", reason="parity test")
        O.add_override(ws, singles[0], singles[1], "must_link", reason="parity test")
        run_stage("identify", cfg, ws, echo=False)
    yield out["duck"][1], out["spark"][1], pair, singles
    for _, ws in out.values():
        ws.close()


def test_splink_on_spark_finds_the_same_customers_as_on_duckdb(runs):
    duck, spark, pair, singles = runs
    assert duck.engine == "duckdb" and spark.engine == "spark"
    a = duck.read("record_map").sort_values(C.RECORD_KEY).reset_index(drop=True)
    b = spark.read("record_map").sort_values(C.RECORD_KEY).reset_index(drop=True)
    assert a[C.RECORD_KEY].tolist() == b[C.RECORD_KEY].tolist()
    assert a[C.CUSTOMER_ID].tolist() == b[C.CUSTOMER_ID].tolist()
    assert np.allclose(a[C.MATCH_PROBABILITY].astype(float), b[C.MATCH_PROBABILITY].astype(float),
                       rtol=1e-9, atol=1e-12, equal_nan=True)
    # the decisions won on both engines
    cid = b.set_index(C.RECORD_KEY)[C.CUSTOMER_ID]
    assert cid[pair[0]] != cid[pair[1]] and cid[singles[0]] == cid[singles[1]]
    s = L.pairwise_scores(b[C.CUSTOMER_ID], b[C.RECORD_ID].str.extract(r"rec-(\d+)-")[0])
    assert s["precision"] >= 0.99 and s["recall"] >= 0.97, s


def test_the_model_and_its_counts_agree(runs):
    duck, spark, _, _ = runs
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


def test_spark_jaro_winkler_is_duckdbs_to_the_bit(runs):
    """The Spark side's Jaro-Winkler (identify/linkage.py) against DuckDB's on pairs where the
    jar's differs: odd transpositions, the 0.7 boost edge, accents (bytes), long strings."""
    import duckdb
    import pandas as pd

    _, spark, _, _ = runs
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


def test_the_lookup_runs_on_spark(runs):
    duck, spark, pair, _ = runs
    one = duck.read("customer_records").set_index(C.RECORD_KEY).loc[pair[0]]
    query = f"{one[C.FIRST_NAME] or ''} {one[C.LAST_NAME] or ''}".strip()
    fd, nd = O.search_customers(duck, query)
    fs, ns = O.search_customers(spark, query)
    assert nd == ns >= 1
    assert fd[C.CUSTOMER_ID].tolist() == fs[C.CUSTOMER_ID].tolist()
