"""Noisy customer records of the sample client's people in four source systems."""

from __future__ import annotations

import datetime as dt
from itertools import combinations

import numpy as np
import pandas as pd

from . import vocab as V
from .people import (
    DAYS,
    ascii_fold,
    norm_email,
    norm_name,
    norm_pc,
    norm_phone,
    render_phone,
    typo,
)

SOURCES = ("crm", "web", "loyalty", "callcentre")
# share of records with the field present, per source
PRESENT = {
    "crm": {"email": 0.75, "phone": 0.80, "address": 0.95, "dob": 0.75, "consent": 1.0},
    "web": {"email": 1.00, "phone": 0.60, "address": 0.85, "dob": 0.45, "consent": 1.0},
    "loyalty": {"email": 0.55, "phone": 0.65, "address": 0.80, "dob": 0.60, "consent": 1.0},
    "callcentre": {"email": 0.30, "phone": 0.97, "address": 0.45, "dob": 0.0, "consent": 1.0},
}


def make_record(rng, p: dict, source: str, created_day: float, variant: str = "") -> dict:
    """One record of person ``p`` (a dict of the truth) as ``source`` would hold it.

    ``variant`` is "" for the person's main record in the source, "old" for one made before a
    move (old address), "work" for a second web account on the work email, "dup" for a
    duplicate entered again by staff.
    """
    pres = PRESENT[source]
    first, last = p["first_name"], p["last_name"]
    r = rng.random(6)
    if r[0] < 0.07 and first in V.NICKNAMES:
        nick = V.NICKNAMES[first]
        first = nick[rng.integers(len(nick))]
    elif r[0] < 0.11:
        first = typo(rng, first)
    if r[1] < 0.04:
        last = typo(rng, last)
    if r[2] < 0.015:
        first, last = last, first
    if source == "loyalty":  # the old POS system: ASCII only, surnames in capitals
        first, last = ascii_fold(first), ascii_fold(last).upper()
    elif source == "crm" and r[3] < 0.5:
        first, last = ascii_fold(first), ascii_fold(last)
    email = p["email"] if rng.random() < pres["email"] else None
    if variant == "work":
        email = p["work_email"]
    if source == "web" and email is None:
        email = p["work_email"]  # a web account always has a login email
    if email is not None and rng.random() < 0.12:
        email = (email.upper() if rng.random() < 0.3 else email.capitalize()) + \
            (" " if rng.random() < 0.5 else "")
    phone = render_phone(rng, p["phone"]) if rng.random() < pres["phone"] else None
    street, pc = p["street"], p["postcode"]
    if p["moved"] and created_day < p["move_day"] and (
            variant == "old" or (source in ("crm", "loyalty") and rng.random() < 0.6)):
        street, pc = p["old_street"], p["old_postcode"]
    has_addr = rng.random() < pres["address"]
    if has_addr and rng.random() < 0.15:
        pc = pc.replace(" ", "") if rng.random() < 0.5 else pc.lower()
    dob = p["birth_date"] if rng.random() < pres["dob"] else None
    upd = created_day + rng.uniform(0, max(DAYS - created_day, 1))
    upd = min(max(upd, created_day), DAYS - 0.01)
    return {
        "person": p["row"], "source": source, "first_name": first, "last_name": last,
        "email": email, "phone": phone,
        "street": street if has_addr else None, "postcode": pc if has_addr else None,
        "city": p["city"] if has_addr else None, "region": p["region"],
        "birth_date": dob, "gender": p["gender"], "household_size": p["household_size"],
        "interests": p["interests"] if source == "crm" and rng.random() < 0.4 else None,
        "created_day": created_day, "updated_day": upd,
        "consent_email": bool(email) and rng.random() < {"crm": 0.6, "web": 0.55,
                                                           "loyalty": 0.45}.get(source, 0),
        "consent_sms": bool(phone) and rng.random() < {"crm": 0.3, "web": 0.2,
                                                        "loyalty": 0.15}.get(source, 0),
        "consent_phone": bool(phone) and rng.random() < {"crm": 0.25,
                                                          "callcentre": 0.35}.get(source, 0),
        "consent_mail": has_addr and rng.random() < {"crm": 0.55, "loyalty": 0.5}.get(source, 0),
        "consent_day": created_day + rng.uniform(0, max(upd - created_day, 0)),
        "variant": variant,
    }


