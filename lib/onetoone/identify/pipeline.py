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
    """Resolve customer records into customers.

    Records with no usable identifier (:func:`normalise.has_identifier`) skip linkage and
    become single customers; they are kept and flagged (``has_identifier`` False), never
    dropped. Must-link pairs merge, cannot-link pairs never end in one customer, and no
    customer holds two records of a source in ``unique_sources`` (config source names, or
    source systems) unless a must-link says so.

    ``blocking_rules``, ``comparisons`` and ``training`` are the config's
    ``identify.blocking_rules`` / ``comparisons`` / ``training`` (config keys); None lets
    :func:`linkage.plan_model` choose from the filled columns. ``rules`` takes blocking rules
    already in normalised columns (tests, benchmarks). ``spark``: the Spark workspace's
    session, where splink then runs (:func:`linkage.link_records`); None: DuckDB.
    """
    t0 = time.perf_counter()
    secs = {}
    if records[C.RECORD_KEY].isna().any() or records[C.RECORD_KEY].duplicated().any():
        raise ValueError("customer_records must have a unique, non-empty record_key per row "
                         "(ingest sets '<source_system>:<record_id>')")
    norm = N.normalise_records(records, region=region, as_of=as_of)
    usable = N.has_identifier(norm)
    norm[C.HAS_IDENTIFIER] = usable
    secs["normalise"] = time.perf_counter() - t0
    linkage = None
    pairs = pd.DataFrame(columns=["record_key_l", "record_key_r", C.MATCH_PROBABILITY,
                                  "match_weight"])
    if usable.sum() >= 2:
        plan = L.plan_model(norm[usable], blocking_rules=blocking_rules, comparisons=comparisons,
                            training=training, min_fill_rate=min_fill_rate)
        if rules is not None:
            plan.blocking = list(rules)
            plan.set_in_config = (*plan.set_in_config, "blocking_rules")
        linkage = L.link_records(norm[usable], plan=plan, max_comparisons=max_comparisons,
                                 keep_probability=min(review_low, threshold), seed=seed,
                                 estimate_recall=estimate_recall, recall_threshold=threshold,
                                 spark=spark, pairs_per_record=max_pairs_per_record)
        pairs = linkage.pairs
        secs.update({f"link_{k}": v for k, v in linkage.seconds.items()})
    pairs["guarded"] = L.household_guard(pairs) if household_guard else False
    t = time.perf_counter()
    unique_of = None
    if len(unique_sources):
        col = "source" if "source" in norm.columns else C.SOURCE_SYSTEM
        src = norm[col].astype(object)
        unique_of = pd.Series(src.where(src.isin(list(unique_sources))).to_numpy(),
                              index=norm[C.RECORD_KEY].to_numpy())
    clusters, stats = L.cluster_records(norm[C.RECORD_KEY], pairs[~pairs["guarded"]], threshold,
                                        must_link=must_link, cannot_link=cannot_link,
                                        unique_source=unique_of)
    clusters[C.CUSTOMER_ID] = L.customer_ids(clusters["cluster"])
    secs["cluster"] = time.perf_counter() - t
    rm = norm[[C.RECORD_KEY, C.SOURCE_SYSTEM, C.RECORD_ID, C.HAS_IDENTIFIER]].merge(
        clusters[[C.RECORD_KEY, C.CUSTOMER_ID, C.CLUSTER_SIZE, C.MATCH_PROBABILITY]],
        on=C.RECORD_KEY, how="left")
    rm = rm[[C.RECORD_KEY, C.CUSTOMER_ID, C.SOURCE_SYSTEM, C.RECORD_ID, C.CLUSTER_SIZE,
             C.MATCH_PROBABILITY, C.HAS_IDENTIFIER]]
    cid = rm.set_index(C.RECORD_KEY)[C.CUSTOMER_ID]
    if len(pairs):
        pairs["customer_id_l"] = pairs["record_key_l"].map(cid)
        pairs["customer_id_r"] = pairs["record_key_r"].map(cid)
        pairs["same_customer"] = pairs["customer_id_l"] == pairs["customer_id_r"]
    t = time.perf_counter()
    with_cid = norm.merge(rm[[C.RECORD_KEY, C.CUSTOMER_ID]], on=C.RECORD_KEY)
    customers = G.golden_records(with_cid, survivorship, source_priority)
    secs["golden"] = time.perf_counter() - t
    secs["total"] = time.perf_counter() - t0
    return IdentifyResult(norm=norm, record_map=rm, customers=customers, pairs=pairs,
                          linkage=linkage, cluster_stats=stats, seconds=secs)


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
    records = ws.read("customer_records")
    ov = O.read_overrides(ws)
    must, cannot = O.split_decisions(ov)
    unique = [s.name for s in cfg.sources if s.table == "customer_records" and s.unique]
    if "source" not in records.columns:  # an older workspace: the unique source's system
        unique = [s.system for s in cfg.sources
                  if s.table == "customer_records" and s.unique and s.system]
    res = identify_customers(
        records, region=cfg.country, as_of=cfg.as_of, threshold=idc.threshold_probability,
        review_low=idc.review_band[0], max_comparisons=idc.max_comparisons,
        household_guard=idc.household_guard, must_link=must, cannot_link=cannot,
        survivorship=idc.survivorship, source_priority=idc.source_priority,
        blocking_rules=idc.blocking_rules, comparisons=idc.comparisons,
        training=idc.training, min_fill_rate=idc.min_fill_rate, unique_sources=unique,
        max_pairs_per_record=idc.max_pairs_per_record,
        spark=ws.spark if ws.engine == "spark" else None)  # splink on the workspace's engine
    with ws.stage_run("identify"):  # one transaction for all of them, in the run ledger
        ws.write("record_map", res.record_map)
        ws.write("customers", res.customers)
        ws.write("linkage_pairs", _storable_pairs(res.pairs))
        O.ensure_overrides_table(ws)
        if res.linkage is not None:
            ws.write("linkage_levels", res.linkage.levels)
            ws.write("linkage_weights", res.linkage.weight_histogram)
            ws.write("linkage_blocking", res.linkage.blocking)
            ws.write("linkage_model", model_table(res.linkage))
    rm, cust = res.record_map, res.customers
    band = idc.review_band
    p = res.pairs
    review = int((((p[C.MATCH_PROBABILITY] >= band[0]) & (p[C.MATCH_PROBABILITY] < band[1]))
                  | (p["guarded"] & (p[C.MATCH_PROBABILITY] >= band[0]))).sum()) if len(p) else 0
    summary = {
        "records": len(rm),
        "records_without_identifier": int((~rm[C.HAS_IDENTIFIER]).sum()),
        "customers": len(cust),
        "multi_record_customers": int((cust[C.N_RECORDS] > 1).sum()),
        "duplicate_rate": float(1 - len(cust) / len(rm)) if len(rm) else 0.0,
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
    adr = P.addressable(cust)
    for _, r in adr.iterrows():
        summary[f"addressable_{r['channel']}"] = float(r["share"])
    summary["seconds"] = round(float(res.seconds["total"]), 1)
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
