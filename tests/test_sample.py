"""The sample client: deterministic, loadable, and its planted stories really are in the data.

Every story is checked on the raw exports (joined to the ground truth only to know who is who),
not on the generator's own summary columns.
"""

from __future__ import annotations

import hashlib
import subprocess
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from onetoone import paths
from onetoone.config import DEFAULT_CHANNEL_COSTS, load_config
from onetoone.sample import generate

SAMPLE = paths.SAMPLE_DIR
AS_OF = pd.Timestamp("2026-09-30")
LAST_YEAR = pd.Timestamp("2025-10-01")
PREV_YEAR = pd.Timestamp("2024-10-01")


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): _sha(p) for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != "README.md" and p.suffix not in (".duckdb", ".wal")
            and "sqlite" not in p.name}


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("sample")
    counts = generate(out)
    return out, counts


@pytest.fixture(scope="module")
def raw() -> dict[str, pd.DataFrame]:
    """The committed exports, read the way the client wrote them, plus the ground truth."""
    rec = pd.read_csv(SAMPLE / "ground_truth/records.csv.gz", dtype=str)
    people = pd.read_csv(SAMPLE / "ground_truth/people.csv.gz")
    # the exports' quirks (data/sample/README.md, "What ingest quarantines") are extra rows that
    # ingest refuses: a ragged line, re-sent lines with impossible dates, FAX contacts
    pos = pd.read_csv(SAMPLE / "pos_transactions.csv.gz", sep=";", dtype=str, on_bad_lines="skip")
    pos = pos[~pos["TxnLineID"].str.endswith(("-RESENT", "-DUP"))].reset_index(drop=True)
    web = pd.read_parquet(SAMPLE / "web_orders.parquet")
    crm = pd.read_csv(SAMPLE / "crm_orders.csv.gz", sep=";", decimal=",", dtype=str)
    for col in ("Value", "COGS"):  # the CRM's order system writes decimal commas
        crm[col] = crm[col].str.replace(",", ".", regex=False)
    tx = pd.concat([
        pd.DataFrame({"system": "loyalty", "record_id": pos["Card_No"],
                      "date": pd.to_datetime(pos["Txn_Time"], format="%d/%m/%Y %H:%M:%S"),
                      "product_id": pos["SKU"], "amount": pos["Net_Amount"].astype(float),
                      "cost": pos["Cost_Amount"].astype(float),
                      "is_return": pos["Return_Flag"] == "Y"}),
        pd.DataFrame({"system": "web", "record_id": web["account_id"], "date": web["ordered_at"],
                      "product_id": web["sku"], "amount": web["line_total"],
                      "cost": web["line_cost"], "is_return": web["is_return"]}),
        pd.DataFrame({"system": "crm", "record_id": crm["CustNo"],
                      "date": pd.to_datetime(crm["OrderDate"]), "product_id": crm["ProductCode"],
                      "amount": crm["Value"].astype(float), "cost": crm["COGS"].astype(float),
                      "is_return": crm["Credit"] == "Y"}),
    ], ignore_index=True)
    calls = pd.read_csv(SAMPLE / "callcentre_contacts.csv.gz", dtype=str)
    camp = pd.read_csv(SAMPLE / "crm_campaign_contacts.csv.gz", dtype=str)
    camp = camp[camp["Medium"] != "FAX"].reset_index(drop=True)
    chan_in = {"PHONE": "call_centre", "EMAIL": "email", "CHAT": "web", "STORE DESK": "store"}
    chan_out = {"EM": "email", "SMS": "sms", "DM": "mail", "TM": "call_centre", "REP": "sales_rep"}
    it = pd.concat([
        pd.DataFrame({"system": "callcentre", "record_id": calls["CallerRef"],
                      "date": pd.to_datetime(calls["ContactStart"]),
                      "channel": calls["Medium"].map(chan_in), "direction": "inbound",
                      "type": calls["Reason"].str.lower(), "cost": np.nan}),
        pd.DataFrame({"system": "crm", "record_id": camp["CustNo"],
                      "date": pd.to_datetime(camp["SentAt"]),
                      "channel": camp["Medium"].map(chan_out), "direction": "outbound",
                      "type": camp["ContactType"].str.lower(),
                      "cost": camp["UnitCost"].astype(float)}),
    ], ignore_index=True)
    key = rec.rename(columns={"source_system": "system"})
    tx = tx.merge(key, on=["system", "record_id"], how="left")
    it = it.merge(key, on=["system", "record_id"], how="left")
    return {"records": rec, "people": people, "tx": tx, "it": it, "pos": pos}


