"""Clerical review and overrides: must-link / cannot-link decisions that win on every run.

Decisions live in the workspace table ``link_overrides`` (one row per decision, never
overwritten by a run; the latest decision on a pair wins). :func:`review_queue` lists the
pairs a person should look at, field by field; :func:`explain` says why records were merged.
"""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd

from .. import columns as C
from ..workspace import Workspace

OVERRIDES = "link_overrides"
DECISIONS = ("must_link", "cannot_link")
OVERRIDE_COLUMNS = ["record_key_l", "record_key_r", "decision", "reason", "decided_by",
                    "decided_at"]
FIELDS = ("first_name", "last_name", "email", "phone", "birth_date", "address")


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in OVERRIDE_COLUMNS}).astype(
        {"decided_at": "datetime64[us]"})


def read_overrides(ws: Workspace, latest: bool = True) -> pd.DataFrame:
    """The decisions in the workspace (latest per pair when ``latest``); empty when none."""
    if not ws.has(OVERRIDES):
        return _empty()
    df = ws.read(OVERRIDES)
    if latest and len(df):
        df = (df.sort_values("decided_at", kind="stable")
              .drop_duplicates(["record_key_l", "record_key_r"], keep="last"))
        df = df[df["decision"].isin(DECISIONS)]
    return df.reset_index(drop=True)


def add_override(ws: Workspace, record_key_a: str, record_key_b: str, decision: str,
                 reason: str = "", decided_by: str = "",
                 decided_at: dt.datetime | None = None) -> pd.DataFrame:
    """Store a must-link or cannot-link decision between two source records.

    The pair is stored in key order; a later decision on the same pair replaces the earlier
    one when the stage runs (both stay in the table as history). ``decision="undo"`` withdraws
    the decision on the pair. Returns the row written.

    Raises
    ------
    ValueError
        When the decision is unknown, the two keys are equal, or a key is not a customer
        record in the workspace.
    """
    if decision not in (*DECISIONS, "undo"):
        raise ValueError(f"decision must be one of {(*DECISIONS, 'undo')}; found {decision!r}")
    if record_key_a == record_key_b:
        raise ValueError(f"a decision needs two different records; found {record_key_a!r} twice")
    if ws.has("customer_records"):
        cr = ws.table("customer_records")
        known = cr.filter(cr[C.RECORD_KEY].isin([record_key_a, record_key_b])).select(
            C.RECORD_KEY).to_pandas()[C.RECORD_KEY].tolist()
        unknown = [k for k in (record_key_a, record_key_b) if k not in known]
        if unknown:
            raise ValueError(f"record key(s) {unknown} are not in the workspace's customer_records "
                             "(expected '<source_system>:<record_id>')")
    lo, hi = sorted([record_key_a, record_key_b])
    row = pd.DataFrame([{"record_key_l": lo, "record_key_r": hi, "decision": decision,
                         "reason": reason, "decided_by": decided_by,
                         "decided_at": pd.Timestamp(decided_at or dt.datetime.now())}])
    row["decided_at"] = row["decided_at"].astype("datetime64[us]")
    ensure_overrides_table(ws)
    ws.append(OVERRIDES, row)
    return row


def ensure_overrides_table(ws: Workspace) -> None:
    """Create the empty ``link_overrides`` table so it always exists after a run."""
    if not ws.has(OVERRIDES):  # on either engine: text columns and a timestamp
        ws.write(OVERRIDES, _empty().astype({c: "str" for c in OVERRIDE_COLUMNS[:-1]}))


