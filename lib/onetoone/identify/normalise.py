"""Normalise identifiers before matching: one spelling per name, email, phone, postcode, date.

Record linkage compares values; two records of one person must not differ only because one
system writes ``"O'BRIEN"`` and another ``"O'Brien"``, or ``"07700 900123"`` and
``"+44 7700 900123"``. Each function here maps a pandas Series of raw values onto one canonical
form (``None`` when nothing usable is left), working once per distinct value so a million
records cost what their distinct values cost.

:func:`normalise_records` adds the ``*_n`` match columns to a customer-records frame and
:func:`has_identifier` says which records carry anything a match could rest on.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pandas as pd
import phonenumbers
from unidecode import unidecode

from .. import columns as C

# canonical given name for common English nicknames; ambiguous short forms (Sam, Chris, Alex,
# Jo, Pat, Fran, Sandy, Charlie, ...) are left as they are: Jaro-Winkler still sees them as close
# to both full names, and mapping them to one would make the other look like a mismatch.
_NICKNAMES_BY_NAME: dict[str, tuple[str, ...]] = {
    "william": ("bill", "billy", "will", "willy", "liam"),
    "robert": ("bob", "bobby", "rob", "robbie", "bert"),
    "richard": ("rick", "ricky", "dick", "rich", "richie"),
    "elizabeth": ("liz", "lizzie", "lizzy", "beth", "betty", "bess", "eliza", "libby"),
    "margaret": ("maggie", "peggy", "meg", "marge", "madge", "greta"),
    "katherine": ("kathy", "katie", "kath", "kat", "kay", "kate"),
    "michael": ("mike", "mick", "micky", "mikey"),
    "christopher": ("kit",),
    "jennifer": ("jen", "jenny", "jenn"),
    "patricia": ("trish", "patty", "tricia"),
    "anthony": ("tony", "ant"),
    "edward": ("ed", "ted", "eddie", "ned", "teddy"),
    "benjamin": ("ben", "benny"),
    "joseph": ("joe", "joey"),
    "nicholas": ("nick", "nicky"),
    "jonathan": ("jon", "jonny"),
    "timothy": ("tim", "timmy"),
    "philip": ("phil",),
    "daniel": ("dan", "danny"),
    "matthew": ("matt", "matty"),
    "andrew": ("andy", "drew"),
    "stephen": ("steve", "stevie"),
    "steven": (),
    "thomas": ("tom", "tommy"),
    "james": ("jim", "jimmy", "jamie"),
    "david": ("dave", "davey"),
    "peter": ("pete",),
    "victoria": ("vicky", "vicki", "tori"),
    "deborah": ("debbie", "deb", "debs"),
    "rebecca": ("becky", "becca", "bex"),
    "jacqueline": ("jackie", "jacqui"),
    "susan": ("sue", "susie", "suzy"),
    "frederick": ("fred", "freddie", "freddy"),
    "amanda": ("mandy",),
    "gillian": ("gill", "gilly"),
    "dominic": ("dom",),
    "isabella": ("bella", "izzy", "issy"),
    "jessica": ("jess", "jessie"),
    "charlotte": ("lottie", "lotte"),
    "alexander": ("sandy",),
    "alexandra": ("lexi", "lexie"),
    "rosemary": ("rosie",),
    "gregory": ("greg",),
    "kenneth": ("ken", "kenny"),
    "lawrence": ("larry", "laurie"),
    "leonard": ("len", "lenny"),
    "raymond": ("ray",),
    "ronald": ("ron", "ronnie"),
    "donald": ("don", "donny"),
    "douglas": ("doug", "dougie"),
    "gerald": ("gerry", "jerry"),
    "harold": ("harry", "hal"),
    "henry": ("hank",),
    "charles": ("chuck", "chas"),
    "terence": ("terry",),
    "vincent": ("vince", "vinny"),
    "zachary": ("zach", "zack"),
    "abigail": ("abby", "abbie"),
    "catherine": ("cathy", "cath"),
    "christine": ("chrissie", "chrissy"),
    "dorothy": ("dot", "dottie"),
    "eleanor": ("ellie", "nell", "nora"),
    "helen": ("nell",),
    "josephine": ("josie",),
    "kimberly": ("kim",),
    "natalie": ("nat",),
    "pamela": ("pam",),
    "penelope": ("penny",),
    "sarah": ("sally", "sadie"),
    "theresa": ("terri", "tess", "tessa"),
    "valerie": ("val",),
    "wendy": (),
}
NICKNAMES: dict[str, str] = {}
for _full, _nicks in _NICKNAMES_BY_NAME.items():
    for _n in _nicks:
        NICKNAMES.setdefault(_n, _full)
"""Nickname -> canonical given name (lower case, ASCII)."""

_PUNCT = re.compile(r"[^a-z0-9 ]+")
_SPACES = re.compile(r"\s+")
_STREET_WORDS = {
    "st": "street", "str": "street", "rd": "road", "ave": "avenue", "av": "avenue",
    "ln": "lane", "dr": "drive", "ct": "court", "cl": "close", "cres": "crescent",
    "pl": "place", "sq": "square", "gdns": "gardens", "gr": "grove", "ter": "terrace",
    "terr": "terrace", "pk": "park", "hwy": "highway", "blvd": "boulevard", "mt": "mount",
    "n": "north", "s": "south", "e": "east", "w": "west", "apt": "flat",
}


def _per_distinct(s: pd.Series, f: Callable[[str], str | None]) -> pd.Series:
    """Apply ``f`` once per distinct non-null value of ``s``; nulls and blanks stay null."""
    s = pd.Series(s, copy=False)
    out = pd.Series(None, index=s.index, dtype=object)
    mask = s.notna()
    if not mask.any():
        return out
    vals = s[mask].astype(str)
    uniq = pd.unique(vals)
    mapped = {u: f(u) for u in uniq}
    out[mask] = vals.map(mapped).to_numpy()
    return out.where(out.notna() & (out != ""), None)


def _fold(text: str) -> str:
    """Lower-case ASCII with punctuation dropped and spaces collapsed."""
    t = unidecode(text).lower()
    t = t.replace("'", "").replace("`", "")
    t = _PUNCT.sub(" ", t)
    return _SPACES.sub(" ", t).strip()


def normalise_name(s: pd.Series, *, nicknames: bool = False) -> pd.Series:
    """Names in one spelling: accents folded, lower case, punctuation and extra spaces dropped.

    ``"  O'Brien "`` and ``"OBRIEN"`` both become ``"obrien"``; ``"Anne-Marie"`` becomes
    ``"anne marie"``. With ``nicknames=True`` (given names), a known nickname is replaced by
    its full name (``"Bill"`` -> ``"william"``, see :data:`NICKNAMES`).
    """
    def one(v: str) -> str | None:
        t = _fold(v)
        if nicknames and t in NICKNAMES:
            t = NICKNAMES[t]
        return t or None

    return _per_distinct(s, one)


def normalise_email(s: pd.Series) -> pd.Series:
    """Emails trimmed of whitespace and lower-cased; a value without exactly one ``@`` and a
    dotted domain is not an email and becomes null."""
    def one(v: str) -> str | None:
        t = "".join(v.split()).lower()
        local, at, domain = t.partition("@")
        if not at or not local or "@" in domain or "." not in domain.strip("."):
            return None
        return t

    return _per_distinct(s, one)


_PHONE_JUNK = re.compile(r"[^0-9+]")
_KEEP_TRUNK_PREFIX = {"IT", "SM", "VA"}  # the leading 0 is part of the international number


def normalise_phone(s: pd.Series, *, region: str = "GB") -> pd.Series:
    """Phone numbers in E.164 (``+447700900123``), parsed with ``phonenumbers``.

    National numbers are read in ``region`` (the client's default country). Values that are
    not a possible number there (too short, letters only) become null. Formatting variants
    (``"(07700) 900 123"``, ``"07700-900123"``, ``"0044 7700 900123"``, ``"+44 (0)7700 ..."``)
    are reduced to digits first, so the parser runs once per distinct number.
    """
    s = pd.Series(s, copy=False)
    txt = s.astype("string")
    txt = txt.str.replace("(0)", "", regex=False)
    txt = txt.str.replace(_PHONE_JUNK, "", regex=True)
    txt = txt.str.replace(r"^00", "+", regex=True)
    txt = txt.str.replace(r"(?<=.)\+", "", regex=True)  # a '+' only at the start
    txt = txt.where(txt.str.len() >= 6)
    # one spelling per number before parsing: a national number written with the region's
    # trunk prefix ("07700...") becomes "+44 7700..." (for regions whose trunk prefix is
    # dropped in international form), so the parser sees each number once
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region.upper())
    prefix = getattr(meta, "national_prefix", None) if meta is not None else None
    if prefix and region.upper() not in _KEEP_TRUNK_PREFIX:
        cc = phonenumbers.country_code_for_region(region.upper())
        national = txt.str.startswith(prefix) & ~txt.str.startswith("+")
        txt = txt.where(~national.fillna(False), "+" + str(cc) + txt.str.slice(len(prefix)))

    def one(v: str) -> str | None:
        try:
            p = phonenumbers.parse(v, region)
        except phonenumbers.NumberParseException:
            return None
        if not phonenumbers.is_possible_number(p):
            return None
        return phonenumbers.format_number(p, phonenumbers.PhoneNumberFormat.E164)

    return _per_distinct(txt.astype(object).where(txt.notna(), None), one)


def normalise_postcode(s: pd.Series) -> pd.Series:
    """Postcodes upper-case without spaces or punctuation (``"sw1a 1aa"`` -> ``"SW1A1AA"``)."""
    def one(v: str) -> str | None:
        t = re.sub(r"[^0-9A-Z]", "", unidecode(v).upper())
        return t or None

    return _per_distinct(s, one)


def normalise_street(s: pd.Series) -> pd.Series:
    """Street lines folded like names, with common abbreviations spelled out (St -> street)."""
    def one(v: str) -> str | None:
        words = _fold(v).split()
        return " ".join(_STREET_WORDS.get(w, w) for w in words) or None

    return _per_distinct(s, one)


def normalise_date(s: pd.Series, *, earliest: str = "1900-01-01",
                   latest: str | None = None) -> pd.Series:
    """Dates as ``datetime64[s]`` midnight values; unparseable or implausible ones become NaT.

    Placeholder birth dates that systems put in empty fields (1900-01-01, 1901-01-01,
    1970-01-01) are treated as missing.
    """
    d = pd.to_datetime(pd.Series(s, copy=False), errors="coerce", format="mixed")
    if getattr(d.dt, "tz", None) is not None:
        d = d.dt.tz_localize(None)
    d = d.dt.normalize()
    lo = pd.Timestamp(earliest)
    hi = pd.Timestamp(latest) if latest else pd.Timestamp.today().normalize()
    bad = (d < lo) | (d > hi) | d.isin(pd.to_datetime(["1900-01-01", "1901-01-01", "1970-01-01"]))
    return d.mask(bad).astype("datetime64[s]")


def normalise_identifier(s: pd.Series) -> pd.Series:
    """Account, card, loyalty and national identifiers: upper-case letters and digits only
    (``"123-456 789"`` -> ``"123456789"``). Placeholders (fewer than 4 characters, or one
    character repeated such as ``000000``) become null."""
    def one(v: str) -> str | None:
        t = re.sub(r"[^0-9A-Z]", "", unidecode(v).upper())
        if len(t) < 4 or len(set(t)) == 1:
            return None
        return t

    return _per_distinct(s, one)


def normalise_house_number(s: pd.Series) -> pd.Series:
    """House numbers folded (``" 12 A"`` -> ``"12a"``); a 0 is no number."""
    def one(v: str) -> str | None:
        t = _fold(v).replace(" ", "")
        t = t[:-2] if t.endswith(".0") else t
        return None if t in ("", "0") else t

    return _per_distinct(s, one)


def name_key(first: pd.Series, last: pd.Series) -> pd.Series:
    """A fuzzy blocking key: the initials of the normalised given and family name, in
    alphabetical order (so swapped names share it). Null unless both names are known."""
    f = pd.Series(first, copy=False).astype("string").str[:1]
    la = pd.Series(last, copy=False).astype("string").str[:1]
    lo = f.where(f <= la, la)
    hi = la.where(f <= la, f)
    out = (lo + hi).astype(object)
    return out.where(out.notna(), None)


MATCH_COLUMNS: dict[str, str] = {
    "first_name_n": C.FIRST_NAME, "last_name_n": C.LAST_NAME, "email_n": C.EMAIL,
    "phone_n": C.PHONE, "postcode_n": C.POSTCODE, "street_n": C.STREET, "city_n": C.CITY,
    "birth_date_n": C.BIRTH_DATE, "region_n": C.REGION, "house_number_n": C.HOUSE_NUMBER,
    "address_line2_n": C.ADDRESS_LINE2, "national_id_n": C.NATIONAL_ID,
    "account_number_n": C.ACCOUNT_NUMBER, "loyalty_number_n": C.LOYALTY_NUMBER,
    "card_number_n": C.CARD_NUMBER,
}
"""Normalised match column -> the canonical column it is made from (``name_key_n`` and
``birth_year_n`` are derived from several)."""

IDENTIFIER_MATCH_COLUMNS = ("national_id_n", "account_number_n", "loyalty_number_n",
                            "card_number_n")


def normalise_records(records: pd.DataFrame, *, region: str = "GB", as_of=None,
                      first_name: str = C.FIRST_NAME, last_name: str = C.LAST_NAME,
                      email: str = C.EMAIL, phone: str = C.PHONE, postcode: str = C.POSTCODE,
                      street: str = C.STREET, city: str = C.CITY,
                      birth_date: str = C.BIRTH_DATE) -> pd.DataFrame:
    """Customer records with the normalised match columns (``*_n``) added.

    Parameters
    ----------
    records
        Customer records with the canonical columns; missing columns count as empty.
    region
        ISO country for national phone numbers (the client config's ``country``).
    as_of
        Birth dates after this date are implausible and dropped (today when None).

    Returns
    -------
    pandas.DataFrame
        ``records`` plus first_name_n, last_name_n, email_n, phone_n, postcode_n, street_n,
        city_n (strings or None) and birth_date_n (datetime64, NaT when unknown).
    """
    out = records.copy()

    def col(name: str) -> pd.Series:
        return out[name] if name in out.columns else pd.Series(None, index=out.index, dtype=object)

    named = {C.FIRST_NAME: first_name, C.LAST_NAME: last_name, C.EMAIL: email, C.PHONE: phone,
             C.POSTCODE: postcode, C.STREET: street, C.CITY: city, C.BIRTH_DATE: birth_date}
    for target, (src, fn) in _normalisers(region, as_of).items():
        out[target] = fn(col(named.get(src, src)))
    out["name_key_n"] = name_key(out["first_name_n"], out["last_name_n"])
    year = out["birth_date_n"].dt.year
    out["birth_year_n"] = year.astype("Int64").astype("string").astype(object).where(
        year.notna(), None)
    return out


def _normalisers(region: str, as_of) -> dict[str, tuple[str, Callable[[pd.Series], pd.Series]]]:
    """Normalised column -> (the canonical column it is made from, Series -> Series)."""
    latest = str(as_of) if as_of is not None else None
    out = {
        "first_name_n": (C.FIRST_NAME, lambda s: normalise_name(s, nicknames=True)),
        "last_name_n": (C.LAST_NAME, normalise_name),
        "email_n": (C.EMAIL, normalise_email),
        "phone_n": (C.PHONE, lambda s: normalise_phone(s, region=region)),
        "postcode_n": (C.POSTCODE, normalise_postcode),
        "street_n": (C.STREET, normalise_street),
        "city_n": (C.CITY, normalise_name),
        "birth_date_n": (C.BIRTH_DATE, lambda s: normalise_date(s, latest=latest)),
        "region_n": (C.REGION, normalise_name),
        "house_number_n": (C.HOUSE_NUMBER, normalise_house_number),
        "address_line2_n": (C.ADDRESS_LINE2, normalise_street),
    }
    for c in IDENTIFIER_MATCH_COLUMNS:
        out[c] = (MATCH_COLUMNS[c], normalise_identifier)
    return out


def normalise_table(records, *, region: str = "GB", as_of=None):
    """:func:`normalise_records` as an Ibis expression on the records' own engine.

    ``records`` is an Ibis table (the workspace's ``customer_records``); the result is that
    table with the same ``*_n`` columns and ``has_identifier``, computed inside the engine:
    each normaliser is the pandas function above run as a vectorised UDF
    (:func:`onetoone.vectorised.series_udf`), so DuckDB and Spark produce exactly the values
    :func:`normalise_records` does, and no record reaches the driver.
    """
    import ibis

    from ..vectorised import series_udf

    have = set(records.columns)
    latest = str(as_of) if as_of is not None else "today"
    tag = f"{region.lower()}_{''.join(ch for ch in latest if ch.isalnum())}"
    new = {}
    for out, (src, fn) in _normalisers(region, as_of).items():
        date = out == "birth_date_n"
        if src not in have:
            new[out] = ibis.null().cast("timestamp" if date else "string")
            continue
        udf = series_udf(records, fn, f"onetoone_norm_{out}_{tag}",
                         out="timestamp" if date else "string")
        new[out] = udf(records[src].cast("string"))
    t = records.mutate(**new)
    f, la = t.first_name_n.substr(0, 1), t.last_name_n.substr(0, 1)
    year = t.birth_date_n.year().cast("string")
    t = t.mutate(name_key_n=ibis.ifelse(f <= la, f.concat(la), la.concat(f)),
                 birth_year_n=year)
    return t.mutate(**{C.HAS_IDENTIFIER: has_identifier_expr(t)})


def has_identifier_expr(t):
    """:func:`has_identifier` as an Ibis boolean column of a normalised table."""
    import ibis

    def present(c: str):
        return t[c].notnull() if c in t.columns else ibis.literal(False)

    first, last = present("first_name_n"), present("last_name_n")
    other = present("birth_date_n") | present("postcode_n") | present("street_n")
    named = (first & last) | ((first | last) & other)
    ids = present("email_n") | present("phone_n")
    for c in IDENTIFIER_MATCH_COLUMNS:
        ids = ids | present(c)
    return ids | named


def has_identifier(norm: pd.DataFrame) -> np.ndarray:
    """Which normalised records carry something a match could rest on.

    A record is usable when it has an email, a phone or an account / card / national
    identifier, or a name (given or family) together with one more of: the other name, a
    birth date, a postcode or a street. The others (an unregistered loyalty card, a caller
    who gave only a first name) stay single customers and are counted, never dropped.
    """
    def present(c: str) -> np.ndarray:
        return norm[c].notna().to_numpy() if c in norm.columns else np.zeros(len(norm), bool)

    first, last = present("first_name_n"), present("last_name_n")
    other = present("birth_date_n") | present("postcode_n") | present("street_n")
    named = (first & last) | ((first | last) & other)
    ids = present("email_n") | present("phone_n")
    for c in IDENTIFIER_MATCH_COLUMNS:
        ids |= present(c)
    return ids | named