# -- determinism ---------------------------------------------------------------------------------
def test_regenerating_gives_the_committed_files_byte_for_byte(regenerated):
    out, counts = regenerated
    committed, fresh = _tree(SAMPLE), _tree(out)
    # files a run writes beside the sample's config (workspace, survey DB, contact plan CSV)
    # are ignored by git and are not the generator's; every generated file must be committed
    tracked = set(subprocess.run(["git", "ls-files", "."], cwd=SAMPLE, capture_output=True,
                                 text=True, check=False).stdout.split())
    if tracked:  # a git checkout: nothing generated is missing from git, nothing extra is in it
        assert set(fresh) == {t for t in tracked if t in committed}, \
            sorted(set(fresh) ^ {t for t in tracked if t in committed})
    assert set(fresh) <= set(committed), sorted(set(fresh) - set(committed))
    differ = [name for name in fresh if fresh[name] != committed[name]]
    assert not differ, f"regenerated files differ from data/sample: {differ}"
    assert counts["files"] == len(fresh)


def test_same_seed_same_bytes_other_seed_other_data(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate(a, seed=7, people=2000)
    generate(b, seed=7, people=2000)
    generate(c, seed=8, people=2000)
    assert _tree(a) == _tree(b)
    assert _tree(a)["crm_customers.csv.gz"] != _tree(c)["crm_customers.csv.gz"]


def test_too_few_people_is_refused(tmp_path):
    with pytest.raises(ValueError, match="at least 1000"):
        generate(tmp_path, people=50)


# -- config and layout ------------------------------------------------------------------------
def test_client_yaml_loads_and_never_points_at_the_ground_truth():
    cfg = load_config(SAMPLE / "client.yaml")
    assert cfg.currency == "GBP" and cfg.country == "GB" and str(cfg.as_of) == "2026-09-30"
    text = (SAMPLE / "client.yaml").read_text(encoding="utf-8")
    assert "ground_truth" not in text and "person_id" not in text
    systems = {s.system for s in cfg.sources if s.table == "customer_records"}
    assert systems == {"crm", "web", "loyalty", "callcentre"}
    for s in cfg.sources:
        assert cfg.resolve(s.path).is_file(), s.path
    loyalty = cfg.source("loyalty_cards")
    assert loyalty.delimiter == ";" and loyalty.date_format == "%d/%m/%Y"


def test_sample_is_small():
    total = sum(p.stat().st_size for p in SAMPLE.rglob("*") if p.is_file()
                and p.suffix not in (".duckdb", ".wal"))
    assert total < 25 * 2 ** 20, f"data/sample is {total / 2 ** 20:.1f} MB"


def test_counts_in_range(raw):
    rec, tx, it = raw["records"], raw["tx"], raw["it"]
    assert rec["person_id"].nunique() == 20000
    assert 30_000 <= len(rec) <= 40_000
    assert 300_000 <= len(tx) <= 450_000
    assert 100_000 <= len(it) <= 200_000
    products = pd.read_csv(SAMPLE / "products.csv")
    assert len(products) == 1500 and (products["BuildToOrder"] == "Y").sum() == 30
    comps = pd.read_csv(SAMPLE / "components.csv")
    assert comps["BaseSKU"].nunique() == 30
    assert (comps.groupby(["BaseSKU", "Module"])["IsDefault"].apply(lambda s: (s == "Y").sum())
            == 1).all()
    rules = pd.read_csv(SAMPLE / "component_rules.csv")
    assert set(rules["Rule"]) == {"REQUIRES", "EXCLUDES"}
    assert set(rules["OptionCode"]) | set(rules["OtherOptionCode"]) <= set(comps["OptionCode"])
    assert set(tx["product_id"]) <= set(products["SKU"])


def test_every_linked_event_names_a_known_record(raw):
    tx, it = raw["tx"], raw["it"]
    linked = tx["record_id"].notna()
    assert tx.loc[linked, "person_id"].notna().all()
    assert it.loc[it["record_id"].notna(), "person_id"].notna().all()
    inbound = it[it["direction"] == "inbound"]
    assert 0.03 < inbound["record_id"].isna().mean() < 0.10  # some callers gave no reference


def test_store_lines_partly_anonymous_and_returns_about_five_percent(raw):
    pos = raw["pos"]
    anon = pos["Card_No"].isna().mean()
    assert 0.15 <= anon <= 0.20, anon
    ret = raw["tx"]["is_return"].mean()
    assert 0.035 <= ret <= 0.065, ret
    assert (raw["tx"].loc[raw["tx"]["is_return"], "amount"] < 0).all()
    assert raw["tx"]["date"].max() <= AS_OF + pd.Timedelta(days=1)
    assert raw["tx"]["date"].min() >= pd.Timestamp("2023-10-01")


# -- identity: hard but fair ----------------------------------------------------------------------
def _norm(s):
    import unicodedata

    if not isinstance(s, str) or not s.strip():
        return None
    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode().strip().lower()


def _customer_records() -> pd.DataFrame:
    crm = pd.read_csv(SAMPLE / "crm_customers.csv.gz", dtype=str)
    web = pd.read_parquet(SAMPLE / "web_accounts.parquet")
    loy = pd.read_csv(SAMPLE / "loyalty_cards.csv.gz", sep=";", dtype=str)
    cc = pd.read_csv(SAMPLE / "callcentre_callers.csv.gz", dtype=str)
    frames = [
        pd.DataFrame({"system": "crm", "record_id": crm["CustNo"], "first": crm["FirstName"],
                      "last": crm["Surname"], "email": crm["Email"], "phone": crm["Tel"],
                      "postcode": crm["PostCode"], "dob": crm["DOB"]}),
        pd.DataFrame({"system": "web", "record_id": web["account_id"], "first": web["first_name"],
                      "last": web["last_name"], "email": web["email"], "phone": web["mobile"],
                      "postcode": web["postcode"],
                      "dob": web["date_of_birth"].map(lambda d: None if d is None else str(d))}),
        pd.DataFrame({"system": "loyalty", "record_id": loy["Card_No"], "first": loy["Forename"],
                      "last": loy["Surname"], "email": loy["Email_Addr"], "phone": loy["Phone_No"],
                      "postcode": loy["Post_Code"],
                      "dob": pd.to_datetime(loy["Birth_Date"], format="%d/%m/%Y")
                      .dt.strftime("%Y-%m-%d")}),
        pd.DataFrame({"system": "callcentre", "record_id": cc["CallerRef"],
                      "first": cc["Caller_First"], "last": cc["Caller_Last"], "email": cc["Email"],
                      "phone": cc["Phone_Number"], "postcode": cc["Post_Code"], "dob": None}),
    ]
    out = pd.concat(frames, ignore_index=True)
    out["email"] = out["email"].map(lambda e: e.strip().lower() if isinstance(e, str) else None)
    out["phone"] = out["phone"].map(
        lambda p: "".join(c for c in p if c.isdigit())[-10:] if isinstance(p, str) else None)
    out["postcode"] = out["postcode"].map(
        lambda p: p.replace(" ", "").upper() if isinstance(p, str) else None)
    out["first"] = out["first"].map(_norm)
    out["last"] = out["last"].map(_norm)
    out["dob"] = out["dob"].where(out["dob"].notna(), None)
    return out


def test_some_true_pairs_share_no_strong_identifier_at_the_documented_rate(raw):
    """The generator no longer repairs every pair (data/sample/README.md, "Linkage is not
    guaranteed"): a few per cent of one person's record pairs share no exact strong
    identifier, so Identify's recall is measured, not built in."""
    recs = _customer_records().merge(raw["records"].rename(columns={"source_system": "system"}),
                                     on=["system", "record_id"])
    assert len(recs) == len(raw["records"])
    weak = 0
    pairs = 0
    for _pid, g in recs.groupby("person_id"):
        rows = g.to_dict("records")
        for a, b in combinations(rows, 2):
            pairs += 1
            same = {k: a[k] is not None and a[k] == b[k]
                    for k in ("email", "phone", "dob", "first", "last", "postcode")}
            ok = (same["email"] or same["phone"]
                  or (same["dob"] and (same["first"] or same["last"]))
                  or (same["postcode"] and same["first"] and same["last"]))
            weak += not ok
    assert pairs > 10_000
    assert 0.01 <= weak / pairs <= 0.08, f"{weak} of {pairs} true pairs share no strong identifier"


def test_noise_is_realistic(raw):
    recs = _customer_records()
    assert recs["email"].isna().mean() > 0.15  # missing fields
    crm = pd.read_csv(SAMPLE / "crm_customers.csv.gz", dtype=str)
    phones = pd.concat([crm["Tel"], pd.read_csv(SAMPLE / "loyalty_cards.csv.gz", sep=";",
                                                dtype=str)["Phone_No"]]).dropna()
    assert phones.str.startswith("+44").any() and phones.str.contains("-").any()
    assert phones.str.fullmatch(r"0\d{9,10}").any()
    web = pd.read_parquet(SAMPLE / "web_accounts.parquet")
    assert (web["email"] != web["email"].str.strip().str.lower()).mean() > 0.03
    people = raw["people"]
    # several different people share a common full name; households share an email
    full = people.groupby(["first_name", "last_name"])["birth_date"].nunique()
    assert (full >= 2).sum() >= 20
    assert ("John", "Smith") in full.index and full[("John", "Smith")] >= 2
    shared = people[people["shares_email"]]
    assert shared.groupby("email")["first_name"].nunique().min() == 2
    assert shared["household_id"].nunique() * 2 == len(shared)
    assert people["has_no_identifier"].sum() >= 100


# -- value, skew, taste --------------------------------------------------------------------------
def _revenue_by_person(tx):
    return tx.dropna(subset=["person_id"]).groupby("person_id")["amount"].sum()


def test_value_is_strongly_skewed(raw):
    rev = _revenue_by_person(raw["tx"])
    x = np.sort(rev[rev > 0].to_numpy())
    n = len(x)
    gini = (2 * np.arange(1, n + 1) - n - 1).dot(x) / (n * x.sum())
    top5 = x[-int(n * 0.05):].sum() / x.sum()
    # the 300 trade accounts (sample/accounts.py, 1.5 % of people) bring about 40 % of revenue:
    # measured Gini 0.80, top 5 % 0.61 (0.71 and 0.41 before them)
    assert 0.75 <= gini <= 0.85, gini
    assert 0.50 <= top5 <= 0.70, top5


def test_purchases_follow_the_person_tastes(raw):
    tx = raw["tx"].dropna(subset=["person_id"])
    tx = tx[~tx["is_return"]]
    products = pd.read_csv(SAMPLE / "products.csv")
    tx = tx.merge(products[["SKU", "Range"]], left_on="product_id", right_on="SKU")
    aff = raw["people"].set_index("person_id")["affinity_subjects"].str.split(";")
    aff = aff.reindex(tx["person_id"]).to_numpy()
    share = np.mean([r in a for r, a in zip(tx["Range"].to_numpy(), aff)
                     if isinstance(a, list)])
    assert share > 0.6, share
    # the segments differ in category mix
    tx = tx.merge(raw["people"][["person_id", "segment"]], on="person_id")
    mix = pd.crosstab(tx["segment"], products.set_index("SKU").loc[tx["product_id"], "Dept"]
                      .to_numpy(), normalize="index")
    assert len(mix) >= 5 and (mix.max(axis=1) > 0.3).all()


def test_item_item_beats_popularity_on_a_time_holdout(raw):
    from scipy import sparse

    tx = raw["tx"].dropna(subset=["person_id"])
    tx = tx[~tx["is_return"]]
    cut = pd.Timestamp("2026-04-01")
    train, test = tx[tx["date"] < cut], tx[tx["date"] >= cut]
    items = {s: i for i, s in enumerate(sorted(tx["product_id"].unique()))}
    users = {u: i for i, u in enumerate(sorted(train["person_id"].unique()))}
    X = sparse.csr_matrix((np.ones(len(train)), (train["person_id"].map(users),
                                                 train["product_id"].map(items))),
                          shape=(len(users), len(items)))
    X.data[:] = 1
    S = (X.T @ X).toarray()
    np.fill_diagonal(S, 0)
    norm = np.sqrt(np.asarray(X.sum(0)).ravel()) + 1e-9
    S = S / norm[:, None] / norm[None, :]
    pop = np.asarray(X.sum(0)).ravel().astype(float)
    truth = test[test["person_id"].isin(users)].groupby("person_id")["product_id"].agg(
        lambda s: {items[x] for x in s})
    rng = np.random.default_rng(0)
    sample = rng.choice(truth.index.to_numpy(), min(3000, len(truth)), replace=False)
    hits_cf = hits_pop = 0
    for u in sample:
        row = X[users[u]]
        seen = row.indices
        sc = np.asarray(row @ S).ravel()
        sc[seen] = -1
        p = pop.copy()
        p[seen] = -1
        hits_cf += len(truth[u] & set(np.argpartition(-sc, 10)[:10]))
        hits_pop += len(truth[u] & set(np.argpartition(-p, 10)[:10]))
    assert hits_cf >= 1.5 * hits_pop, (hits_cf, hits_pop)


# -- planted stories -----------------------------------------------------------------------------
def test_decliners_halved_their_spend(raw):
    tx, people = raw["tx"].dropna(subset=["person_id"]), raw["people"]
    last = tx[tx["date"] >= LAST_YEAR].groupby("person_id")["amount"].sum()
    prev = tx[(tx["date"] >= PREV_YEAR) & (tx["date"] < LAST_YEAR)].groupby("person_id")[
        "amount"].sum()
    dec = people.loc[people["is_decliner"], "person_id"]
    assert 150 <= len(dec) <= 300
    ratio = last.reindex(dec).fillna(0) / prev.reindex(dec)
    assert (ratio <= 0.5).all(), ratio.max()
    assert (last.reindex(dec).fillna(0) > 0).all()  # declined, not lapsed
    # among consumers: the trade accounts (business, accounts.py) are a story of their own,
    # planted after the decliners, and would lift any percentile of all buyers
    consumers = people.loc[~people["is_business"], "person_id"]
    cprev = prev.reindex(consumers).dropna()
    threshold = cprev[cprev > 0].quantile(0.80)
    assert (prev.reindex(dec) >= threshold).all()


def test_lost_valuables_bought_regularly_then_stopped(raw):
    tx, people = raw["tx"].dropna(subset=["person_id"]), raw["people"]
    lost = people.loc[people["is_lost_valuable"], "person_id"]
    assert 150 <= len(lost) <= 250
    mine = tx[tx["person_id"].isin(lost)]
    assert (mine["date"] < LAST_YEAR).all()
    quarters = mine.assign(q=mine["date"].dt.to_period("Q")).groupby("person_id")["q"].nunique()
    assert (quarters >= 4).all()
    rev = _revenue_by_person(tx)
    assert rev.reindex(lost).median() > rev.quantile(0.85)


def test_below_zero_customers_cost_more_than_they_earn(raw):
    tx, it, people = raw["tx"].dropna(subset=["person_id"]), raw["it"], raw["people"]
    margin = (tx["amount"] - tx["cost"]).groupby(tx["person_id"]).sum()
    it = it.dropna(subset=["person_id"])
    cost = it["cost"].fillna(it["channel"].map(DEFAULT_CHANNEL_COSTS))
    serve = cost.groupby(it["person_id"]).sum()
    bz = people.loc[people["is_below_zero"], "person_id"]
    assert 150 <= len(bz) <= 300
    contribution = margin.reindex(bz).fillna(0) - serve.reindex(bz).fillna(0)
    assert (contribution < 0).all(), contribution.max()
    calls = it[it["channel"] == "call_centre"].groupby("person_id").size()
    assert calls.reindex(bz).fillna(0).median() >= 10
    returns = tx[tx["is_return"]].groupby("person_id").size() / tx.groupby("person_id").size()
    assert returns.reindex(bz).median() > 3 * returns.median()


def test_over_contacted_get_far_more_than_the_caps(raw):
    it, people = raw["it"].dropna(subset=["person_id"]), raw["people"]
    out = it[it["direction"] == "outbound"]
    per_month = out.groupby(["person_id", out["date"].dt.to_period("M")]).size()
    worst = per_month.groupby(level=0).max()
    oc = people.loc[people["is_over_contacted"], "person_id"]
    assert 150 <= len(oc) <= 250
    assert (worst.reindex(oc) >= 8).all()
    assert (worst.drop(oc, errors="ignore") < 8).all()
    # some were contacted within 14 days after a complaint
    comp = it[it["type"] == "complaint"][["person_id", "date"]]
    j = out[out["person_id"].isin(oc)][["person_id", "date"]].merge(comp, on="person_id",
                                                                    suffixes=("", "_c"))
    soon = j[(j["date"] > j["date_c"]) & (j["date"] <= j["date_c"] + pd.Timedelta(days=14))]
    assert soon["person_id"].nunique() >= 0.4 * len(oc)


def test_repeat_complainers(raw):
    it, people = raw["it"].dropna(subset=["person_id"]), raw["people"]
    n = it[it["type"] == "complaint"].groupby("person_id").size()
    rc = people.loc[people["is_repeat_complainer"], "person_id"]
    assert set(n[n >= 3].index) == set(rc)
    assert 100 <= len(rc) <= 300
