"""The sample client's people (the truth) and their noisy records in four source systems."""

from __future__ import annotations

import unicodedata

import numpy as np
import pandas as pd

from . import vocab as V

START = np.datetime64("2023-10-01")
AS_OF = np.datetime64("2026-09-30")
DAYS = int((AS_OF - START).astype(int)) + 1  # 1096 days in the window


def ascii_fold(s: str) -> str:
    """Strip accents (what an old POS system does to names)."""
    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode("ascii")


def _zipf_choice(rng, n_items: int, size: int, exponent: float) -> np.ndarray:
    w = 1.0 / np.arange(1, n_items + 1) ** exponent
    return rng.choice(n_items, size=size, p=w / w.sum())


_INWARD = "ABDEFGHJLNPQRSTUWXYZ"


def _postcode(rng, area: str) -> str:
    return (f"{area}{rng.integers(1, 30)} {rng.integers(1, 10)}"
            f"{_INWARD[rng.integers(20)]}{_INWARD[rng.integers(20)]}")


def _street(rng) -> str:
    return (f"{rng.integers(1, 240)} {V.STREET_WORDS[rng.integers(len(V.STREET_WORDS))]} "
            f"{V.STREET_TYPES[rng.integers(len(V.STREET_TYPES))]}")


def build_people(rng: np.random.Generator, n: int, subjects: list[str],
                 subject_category: list[str]) -> pd.DataFrame:
    """One row per person: the truth every source record is a noisy view of."""
    seg_names = list(V.SEGMENTS)
    shares = np.array([V.SEGMENTS[s]["share"] for s in seg_names])
    seg = rng.choice(len(seg_names), size=n, p=shares / shares.sum())
    female = rng.random(n) < 0.52
    fi = _zipf_choice(rng, len(V.FEMALE_NAMES), n, 0.9)
    mi = _zipf_choice(rng, len(V.MALE_NAMES), n, 0.9)
    # the male list is ordered popular-first; "John" (index 13) gets a push so that several
    # people share the full name "John Smith"
    mi = np.where(rng.random(n) < 0.04, V.MALE_NAMES.index("John"), mi)
    first = np.where(female, np.array(V.FEMALE_NAMES, dtype=object)[fi],
                     np.array(V.MALE_NAMES, dtype=object)[mi])
    last = np.array(V.SURNAMES, dtype=object)[_zipf_choice(rng, len(V.SURNAMES), n, 0.75)]
    seg_age = {"Young families": 36, "Readers and gift buyers": 58, "Outdoor and garden": 52,
               "Tech enthusiasts": 38, "Nest builders": 47, "Bargain hunters": 41}
    age = np.clip(rng.normal([seg_age[seg_names[s]] for s in seg], 12.0), 18, 88)
    birth = AS_OF - (age * 365.25).astype(int).astype("timedelta64[D]") - rng.integers(
        0, 365, n).astype("timedelta64[D]")

    regions = list(V.REGIONS)
    rw = np.array([V.REGION_WEIGHTS[r] for r in regions])
    reg = rng.choice(len(regions), size=n, p=rw / rw.sum())
    towns, areas, codes, streets, postcodes = [], [], [], [], []
    for r in reg:
        t = V.REGIONS[regions[r]][rng.integers(len(V.REGIONS[regions[r]]))]
        towns.append(t[0])
        areas.append(t[1])
        codes.append(t[2])
        streets.append(_street(rng))
        postcodes.append(_postcode(rng, t[1]))
    people = pd.DataFrame({
        "person_id": [f"P{i + 1:05d}" for i in range(n)],
        "segment": [seg_names[s] for s in seg],
        "gender": np.where(female, "F", "M"),
        "first_name": first, "last_name": last,
        "birth_date": birth.astype("datetime64[D]"),
        "region": [regions[r] for r in reg], "city": towns, "street": streets,
        "postcode": postcodes, "area_code": codes,
    })
    # households: 10% of people live with a partner who is also a customer
    household = np.arange(n)
    idx = rng.permutation(n)[: int(n * 0.10) // 2 * 2]
    a, b = idx[0::2], idx[1::2]
    household[b] = a
    for col in ("street", "postcode", "city", "region", "area_code"):
        people.loc[b, col] = people.loc[a, col].to_numpy()
    same_name = rng.random(len(a)) < 0.75
    people.loc[b[same_name], "last_name"] = people.loc[a[same_name], "last_name"].to_numpy()
    # partner's first name must differ
    fb = people.loc[b, "first_name"].to_numpy()
    fa = people.loc[a, "first_name"].to_numpy()
    clash = fb == fa
    for i, j in zip(b[clash], a[clash]):
        names = V.FEMALE_NAMES if people.at[i, "gender"] == "F" else V.MALE_NAMES
        k = int(i) % 40
        while names[k] == people.at[j, "first_name"]:
            k += 1
        people.at[i, "first_name"] = names[k]
    people["household_id"] = [f"H{h + 1:05d}" for h in household]

    # emails: unique per person, except households that share one (a quarter of couples)
    emails = []
    taken: set[str] = set()
    for i in range(n):
        f = ascii_fold(people.at[i, "first_name"]).lower().replace("'", "")
        l_ = ascii_fold(people.at[i, "last_name"]).lower().replace("'", "").replace(" ", "")
        pat = rng.integers(5)
        local = (f"{f}.{l_}", f"{f[0]}{l_}", f"{f}{l_}{rng.integers(1, 99)}", f"{l_}.{f}",
                 f"{f}_{l_}{int(str(people.at[i, 'birth_date'])[2:4])}")[pat]
        dom = V.EMAIL_DOMAINS[rng.integers(len(V.EMAIL_DOMAINS))]
        e = f"{local}@{dom}"
        k = 2
        while e in taken:
            e = f"{local}{k}@{dom}"
            k += 1
        taken.add(e)
        emails.append(e)
    emails = np.array(emails, dtype=object)
    share_email = rng.random(len(a)) < 0.25
    emails[b[share_email]] = emails[a[share_email]]
    has_email = rng.random(n) < 0.93
    has_email[b[share_email]] = True
    has_email[a[share_email]] = True
    people["email"] = np.where(has_email, emails, None)
    people["shares_email"] = False
    people.loc[np.r_[a[share_email], b[share_email]], "shares_email"] = True
    # work email, used in a second web account by some
    people["work_email"] = [f"{ascii_fold(f).lower()}.{ascii_fold(l_).lower().replace(chr(39), '')}@"
                            f"{V.WORK_DOMAINS[rng.integers(len(V.WORK_DOMAINS))]}"
                            for f, l_ in zip(people["first_name"], people["last_name"])]
    # phones: E.164; mobile for most, landline for some
    kind = rng.random(n)
    mob = [f"+447{rng.integers(100000000, 999999999)}" for _ in range(n)]
    land = []
    for c in people["area_code"]:
        rest = 10 - len(c)
        land.append(f"+44{c}{rng.integers(10 ** (rest - 1) * 2, 10 ** rest)}")
    people["phone"] = np.where(kind < 0.80, mob, np.where(kind < 0.93, land, None))
    # moved home during the window (the older records keep the old address)
    moved = rng.random(n) < 0.10
    people["moved"] = moved
    people["move_day"] = np.where(moved, rng.integers(120, DAYS - 60, n), -1)
    old_street, old_pc = [], []
    for i in range(n):
        if moved[i]:
            t = V.REGIONS[people.at[i, "region"]]
            area = t[rng.integers(len(t))][1]
            old_street.append(_street(rng))
            old_pc.append(_postcode(rng, area))
        else:
            old_street.append(None)
            old_pc.append(None)
    people["old_street"] = old_street
    people["old_postcode"] = old_pc
    people["household_size"] = np.where(
        people["segment"] == "Young families", rng.integers(3, 6, n), rng.integers(1, 4, n))

    # tastes: 2-3 subjects per person, drawn through the segment's category weights
    n_sub = len(subjects)
    aff = np.full((n, 3), -1)
    aff_w = np.zeros((n, 3))
    for si, name in enumerate(seg_names):
        rows = np.flatnonzero(seg == si)
        cats = V.SEGMENTS[name]["cats"]
        w = np.array([cats.get(subject_category[s], 0.0) for s in range(n_sub)])
        # within a category, the segment prefers some subjects to others
        w = w * rng.uniform(0.4, 1.6, n_sub)
        w = w / w.sum()
        for r in rows:
            k = 2 + (rng.random() < 0.5)
            chosen = rng.choice(n_sub, size=k, replace=False, p=w)
            aff[r, :k] = chosen
            aff_w[r, :k] = rng.dirichlet(np.full(k, 2.0)) if k else 0
    people["affinity"] = [";".join(subjects[s] for s in row if s >= 0) for row in aff]
    people.attrs["aff"] = aff
    people.attrs["aff_w"] = aff_w
    people["interests"] = [
        ";".join(sorted({V.INTEREST_WORDS[subject_category[s]] for s in row if s >= 0}))
        for row in aff]
    return people


# --- rendering noisy values -------------------------------------------------------------------
def render_phone(rng, e164: str | None) -> str | None:
    if e164 is None or (isinstance(e164, float)):
        return None
    nat = "0" + e164[3:]
    k = rng.integers(6)
    if nat.startswith("07"):
        a, b = nat[:5], nat[5:]
        return (f"+44 {e164[3:7]} {e164[7:]}", f"{a}-{b}", nat, f"({a}) {b[:3]} {b[3:]}",
                f"{a} {b}", f"0044{e164[3:]}")[k]
    if nat.startswith("020"):
        a, b, c = nat[:3], nat[3:7], nat[7:]
        return (f"+44 20 {b} {c}", f"{a}-{b}-{c}", nat, f"({a}) {b} {c}", f"{a} {b} {c}",
                f"+44 (0)20 {b} {c}")[k]
    cut = 5 if len(nat) >= 11 and nat[1] in "1" and nat[2:4] != "1" else 4
    a, b = nat[:cut], nat[cut:]
    return (f"+44 {a[1:]} {b}", f"{a}-{b}", nat, f"({a}) {b}", f"{a} {b}", f"+44 (0){a[1:]} {b}")[k]


def typo(rng, s: str) -> str:
    """One or two character edits (substitute, delete, transpose, insert)."""
    if len(s) < 4:
        return s
    s = list(s)
    for _ in range(1 + (rng.random() < 0.25)):
        i = int(rng.integers(1, len(s) - 1))
        op = rng.integers(4)
        letters = "aeiounrstlm"
        if op == 0:
            s[i] = letters[rng.integers(len(letters))]
        elif op == 1 and len(s) > 4:
            del s[i]
        elif op == 2:
            s[i], s[i + 1] = s[i + 1], s[i]
        else:
            s.insert(i, s[i])
    return "".join(s)


def norm_email(e) -> str | None:
    return e.strip().lower() if isinstance(e, str) and e.strip() else None


def norm_phone(p) -> str | None:
    if not isinstance(p, str):
        return None
    d = "".join(ch for ch in p if ch.isdigit())
    return d[-10:] if len(d) >= 10 else None


def norm_name(s) -> str | None:
    return ascii_fold(s).lower().strip() if isinstance(s, str) and s.strip() else None


def norm_pc(s) -> str | None:
    return s.replace(" ", "").upper() if isinstance(s, str) and s.strip() else None