def split_decisions(overrides: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(must_link, cannot_link) frames of record_key_l, record_key_r."""
    cols = ["record_key_l", "record_key_r"]
    return (overrides.loc[overrides["decision"] == "must_link", cols],
            overrides.loc[overrides["decision"] == "cannot_link", cols])


def agreement_labels(pairs: pd.DataFrame, levels: pd.DataFrame) -> pd.DataFrame:
    """Per pair and field, the comparison level in words (``exact``, ``Jaro-Winkler >= 0.92``,
    ``missing``...) from the ``gamma_<field>`` columns and the model's level table."""
    out = pd.DataFrame(index=pairs.index)
    fields = list(dict.fromkeys([*FIELDS, *levels["field"].tolist()])) if len(levels) else FIELDS
    for f in fields:
        g = f"gamma_{f}"
        if g not in pairs.columns:
            continue
        lab = levels[levels["field"] == f].set_index("gamma")["label"].to_dict()
        lab[-1] = "missing"
        out[f] = pairs[g].map(lab)
    return out


def review_queue(pairs: pd.DataFrame, levels: pd.DataFrame, band: tuple[float, float],
                 limit: int | None = None) -> pd.DataFrame:
    """Pairs for clerical review: match probability inside ``band`` [low, high), plus pairs
    the household guard held back, strongest first, with field-by-field agreement and weight.
    Pairs already decided (must_link / cannot_link) are left out by the caller's overrides."""
    lo, hi = band
    p = pairs
    held = p["guarded"] if "guarded" in p.columns else pd.Series(False, index=p.index)
    sel = ((p[C.MATCH_PROBABILITY] >= lo) & (p[C.MATCH_PROBABILITY] < hi)) | (
        held & (p[C.MATCH_PROBABILITY] >= lo))
    q = p[sel].sort_values("match_weight", ascending=False)
    if limit:
        q = q.head(limit)
    agree = agreement_labels(q, levels).add_prefix("agree_")
    q = q.assign(**{f"name_{s}": (q[f"first_name_n_{s}"].fillna("") + " "
                                  + q[f"last_name_n_{s}"].fillna("")).str.strip()
                    for s in ("l", "r") if f"first_name_n_{s}" in q.columns})
    keep = ["record_key_l", "record_key_r", "name_l", "name_r", "match_weight",
            C.MATCH_PROBABILITY]
    keep = [c for c in keep if c in q.columns]
    keep += [c for c in ("guarded", "customer_id_l", "customer_id_r") if c in q.columns]
    keep += [c for c in q.columns if c.startswith("weight_")]
    return pd.concat([q[keep], agree], axis=1).reset_index(drop=True)


def explain(ws: Workspace, key: str) -> dict:
    """Why a customer is what it is: its source records, the pairs that joined them (fields
    that agreed, weights, probability) and the decisions that touch it.

    ``key`` is a customer id or a record key. Returns ``{"customer_id", "records",
    "pairs", "overrides"}`` (DataFrames) or raises LookupError naming what was searched.
    """
    rm = ws.table("record_map")
    hit = rm.filter((rm[C.CUSTOMER_ID] == key) | (rm[C.RECORD_KEY] == key)).to_pandas()
    if hit.empty:
        raise LookupError(f"{key!r} is neither a customer_id nor a record_key in record_map "
                          f"of {ws.path}")
    cid = hit[C.CUSTOMER_ID].iloc[0]
    members = rm.filter(rm[C.CUSTOMER_ID] == cid).to_pandas()
    keys = members[C.RECORD_KEY].tolist()
    cr = ws.table("customer_records")
    records = cr.filter(cr[C.RECORD_KEY].isin(keys)).to_pandas()
    pairs = pd.DataFrame()
    if ws.has("linkage_pairs"):
        lp = ws.table("linkage_pairs")
        pairs = lp.filter(lp["record_key_l"].isin(keys) | lp["record_key_r"].isin(keys)).to_pandas()
        if ws.has("linkage_levels") and len(pairs):
            levels = ws.read("linkage_levels")
            pairs = pd.concat([pairs, agreement_labels(pairs, levels).add_prefix("agree_")],
                              axis=1)
        pairs = pairs.sort_values("match_weight", ascending=False).reset_index(drop=True)
    ov = read_overrides(ws)
    ov = ov[ov["record_key_l"].isin(keys) | ov["record_key_r"].isin(keys)]
    return {"customer_id": cid, "records": records, "pairs": pairs,
            "overrides": ov.reset_index(drop=True)}


def _folded(col):
    """Lower case with accents removed (é -> e, ø -> o), as an Ibis expression either engine
    runs (a character-for-character ``translate``; the query side goes through
    :func:`~onetoone.identify.normalise.normalise_name`)."""
    return col.lower().translate(_ACCENTED, _PLAIN)


def _accent_table() -> tuple[str, str]:
    from unidecode import unidecode

    src, dst = [], []
    for code in range(0xC0, 0x180):  # Latin-1 Supplement and Latin Extended-A
        ch = chr(code).lower()
        plain = unidecode(ch)
        if (ch.isalpha() and len(ch) == 1 and len(plain) == 1 and plain.isascii()
                and plain.isalpha() and plain != ch and ch not in src):
            src.append(ch)
            dst.append(plain.lower())
    return "".join(src), "".join(dst)


_ACCENTED, _PLAIN = _accent_table()


def search_customers(ws: Workspace, query: str, limit: int = 20,
                     region: str = "GB") -> tuple[pd.DataFrame, int]:
    """Customers matching ``query``, case-insensitive: a customer id, a source record key or
    record id, an email (contains ``@``), a phone (six or more digits, compared in E.164 with
    national numbers read in ``region``) or a name (every word must appear in the first or
    last name of one of the customer's records, accents and case ignored).

    Returns the golden records (at most ``limit``, most records first) and how many customers
    matched in all, so a caller can say "20 of 1,392 shown". The Interact timeline and the
    Identify lookup both call it. Ibis expressions: the search runs on the workspace's engine.
    """
    from .normalise import normalise_name, normalise_phone

    q = (query or "").strip()
    cust = ws.table("customers")
    empty = cust.limit(0).to_pandas()
    if not q:
        return empty, 0
    rm = ws.table("record_map")
    cr = ws.table("customer_records")
    digits = sum(ch.isdigit() for ch in q)
    up = q.upper()
    by_id = rm.filter((rm[C.CUSTOMER_ID].upper() == up) | (rm[C.RECORD_KEY].upper() == up)
                      | (rm[C.RECORD_ID].upper() == up))
    ids = by_id.select(C.CUSTOMER_ID).distinct().to_pandas()[C.CUSTOMER_ID].tolist()
    keys = None
    if ids:
        hit = cust.filter(cust[C.CUSTOMER_ID].isin(ids))
    elif "@" in q:
        email = "".join(q.split()).lower()
        keys = cr.filter(cr[C.EMAIL].strip().lower() == email)
    elif digits >= 6:
        e164 = normalise_phone(pd.Series([q]), region=region).iloc[0]
        if e164 is None:
            return empty, 0
        hit = cust.filter(cust[C.PHONE].cast("string") == e164)
    else:
        words = (normalise_name(pd.Series([q])).iloc[0] or "").split()
        if not words:
            return empty, 0
        full = _folded(cr[C.FIRST_NAME].fill_null("") + " " + cr[C.LAST_NAME].fill_null(""))
        cond = full.contains(words[0])
        for w in words[1:]:
            cond &= full.contains(w)
        keys = cr.filter(cond)
    if keys is not None:
        in_keys = rm.filter(rm[C.RECORD_KEY].isin(keys[C.RECORD_KEY]))
        hit = cust.filter(cust[C.CUSTOMER_ID].isin(in_keys[C.CUSTOMER_ID]))
    total = int(hit[C.CUSTOMER_ID].nunique().to_pyarrow().as_py())
    found = hit.order_by([ibis.desc(C.N_RECORDS), C.CUSTOMER_ID]).limit(int(limit)).to_pandas()
    return found, total


def find_customers(ws: Workspace, query: str, limit: int = 20,
                   region: str = "GB") -> pd.DataFrame:
    """The golden records of :func:`search_customers` (without the total)."""
    return search_customers(ws, query, limit=limit, region=region)[0]
