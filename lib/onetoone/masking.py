"""The one masker for contact data and sensitive identifiers, applied to data before it is shown.

Reports (HTML and PDF) and files that leave the workbook (the campaign CSV) show contact
details masked the same way:

- email ``ann.lee@example.org`` -> ``a***@example.org`` (first letter and the domain kept),
- phone ``07700 900123`` -> ``*******123`` (the last three digits kept),
- street ``12 Harbour Lane`` -> ``***``,
- a sensitive identifier (national / tax id, account, loyalty or card number) -> ``****1234``
  (the last four characters kept, like a card receipt).

Masking works on values and DataFrame columns (:func:`mask_value`, :func:`mask_frame`), so it
runs on the data before any table, widget or report is rendered; nothing searches rendered text.
Which columns are contact data is decided by their canonical names in :mod:`onetoone.columns`
(``email``, ``phone``, ``street`` and whatever it declares as sensitive identifiers).
"""

from __future__ import annotations

import math
import os
import re

from . import columns as C

MASK_ENV = "ONETOONE_MASK_CONTACT_DATA"
"""Set to ``1`` (the batch does) to mask contact data in every table a notebook shows."""

CONTACT_COLUMNS: dict[str, str] = {C.EMAIL: "email", C.PHONE: "phone", C.STREET: "street"}
"""Canonical contact columns and how each is masked."""


def _identifier_columns() -> set[str]:
    """Sensitive identifier columns declared in :mod:`onetoone.columns` (by the Identify stage)."""
    found: set[str] = set()
    for name in ("SENSITIVE_COLUMNS", "SENSITIVE_IDENTIFIERS", "IDENTIFIER_COLUMNS",
                 "MASKED_COLUMNS", "PII_COLUMNS"):
        value = getattr(C, name, None)
        if isinstance(value, str):
            found.add(value)
        elif value:
            found.update(str(v) for v in value)
    for name in ("NATIONAL_ID", "TAX_ID", "ACCOUNT_NUMBER", "LOYALTY_NUMBER", "CARD_NUMBER",
                 "IDENTIFIER"):
        value = getattr(C, name, None)
        if isinstance(value, str):
            found.add(value)
    return found - set(CONTACT_COLUMNS)


def column_kind(name: str) -> str | None:
    """How column ``name`` is masked ('email', 'phone', 'street', 'identifier') or None."""
    n = str(name).lower()
    if n in CONTACT_COLUMNS:
        return CONTACT_COLUMNS[n]
    if n in _identifier_columns():
        return "identifier"
    for suffix, kind in (("email", "email"), ("phone", "phone"), ("street", "street")):
        if n.endswith("_" + suffix) or n.startswith(suffix + "_"):
            return kind
    return None


def mask_value(value, kind: str):
    """One value masked as ``kind``; missing values stay missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return value
    s = str(value)
    if not s.strip():
        return s
    if kind == "email":
        if "@" in s:
            user, domain = s.split("@", 1)
            return (user[:1] + "***@" + domain) if user else "***@" + domain
        return "***"
    if kind == "phone":
        digits = [ch for ch in s if ch.isdigit()]
        return "*" * max(len(digits) - 3, 0) + "".join(digits[-3:])
    if kind == "street":
        return "***"
    if kind == "identifier":
        keep = re.sub(r"\s", "", s)[-4:] if len(s) > 6 else ""
        return "****" + keep
    return s


_EMAIL_VALUE = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")
_PHONE_VALUE = re.compile(r"\+?[\d\s().\-]{9,}")


def value_kind(value) -> str | None:
    """'email' or 'phone' for a text value that is one (in a column not named as contact data:
    a blocking key, a search result, a free-text field holding an address)."""
    if not isinstance(value, str):
        return None
    v = value.strip()
    if _EMAIL_VALUE.fullmatch(v):
        return "email"
    if _PHONE_VALUE.fullmatch(v) and sum(ch.isdigit() for ch in v) >= 9:
        return "phone"
    return None


def _is_text(series) -> bool:
    import pandas as pd

    return pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)


def mask_frame(df, columns: dict[str, str] | None = None):
    """A copy of ``df`` with its contact and identifier columns masked (``df`` when none).

    Columns are chosen by name (:func:`column_kind`); in the other text columns, a value that
    is an email address or a phone number on its own is masked too.
    """
    kinds = columns if columns is not None else {c: k for c in df.columns
                                                 if (k := column_kind(c)) is not None}
    kinds = {c: k for c, k in kinds.items() if c in df.columns}
    text_cols = [c for c in df.columns if c not in kinds and _is_text(df[c])] \
        if columns is None else []
    found = {c for c in text_cols if any(value_kind(v) for v in df[c].to_numpy())}
    if not kinds and not found:
        return df
    out = df.copy()
    for col, kind in kinds.items():
        out[col] = [mask_value(v, kind) for v in out[col].to_numpy()]
    for col in found:
        out[col] = [mask_value(v, k) if (k := value_kind(v)) else v for v in out[col].to_numpy()]
    return out


def mask_mapping(values: dict) -> dict:
    """A dict (a golden record, a readout) with its contact fields masked."""
    return {k: (mask_value(v, kind) if (kind := column_kind(k)) else v) for k, v in values.items()}


def enabled() -> bool:
    """Whether tables shown now are for a report (``$ONETOONE_MASK_CONTACT_DATA`` is set)."""
    return os.environ.get(MASK_ENV, "") not in ("", "0", "false", "no")
