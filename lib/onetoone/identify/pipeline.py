"""The Identify stage end to end: normalise, link, cluster, golden records, recognition.

:func:`identify_customers` is the pure part (DataFrames in, DataFrames out);
:func:`run` reads the workspace, applies the stored overrides, writes the stage's tables
and returns the headline figures (``onetoone run identify CONFIG`` calls it).

Tables written: ``record_map``, ``customers``, ``linkage_pairs``, ``link_overrides`` (created
empty if absent, never overwritten), and the model's ``linkage_levels``,
``linkage_weights`` (match-weight histogram) and ``linkage_blocking`` (comparisons per rule).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import ibis
import pandas as pd

from .. import columns as C
from ..workspace import Workspace
from . import golden as G
from . import linkage as L
from . import normalise as N
from . import overrides as O
from . import profile as P
from . import recognition as R


@dataclass
class IdentifyResult:
    """Everything :func:`identify_customers` produced (see the module docstring)."""

    norm: pd.DataFrame
    record_map: pd.DataFrame
    customers: pd.DataFrame
    pairs: pd.DataFrame
    linkage: L.LinkageResult | None
    cluster_stats: dict
    seconds: dict = field(default_factory=dict)


@dataclass
class Resolved:
    """What :func:`resolve` produced: the record map and the golden records as Ibis
    expressions on the records' engine (nothing record-scale fetched), the scored pairs kept
    (at or above the review band) as pandas, and the model."""

    record_map: ibis.Table
    customers: ibis.Table
    pairs: pd.DataFrame
    linkage: L.LinkageResult | None
    cluster_stats: dict
    seconds: dict = field(default_factory=dict)


def _empty_pairs() -> pd.DataFrame:
    return pd.DataFrame({"record_key_l": pd.Series(dtype=object),
                         "record_key_r": pd.Series(dtype=object),
                         C.MATCH_PROBABILITY: pd.Series(dtype=float),
                         "match_weight": pd.Series(dtype=float)})


def resolve(norm: ibis.Table, *, threshold: float = 0.95, review_low: float = 0.5,
            max_comparisons: int = 50_000_000, household_guard: bool = True,
            must_link: pd.DataFrame | None = None, cannot_link: pd.DataFrame | None = None,
            survivorship: dict | None = None, source_priority=(), rules=None,
            seed: int = 1994, blocking_rules=None, comparisons=None, training=None,
            min_fill_rate: float = 0.01, unique_sources=(), estimate_recall: bool = True,
            spark=None, max_pairs_per_record: float = 5.0) -> Resolved:
    """Resolve normalised records (:func:`normalise.normalise_table`, an Ibis table on the
    workspace's engine) into customers, with the record-scale work inside the engine.

    splink reads the records with an identifier straight from the engine
    (:func:`linkage.link_records`); only the pairs it keeps come back. Clustering (with the
    must / cannot-link overrides and the unique sources) runs on the driver over the records
    those pairs and decisions name, pair-scale; every other record is its own customer. The
    record map joins those clusters back onto every record and hashes the cluster keys into
    customer ids inside the engine (:func:`linkage.customer_id_table`), and the golden records
    are group-bys there too (:func:`golden.golden_table`).
    """
    t0 = time.perf_counter()
    secs: dict[str, float] = {}
    usable = norm.filter(norm[C.HAS_IDENTIFIER])
    linkage = None
    pairs = _empty_pairs()
    if int(usable.count().to_pyarrow().as_py()) >= 2:
        plan = L.plan_model(usable, blocking_rules=blocking_rules, comparisons=comparisons,
                            training=training, min_fill_rate=min_fill_rate)
        if rules is not None:
            plan.blocking = list(rules)
            plan.set_in_config = (*plan.set_in_config, "blocking_rules")
        linkage = L.link_records(usable, plan=plan, max_comparisons=max_comparisons,
                                 keep_probability=min(review_low, threshold), seed=seed,
                                 estimate_recall=estimate_recall, recall_threshold=threshold,
                                 spark=spark, pairs_per_record=max_pairs_per_record)
        pairs = linkage.pairs
        secs.update({f"link_{k}": v for k, v in linkage.seconds.items()})
    pairs["guarded"] = L.household_guard(pairs) if household_guard else False
    t = time.perf_counter()
    # the records clustering places: those a kept pair or a decision names (the rest, alone)
    named = [pairs["record_key_l"], pairs["record_key_r"]]
    for d in (must_link, cannot_link):
        if d is not None and len(d):
            named += [d["record_key_l"], d["record_key_r"]]
    keys = pd.Series(pd.unique(pd.concat(named, ignore_index=True).astype(str)), dtype=object) \
        if sum(len(x) for x in named) else pd.Series([], dtype=object)
    col = "source" if "source" in norm.columns else C.SOURCE_SYSTEM
    known = (norm.filter(norm[C.RECORD_KEY].isin(
                ibis.memtable(pd.DataFrame({"__k": keys.astype("string")}))["__k"]))
             .select(norm[C.RECORD_KEY].cast("string").name(C.RECORD_KEY),
                     norm[col].cast("string").name("__src")).to_pandas())
    unique_of = None
    if len(unique_sources):
        src = known["__src"].astype(object)
        unique_of = pd.Series(src.where(src.isin(list(unique_sources))).to_numpy(),
                              index=known[C.RECORD_KEY].to_numpy())
    clusters, stats = L.cluster_records(known[C.RECORD_KEY], pairs[~pairs["guarded"]], threshold,
                                        must_link=must_link, cannot_link=cannot_link,
                                        unique_source=unique_of)
    clusters = clusters[clusters[C.CLUSTER_SIZE] > 1]
    record_map = record_map_table(norm, clusters)
    secs["cluster"] = time.perf_counter() - t
    if len(pairs):
        cid = record_map.filter(record_map[C.RECORD_KEY].isin(
            ibis.memtable(pd.DataFrame({"__k": keys.astype("string")}))["__k"])).select(
            C.RECORD_KEY, C.CUSTOMER_ID).to_pandas().set_index(C.RECORD_KEY)[C.CUSTOMER_ID]
        pairs["customer_id_l"] = pairs["record_key_l"].astype(str).map(cid)
        pairs["customer_id_r"] = pairs["record_key_r"].astype(str).map(cid)
        pairs["same_customer"] = pairs["customer_id_l"] == pairs["customer_id_r"]
    with_cid = norm.join(record_map.select(C.RECORD_KEY, C.CUSTOMER_ID), C.RECORD_KEY)
    customers = G.golden_table(with_cid, survivorship, source_priority)
    secs["total"] = time.perf_counter() - t0
    return Resolved(record_map=record_map, customers=customers, pairs=pairs, linkage=linkage,
                    cluster_stats=stats, seconds=secs)


def record_map_table(norm: ibis.Table, clusters: pd.DataFrame) -> ibis.Table:
    """Every record with its customer: the multi-record ``clusters`` (record_key, cluster,
    cluster_size, match_probability; pair-scale, from :func:`linkage.cluster_records`) joined
    onto the records as a memtable, every other record its own cluster of one, and the
    cluster keys hashed into customer ids (:func:`linkage.customer_id_table`), in the engine."""
    cl = ibis.memtable(pd.DataFrame({
        "__k": clusters[C.RECORD_KEY].astype(str).to_numpy(),
        "__cluster": clusters["cluster"].astype(str).to_numpy(),
        "__size": clusters[C.CLUSTER_SIZE].astype("int64").to_numpy(),
        "__p": clusters[C.MATCH_PROBABILITY].astype("float64").to_numpy()}).astype(
        {"__k": "string", "__cluster": "string"}))
    rec = norm.select(norm[C.RECORD_KEY].cast("string").name(C.RECORD_KEY),
                      norm[C.SOURCE_SYSTEM].cast("string").name(C.SOURCE_SYSTEM),
                      norm[C.RECORD_ID].cast("string").name(C.RECORD_ID),
                      norm[C.HAS_IDENTIFIER])
    j = rec.left_join(cl, rec[C.RECORD_KEY] == cl["__k"])
    j = j.select(*[j[c] for c in rec.columns],
                 cluster=ibis.coalesce(j["__cluster"], j[C.RECORD_KEY]),
                 **{C.CLUSTER_SIZE: ibis.coalesce(j["__size"], 1).cast("int64"),
                    C.MATCH_PROBABILITY: j["__p"].cast("float64")})
    out = L.customer_id_table(j, "cluster")
    return out.select(C.RECORD_KEY, C.CUSTOMER_ID, C.SOURCE_SYSTEM, C.RECORD_ID, C.CLUSTER_SIZE,
                      C.MATCH_PROBABILITY, C.HAS_IDENTIFIER)


def identify_customers(records: pd.DataFrame, *, region: str = "GB", as_of=None,
                       threshold: float = 0.95, review_low: float = 0.5,
                       max_comparisons: int = 50_000_000, household_guard: bool = True,
                       must_link: pd.DataFrame | None = None,
                       cannot_link: pd.DataFrame | None = None,
                       survivorship: dict | None = None, source_priority=(),
                       rules=None, seed: int = 1994, blocking_rules=None, comparisons=None,
                       training=None, min_fill_rate: float = 0.01,
                       unique_sources=(), estimate_recall: bool = True,
                       spark=None, max_pairs_per_record: float = 5.0) -> IdentifyResult:
    """Resolve customer records held in a DataFrame into customers (:func:`resolve` on a
    private in-memory DuckDB; the stage itself, :func:`run`, resolves the workspace's table
    on its own engine).

    Records with no usable identifier (:func:`normalise.has_identifier`) skip linkage and
    become single customers; they are kept and flagged (``has_identifier`` False), never
    dropped. Must-link pairs merge, cannot-link pairs never end in one customer, and no
    customer holds two records of a source in ``unique_sources`` (config source names, or
    source systems) unless a must-link says so.

    ``blocking_rules``, ``comparisons`` and ``training`` are the config's
    ``identify.blocking_rules`` / ``comparisons`` / ``training`` (config keys); None lets
    :func:`linkage.plan_model` choose from the filled columns. ``rules`` takes blocking rules
    already in normalised columns (tests, benchmarks). ``spark``: a SparkSession where splink
    then runs (:func:`linkage.link_records`); None: DuckDB.
    """
    from ..vectorised import local_table, materialise

    t0 = time.perf_counter()
    if records[C.RECORD_KEY].isna().any() or records[C.RECORD_KEY].duplicated().any():
        raise ValueError("customer_records must have a unique, non-empty record_key per row "
                         "(ingest sets '<source_system>:<record_id>')")
    df = records.copy()
    for c in df.columns:  # text columns as text (an all-empty object column is not INTEGER)
        if df[c].dtype == object and df[c].map(type).isin([str, type(None)]).all():
            df[c] = df[c].astype("string")
    norm = materialise(N.normalise_table(local_table(df, "customer_records"), region=region,
                                         as_of=as_of), "customer_records_n")
    secs = {"normalise": time.perf_counter() - t0}
    res = resolve(norm, threshold=threshold, review_low=review_low,
                  max_comparisons=max_comparisons, household_guard=household_guard,
                  must_link=must_link, cannot_link=cannot_link, survivorship=survivorship,
                  source_priority=source_priority, rules=rules, seed=seed,
                  blocking_rules=blocking_rules, comparisons=comparisons, training=training,
                  min_fill_rate=min_fill_rate, unique_sources=unique_sources,
                  estimate_recall=estimate_recall, spark=spark,
                  max_pairs_per_record=max_pairs_per_record)
    secs.update(res.seconds)
    t = time.perf_counter()
    rm = res.record_map.to_pandas().sort_values(C.RECORD_KEY, kind="stable")
    customers = res.customers.to_pandas().sort_values(C.CUSTOMER_ID, kind="stable")
    secs["golden"] = time.perf_counter() - t
    secs["total"] = time.perf_counter() - t0
    return IdentifyResult(norm=norm.to_pandas(), record_map=rm.reset_index(drop=True),
                          customers=customers.reset_index(drop=True), pairs=res.pairs,
                          linkage=res.linkage, cluster_stats=res.cluster_stats, seconds=secs)


def model_table(lk: L.LinkageResult) -> pd.DataFrame:
    """The model's choices as one table: what, item, detail (comparisons, blocking rules,
    prior rules, training sessions with their outcome, notes, the recall estimate)."""
    rows = []
    plan = lk.plan
    if plan is not None:
        set_in = set(plan.set_in_config)
        for c in plan.comparisons:
            rows.append(("comparison", c, "identify.comparisons" if "comparisons" in set_in
                         else "chosen from the filled columns"))
        for r in plan.blocking:
            rows.append(("blocking rule", L._rule_name(r), "identify.blocking_rules"
                         if "blocking_rules" in set_in else "chosen from the filled columns"))
        for r in plan.prior_rules:
            rows.append(("prior rule", L._rule_name(r), "deterministic rule for the prior"))
        for note in plan.notes:
            rows.append(("note", "", note))
        for c, f in plan.fill.items():
            rows.append(("fill rate", c.removesuffix("_n"), f"{f:.4f}"))
    if lk.training is not None:
        for _, t in lk.training.iterrows():
            rows.append(("training session", t["session"],
                         f"{t['status']} ({int(t['pairs']):,} pairs)"))
    for k, v in lk.recall_estimate.items():
        rows.append(("blocking recall estimate", k,
                     f"{v:.6g}" if isinstance(v, float) else str(v)))
    rows.append(("prior", "probability two random records match", f"{lk.lambda_:.6g}"))
    return pd.DataFrame(rows, columns=["what", "item", "detail"])


def recall_estimate_text(model: pd.DataFrame) -> str:
    """One sentence on the blocking recall estimated without ground truth, from the
    ``linkage_model`` table (what it measures and how many pairs it rests on)."""
    est = model[model["what"] == "blocking recall estimate"].set_index("item")["detail"]
    if "estimated_blocking_recall" not in est.index:
        return ("Blocking recall could not be estimated: the loose probe rules had no name, "
                "birth date or postcode to block on.")
    found = int(float(est["pairs_found_by_rules"]))
    loose = int(float(est["pairs_found_only_by_loose_rules"]))
    share = float(est["probe_share"])
    if found + loose == 0:
        return ("Blocking recall could not be estimated: no likely match touched the probe "
                f"sample ({share:.1%} of the records).")
    return (f"Estimated blocking recall {float(est['estimated_blocking_recall']):.1%}: of "
            f"{found + loose:,} likely matches (probability at or above the threshold) that "
            f"touch a probe sample of {share:.1%} of the records, {loose:,} were found only by "
            "loose single-column rules (same surname, given name, birth date or postcode), "
            "so the blocking rules would miss them. No ground truth is needed.")


def _storable_pairs(pairs: pd.DataFrame) -> pd.DataFrame:
    out = pairs.copy()
    for c in out.columns:
        if out[c].dtype == object:
            out[c] = out[c].astype("string")
    return out


def run(cfg, ws: Workspace, echo: bool = True) -> dict:
    """Run Identify on the workspace of ``cfg`` and write its tables; return headline figures."""
    say = print if echo else (lambda *a, **k: None)
    idc = cfg.identify
    if not ws.has("customer_records") or ws.count("customer_records") == 0:
        say("no customer_records in the workspace: nothing to resolve. Load customer exports "
            "(CRM, web accounts, loyalty cards...) to give every record a customer id; until "
            "then each transaction's source record counts as its own customer.")
        O.ensure_overrides_table(ws)
        return {"records": 0, "customers": 0, "missing": "customer_records"}
    ov = O.read_overrides(ws)
    must, cannot = O.split_decisions(ov)
    records = ws.table("customer_records")
    unique = [s.name for s in cfg.sources if s.table == "customer_records" and s.unique]
    if "source" not in records.columns:  # an older workspace: the unique source's system
        unique = [s.system for s in cfg.sources
                  if s.table == "customer_records" and s.unique and s.system]
    from ..vectorised import materialise

    t0 = time.perf_counter()
    norm = materialise(N.normalise_table(records, region=cfg.country, as_of=cfg.as_of),
                       f"customer_records_n_{id(ws):x}")  # normalised once, in the engine
    secs = {"normalise": time.perf_counter() - t0}
    res = resolve(
        norm, threshold=idc.threshold_probability,
        review_low=idc.review_band[0], max_comparisons=idc.max_comparisons,
        household_guard=idc.household_guard, must_link=must, cannot_link=cannot,
        survivorship=idc.survivorship, source_priority=idc.source_priority,
        blocking_rules=idc.blocking_rules, comparisons=idc.comparisons,
        training=idc.training, min_fill_rate=idc.min_fill_rate, unique_sources=unique,
        max_pairs_per_record=idc.max_pairs_per_record,
        spark=ws.spark if ws.engine == "spark" else None)  # splink on the workspace's engine
    secs.update(res.seconds)
    t = time.perf_counter()
    with ws.stage_run("identify"):  # one transaction for all of them, in the run ledger
        ws.write("record_map", res.record_map)  # computed in the engine, never fetched
        ws.write("customers", res.customers)
        ws.write("linkage_pairs", _storable_pairs(res.pairs))
        O.ensure_overrides_table(ws)
        if res.linkage is not None:
            ws.write("linkage_levels", res.linkage.levels)
            ws.write("linkage_weights", res.linkage.weight_histogram)
            ws.write("linkage_blocking", res.linkage.blocking)
            ws.write("linkage_model", model_table(res.linkage))
    secs["write"] = time.perf_counter() - t
    rm, cust = ws.table("record_map"), ws.table("customers")
    counts = rm.aggregate(records=rm.count(),
                          without=(~rm[C.HAS_IDENTIFIER]).cast("int64").sum()).to_pandas().iloc[0]
    ccounts = cust.aggregate(customers=cust.count(),
                             multi=(cust[C.N_RECORDS] > 1).cast("int64").sum()).to_pandas().iloc[0]
    n_records, n_customers = int(counts["records"]), int(ccounts["customers"])
    band = idc.review_band
    p = res.pairs
    review = int((((p[C.MATCH_PROBABILITY] >= band[0]) & (p[C.MATCH_PROBABILITY] < band[1]))
                  | (p["guarded"] & (p[C.MATCH_PROBABILITY] >= band[0]))).sum()) if len(p) else 0
    summary = {
        "records": n_records,
        "records_without_identifier": int(counts["without"] or 0),
        "customers": n_customers,
        "multi_record_customers": int(ccounts["multi"] or 0),
        "duplicate_rate": float(1 - n_customers / n_records) if n_records else 0.0,
        "scored_pairs": int(res.linkage.scored_pairs) if res.linkage else 0,
        "pairs_merged": int(p["same_customer"].sum()) if "same_customer" in p else 0,
        "pairs_for_review": review,
        "held_by_household_guard": int(p["guarded"].sum()) if len(p) else 0,
        "must_links": int(res.cluster_stats["must_links"]),
        "cannot_links": int(res.cluster_stats["cannot_links"]),
        "clusters_split": int(res.cluster_stats["clusters_split"]),
        "unique_source_splits": int(res.cluster_stats.get("unique_source_splits", 0)),
    }
    lk = res.linkage
    if lk is not None:
        est = lk.recall_estimate.get("estimated_blocking_recall")
        if est is not None:
            summary["estimated_blocking_recall"] = float(est)
        summary["comparisons"] = ", ".join(lk.plan.comparisons) if lk.plan else ""
        summary["untrained_comparisons"] = sorted(
            set(lk.levels.loc[~lk.levels["m_trained"], "field"])) if len(lk.levels) else []
    rec, missing = R.recognition_summary(ws)
    for table in R.ACTIVITY:
        row = rec[(rec["table"] == table) & (rec["dimension"] == "all")]
        if len(row):
            summary[f"{table}_recognised"] = float(row["rate"].iloc[0])
    adr = P.addressable(cust)  # counted in the engine
    for _, r in adr.iterrows():
        summary[f"addressable_{r['channel']}"] = float(r["share"])
    secs["total"] = time.perf_counter() - t0
    summary["seconds"] = round(float(secs["total"]), 1)
    say(f"  {summary['records']:,} source records -> {summary['customers']:,} customers "
        f"({summary['records_without_identifier']:,} records without a usable identifier kept "
        f"as single customers; {summary['pairs_for_review']:,} pairs for clerical review)")
    if lk is not None:
        if "estimated_blocking_recall" in summary:
            r = lk.recall_estimate
            say(f"  blocking recall, estimated without ground truth: "
                f"{summary['estimated_blocking_recall']:.1%} ({r['pairs_found_by_rules']:,} "
                f"likely matches on a {r['probe_share']:.0%} probe sample found by the rules, "
                f"{r['pairs_found_only_by_loose_rules']:,} only by loose single-column rules)")
        for note in (lk.plan.notes if lk.plan else []):
            say(f"  model: {note}")
        if lk.training is not None:
            for _, t in lk.training[lk.training["status"] != "trained"].iterrows():
                say(f"  training session {t['session']}: {t['status']}")
    for m in missing:
        say(f"  note: {m}")
    return summary


def load_truth(cfg, path: str = "") -> pd.DataFrame | None:
    """A ground-truth file of who is who (source_system, record_id, person_id), when there is
    one: ``path`` if given, else ``ground_truth/records.*`` beside the client's customer
    exports (the sample client ships one). None when absent: real clients have no truth."""
    from pathlib import Path

    candidates = [cfg.resolve(path)] if path else []
    for s in cfg.sources:
        if s.table == "customer_records":
            folder = cfg.resolve(s.path).parent / "ground_truth"
            candidates += sorted(folder.glob("records.*"))
    for f in candidates:
        f = Path(f)
        if f.exists():
            df = pd.read_parquet(f) if f.suffix == ".parquet" else pd.read_csv(f, dtype=str)
            need = {C.SOURCE_SYSTEM, C.RECORD_ID, "person_id"}
            if not need <= set(df.columns):
                raise ValueError(f"{f}: a ground-truth file needs columns {sorted(need)}; "
                                 f"found {list(df.columns)}")
            return df
    return None


def evaluate(ws: Workspace, truth: pd.DataFrame, region: str = "GB", as_of=None) -> dict:
    """Pairwise precision / recall / F1, blocking recall and cluster-level figures of the
    workspace's ``record_map`` against a ground truth (see :func:`load_truth`)."""
    rm = ws.read("record_map")
    key = truth[C.SOURCE_SYSTEM].astype(str) + ":" + truth[C.RECORD_ID].astype(str)
    person = rm[C.RECORD_KEY].map(pd.Series(truth["person_id"].to_numpy(), index=key))
    scores = L.pairwise_scores(rm[C.CUSTOMER_ID], person)
    norm = N.normalise_records(ws.read("customer_records"), region=region, as_of=as_of)
    rules = L.DEFAULT_BLOCKING_RULES
    if ws.has("linkage_model"):  # the rules this run used
        model = ws.read("linkage_model")
        items = model.loc[model["what"] == "blocking rule", "item"].tolist()
        rules = [i if i == L.SWAPPED else tuple(i.split(" & ")) for i in items] or rules
    br = L.blocking_recall(norm, norm[C.RECORD_KEY].map(
        pd.Series(person.to_numpy(), index=rm[C.RECORD_KEY])), rules)
    return {**scores, **br, "records_without_truth": int(person.isna().sum())}