def _strong_link(a: dict, b: dict) -> bool:
    """Do two records share a strong identifier (what a linkage model can rely on)?"""
    ea, eb = norm_email(a["email"]), norm_email(b["email"])
    if ea and ea == eb:
        return True
    pa, pb = norm_phone(a["phone"]), norm_phone(b["phone"])
    if pa and pa == pb:
        return True
    fa, fb = norm_name(a["first_name"]), norm_name(b["first_name"])
    la, lb = norm_name(a["last_name"]), norm_name(b["last_name"])
    same_name = (la and la == lb) or (fa and fa == fb)
    both_names = la and la == lb and fa and fa == fb
    dob_known = "callcentre" not in (a["source"], b["source"])
    if dob_known and a["birth_date"] is not None and a["birth_date"] == b["birth_date"] \
            and same_name:
        return True
    ca, cb = norm_pc(a["postcode"]), norm_pc(b["postcode"])
    return bool(ca and ca == cb and both_names)


def consistent_details(rng, recs: list[dict], truth: dict) -> int:
    """Most people give the same phone or email (or name and birth date) to every system they
    use: for a pair of one person's records that shares no strong identifier, restore the
    truth on both, except for :data:`UNREPAIRED_SHARE` of such pairs, which stay as they are.
    Returns the repairs made. Nothing here guarantees a link."""
    fixes = 0
    for i, j in combinations(range(len(recs)), 2):
        a, b = recs[i], recs[j]
        if _strong_link(a, b) or rng.random() < UNREPAIRED_SHARE:
            continue
        fixes += 1
        # restore the truth on the record with less: phone first, then email, then name+dob
        target = b
        if truth["phone"] is not None:
            for r in (a, b):
                r["phone"] = render_phone(rng, truth["phone"])
        elif truth["email"] is not None and target["variant"] != "work":
            for r in (a, b):
                if r["variant"] != "work":
                    r["email"] = truth["email"]
            if not _strong_link(a, b):
                for r in (a, b):
                    r["first_name"], r["last_name"] = truth["first_name"], truth["last_name"]
                    r["birth_date"] = truth["birth_date"]
        else:
            for r in (a, b):
                r["first_name"], r["last_name"] = truth["first_name"], truth["last_name"]
                r["birth_date"] = truth["birth_date"]
        if not _strong_link(a, b):
            # no phone, no email, no birth date in the export (call centre): name + postcode
            for r in (a, b):
                r["first_name"], r["last_name"] = truth["first_name"], truth["last_name"]
                r["street"], r["postcode"] = truth["street"], truth["postcode"]
                r["city"] = truth["city"]
    return fixes


UNREPAIRED_SHARE = 0.03
"""Share of one person's record pairs that share no strong identifier (independent gaps in
what each source holds) and are left so: nobody gave the systems a common contact detail."""
HARD_PHONE_CHANGE = 0.06
"""Share of people with several records and a phone whose records made before a change of
number carry the old number."""
HARD_ALL_TYPOS = 0.01
"""Share of records (of people with several records) with a typo in every identifier they
hold: both names, the email's local part, one phone digit, one postcode character and the
birth date (day and month swapped, or one day off)."""


def _digit_typo(rng, s: str) -> str:
    """One digit of a phone number (as rendered) replaced by another."""
    pos = [i for i, ch in enumerate(s) if ch.isdigit()][-6:]
    if not pos:
        return s
    i = pos[int(rng.integers(len(pos)))]
    d = str((int(s[i]) + 1 + int(rng.integers(9))) % 10)
    return s[:i] + d + s[i + 1:]


def _postcode_typo(rng, pc: str) -> str:
    chars = [i for i, ch in enumerate(pc) if ch.isalnum()]
    if len(chars) < 3:
        return pc
    i = chars[int(rng.integers(1, len(chars)))]
    ch = pc[i]
    rep = str((int(ch) + 1) % 10) if ch.isdigit() else ("A" if ch.upper() != "A" else "B")
    return pc[:i] + (rep if ch.isupper() or ch.isdigit() else rep.lower()) + pc[i + 1:]


def _email_typo(rng, e: str) -> str:
    local, at, domain = e.partition("@")
    return (typo(rng, local) if len(local) >= 4 else local + "1") + at + domain


def harden_links(rng, recs: list[dict], truth: dict) -> int:
    """Make some of one person's records hard to link, at the documented rates, after
    :func:`consistent_details` (so nothing repairs them: a true pair may share no exact
    identifier at all).

    - :data:`HARD_PHONE_CHANGE`: the person changed phone number; records made before the
      change (not the newest) carry the old number.
    - :data:`HARD_ALL_TYPOS`: a record has a typo in every identifier it holds.
    Movers keep their old address on older records (see :func:`make_record`).
    Returns the number of repairs and records changed.
    """
    changed = consistent_details(rng, recs, truth)
    if truth["phone"] is not None and rng.random() < HARD_PHONE_CHANGE:
        newest = max(range(len(recs)), key=lambda k: recs[k]["created_day"])
        change_day = rng.uniform(min(r["created_day"] for r in recs),
                                 recs[newest]["created_day"])
        old = _digit_typo(rng, _digit_typo(rng, _digit_typo(rng, truth["phone"])))
        for k, r in enumerate(recs):
            if k != newest and r["created_day"] <= change_day and r["phone"] is not None:
                r["phone"] = render_phone(rng, old)
                changed += 1
    for r in recs:
        if rng.random() >= HARD_ALL_TYPOS:
            continue
        changed += 1
        for k in ("first_name", "last_name"):
            if isinstance(r[k], str) and len(r[k]) >= 4:
                r[k] = typo(rng, r[k])
        if isinstance(r["email"], str) and r["variant"] != "work":
            r["email"] = _email_typo(rng, r["email"].strip())
        if isinstance(r["phone"], str):
            r["phone"] = _digit_typo(rng, r["phone"])
        if isinstance(r["postcode"], str):
            r["postcode"] = _postcode_typo(rng, r["postcode"])
        d = r["birth_date"]
        if d is not None:
            if d.day <= 12 and d.day != d.month and rng.random() < 0.5:
                r["birth_date"] = d.replace(month=d.day, day=d.month)
            else:
                r["birth_date"] = d + dt.timedelta(days=1 if d.day < 28 else -1)
    return changed


def shares_strong_identifier(a: dict, b: dict) -> bool:
    """Do two records share an exact strong identifier (email, phone, a name with the birth
    date, or the full name with the postcode)? The sample does not guarantee it; the README
    reports how many true pairs do not."""
    return _strong_link(a, b)


def assign_ids(rng, recs: pd.DataFrame) -> pd.DataFrame:
    """Source-style record ids, unique within a source, in creation order."""
    recs = recs.sort_values(["source", "created_day", "person"], kind="stable").reset_index(drop=True)
    ids = np.empty(len(recs), dtype=object)
    for src, fmt, lo in (("crm", "C{:06d}", 100000), ("web", "W{:07d}", 2000000),
                         ("loyalty", "633001{:07d}", 1000000), ("callcentre", "CC{:06d}", 10000)):
        rows = np.flatnonzero(recs["source"].to_numpy() == src)
        step = rng.integers(1, 40, len(rows))
        nums = lo + np.cumsum(step)
        ids[rows] = [fmt.format(x) for x in nums]
    recs["record_id"] = ids
    return recs
