"""One formatting layer for every table and key figure a person reads (notebooks and reports).

- Money with the client's currency symbol (``£8,655,816``), shares as percentages (``39.2 %``),
  counts with thousands separators, dates without times, never scientific notation, ``-`` for
  missing, ``yes``/``no`` for flags.
- Tables without index columns (a meaningful index becomes a first column), every column shown
  (wide tables scroll inside their box), long tables cut with a note of how many rows there are.
- A mean of fewer than 30 observations carries its count: ``4.00 (n=2)``.

:func:`install` (called by :func:`onetoone.nb.start`) registers these as IPython's HTML
formatters for DataFrames and Series, so every table a notebook displays goes through them
without an edit to the notebook. In a report run (``$ONETOONE_MASK_CONTACT_DATA``) contact data
is masked first (:mod:`onetoone.masking`).
"""

from __future__ import annotations

import datetime as dt
import html
import math
import re
from pathlib import PurePath

import numpy as np
import pandas as pd

from .. import masking
from . import theme

MISSING = "-"
SMALL_N = 30
"""Means resting on fewer observations than this show their count."""
MAX_ROWS = 60
"""Rows of a table shown; longer tables show the first rows and say how many there are."""

_STATE = {"currency": "EUR"}

_MONEY = re.compile(r"(revenue|margin|contribution|clv|value|cost|benefit|amount|price|spend|"
                    r"potential|saving|threshold|profit|income|wallet_size|unrealised|"
                    r"before|after|_12m|_ltv|ltv|drop|saving)", re.IGNORECASE)
_NOT_MONEY = re.compile(r"(share|rate|ratio|pct|percent|_n$|^n_|count|orders|customers|"
                        r"products|items|score|rank|events|contacts|fence_value|days|months|"
                        r"weeks|quantity|segments|silhouette|diversity|gini|p_alive|_id$|tier)",
                        re.IGNORECASE)
_SHARE = re.compile(r"(share|rate|ratio|pct|percent|retention|attrition|recognised|precision|"
                    r"recall|coverage|p_alive|probability|addressable|propensity|uplift|roi|"
                    r"top_\d+|^change$|_change$)", re.IGNORECASE)
_NOT_SHARE = re.compile(r"(ratio_to|response_rates?_n|_n$)", re.IGNORECASE)
_MEAN = re.compile(r"(mean|avg|average|satisfaction|score)", re.IGNORECASE)
_COUNT_COLS = ("n", "count", "responses", "respondents", "n_responses", "answers")


def set_currency(currency: str) -> None:
    """The currency money columns are shown in (the client's, set by :func:`install`)."""
    _STATE["currency"] = currency or "EUR"


def currency() -> str:
    return _STATE["currency"]


# -- values ------------------------------------------------------------------------------------
def is_missing(v) -> bool:
    if v is None or v is pd.NaT:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    try:
        return bool(pd.isna(v)) if np.isscalar(v) else False
    except (TypeError, ValueError):
        return False


def number(v, decimals: int | None = None) -> str:
    """A number in full with thousands separators, no scientific notation: '8,655,816', '0.97'."""
    if is_missing(v):
        return MISSING
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    x = float(v)
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    if isinstance(v, (int, np.integer)) or (decimals is None and x.is_integer() and abs(x) >= 1):
        return f"{int(round(x)):,}"
    if decimals is None:
        a = abs(x)
        decimals = 0 if a >= 1000 else 2 if a >= 0.01 or a == 0 else 4
    text = f"{x:,.{decimals}f}"
    if float(text.replace(",", "")) == 0:
        return "0" if x == 0 or decimals == 0 else ("<0." + "0" * (decimals - 1) + "1"
                                                     if x > 0 else "0")
    return text


def money(v, currency_code: str | None = None, decimals: int | None = None) -> str:
    """An amount with the currency symbol, in full: '£8,655,816', '£994.30', '-£32.50'."""
    if is_missing(v):
        return MISSING
    x = float(v)
    if decimals is None:
        decimals = 0 if abs(x) >= 1000 else 2
    text = number(x, decimals)
    prefix, suffix = theme.currency_symbol(currency_code or currency())
    sign, body = ("-", text[1:]) if text.startswith("-") else ("", text)
    return f"{sign}{prefix}{body}{suffix}"


def percent(v, decimals: int = 1) -> str:
    """A share as a percentage: 0.392 -> '39.2 %'."""
    if is_missing(v):
        return MISSING
    return theme.percent(float(v), decimals)


def date(v, with_time: bool = False) -> str:
    """A date without its time (``with_time``: the time too, when it is not midnight)."""
    if is_missing(v):
        return MISSING
    ts = pd.Timestamp(v)
    if not with_time or ts.hour == ts.minute == ts.second == 0:
        return f"{ts:%Y-%m-%d}"
    return f"{ts:%Y-%m-%d %H:%M}"


_TIME_COLS = re.compile(r"(time|_at$|^at$|timestamp)", re.IGNORECASE)


def mean_with_n(mean, n, decimals: int = 2) -> str:
    """A mean with its count beside it when it rests on fewer than :data:`SMALL_N`."""
    if is_missing(mean):
        return MISSING
    text = f"{float(mean):,.{decimals}f}"
    if n is not None and not is_missing(n) and int(n) < SMALL_N:
        text += f" (n={int(n)})"
    return text


def label(name: str) -> str:
    """A snake_case name as words: 'fence_net_benefit' -> 'fence net benefit'."""
    text = str(name).replace("_", " ").strip()
    text = re.sub(r"\bpct\b", "%", text)
    text = re.sub(r"\b12m\b", "(12 months)", text)
    return text


def kind_of(name: str, values=None) -> str:
    """'money', 'share' or 'number' for a column or figure called ``name``."""
    n = str(name)
    if re.search(r"(^|_)roi($|_)", n, re.IGNORECASE):  # a return is a percentage at any size
        return "share"
    if _SHARE.search(n) and not _NOT_SHARE.search(n):
        if values is None:
            return "share"
        vals = pd.to_numeric(pd.Series(values), errors="coerce").dropna()
        if len(vals) and vals.abs().max() <= 1.5:
            return "share"
    if _MONEY.search(n) and not _NOT_MONEY.search(n):
        return "money"
    return "number"


def value(v, name: str = "", kind: str | None = None) -> str:
    """Any value for a person, chosen by its type and (for numbers) the name it goes by."""
    if is_missing(v):
        return MISSING
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (pd.Timestamp, dt.datetime, dt.date, np.datetime64)):
        return date(v)
    if isinstance(v, (pd.Timedelta, dt.timedelta, np.timedelta64)):
        return f"{pd.Timedelta(v).days:,} days"
    if isinstance(v, (int, float, np.integer, np.floating)):
        k = kind or kind_of(name, [v])
        if k == "money":
            return money(v)
        if k == "share":
            return percent(v)
        return number(v)
    if isinstance(v, dict):
        return "; ".join(f"{label(k)}: {value(x, k)}" for k, x in v.items()) or MISSING
    if isinstance(v, (list, tuple, set, np.ndarray)):
        return ", ".join(value(x, name) for x in v) or MISSING
    s = str(v)
    if not s.strip():
        return MISSING
    if ("/" in s or "\\" in s) and re.search(r"\.[A-Za-z0-9]{2,5}$", s) and " " not in s:
        return PurePath(s).name  # a file on the analyst's machine: its name only
    return s


# -- tables ------------------------------------------------------------------------------------
def _flat_columns(df: pd.DataFrame) -> pd.DataFrame:
    if isinstance(df.columns, pd.MultiIndex):
        df = df.copy()
        df.columns = [" ".join(str(x) for x in c if str(x)) for c in df.columns]
    return df


def _drop_index(df: pd.DataFrame) -> pd.DataFrame:
    idx = df.index
    default = (isinstance(idx, pd.RangeIndex) and idx.name is None) or (
        idx.name is None and not isinstance(idx, pd.MultiIndex)
        and pd.api.types.is_integer_dtype(idx.dtype))
    if default:
        return df.reset_index(drop=True)
    names = [n if n is not None else "" for n in (idx.names or [None])]
    out = df.copy()
    out.index = idx.set_names([n if n not in out.columns else f"{n} " for n in names])
    return out.reset_index()


def format_frame(df: pd.DataFrame, mask: bool | None = None) -> pd.DataFrame:
    """``df`` as strings for a person: index dropped or made a column, values formatted."""
    df = _drop_index(_flat_columns(df))
    if masking.enabled() if mask is None else mask:
        df = masking.mask_frame(df)
    counts = next((c for c in df.columns if str(c).lower() in _COUNT_COLS), None)
    out = {}
    for col in df.columns:
        s = df[col]
        name = str(col)
        if isinstance(s, pd.DataFrame):  # duplicate column names
            s = s.iloc[:, 0]
        if pd.api.types.is_bool_dtype(s):
            out[name] = [value(v) for v in s]
        elif pd.api.types.is_datetime64_any_dtype(s):  # a time only where the column is one
            out[name] = [date(v, with_time=bool(_TIME_COLS.search(name))) for v in s]
        elif pd.api.types.is_timedelta64_dtype(s):
            out[name] = [value(v) for v in s]
        elif pd.api.types.is_numeric_dtype(s):
            k = kind_of(name, s)
            if (k == "number" and counts is not None and col != counts and _MEAN.search(name)
                    and pd.api.types.is_float_dtype(s)):
                out[name] = [mean_with_n(v, n) for v, n in zip(s, df[counts])]
            elif k == "number" and pd.api.types.is_float_dtype(s):
                vals = s.dropna()
                decimals = None
                if len(vals) and not (vals == vals.round()).all():
                    a = vals.abs()
                    decimals = 0 if a.min() >= 1000 else 2 if a.max() >= 0.1 else 4
                out[name] = [number(v, decimals) if not is_missing(v) else MISSING for v in s]
            elif k == "money":  # one number of decimals for the whole column
                vals = s.dropna()
                decimals = 0 if len(vals) and vals.abs().max() >= 1000 else 2
                out[name] = [money(v, decimals=decimals) for v in s]
            else:
                out[name] = [value(v, name, kind=k) for v in s]
        else:
            out[name] = [value(v, name) for v in s]
    res = pd.DataFrame(out, columns=[str(c) for c in df.columns])
    res.attrs["numeric"] = [str(c) for c in df.columns
                            if pd.api.types.is_numeric_dtype(df[c]) and not
                            pd.api.types.is_bool_dtype(df[c])]
    return res


def table_html(df: pd.DataFrame, caption: str | None = None, max_rows: int = MAX_ROWS,
               mask: bool | None = None) -> str:
    """A DataFrame as an HTML table in a box that scrolls sideways when wider than the page."""
    n = len(df)
    shown = df.head(max_rows) if n > max_rows else df
    f = format_frame(shown, mask=mask)
    numeric = set(f.attrs.get("numeric", []))
    head = "".join(f"<th{' class=num' if c in numeric else ''}>{html.escape(label(c))}</th>"
                   for c in f.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td{' class=num' if c in numeric else ''}>{html.escape(str(v))}</td>"
                         for c, v in zip(f.columns, r)) + "</tr>"
        for r in f.itertuples(index=False, name=None))
    cap = html.escape(caption) if caption else ""
    if n > max_rows:
        cap = (cap + "; " if cap else "") + f"first {max_rows:,} of {n:,} rows"
    cap_html = f"<caption>{cap}</caption>" if cap else ""
    return (f"<div class='onetoone-table-wrap' style='overflow-x:auto;max-width:100%'>"
            f"<table class='onetoone-table'>{cap_html}<thead><tr>{head}</tr></thead>"
            f"<tbody>{rows}</tbody></table></div>")


def figures_html(stage: str, figures: dict) -> str:
    """Key figures as a two-column table: words for names, units for values."""
    def shown(k, v) -> str:
        text = value(v, k)
        return label(text) if re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)+", text) else text

    rows = "".join(f"<tr><td>{html.escape(label(k))}</td><td class=num>"
                   f"{html.escape(shown(k, v))}</td></tr>" for k, v in figures.items())
    return (f"<div class='onetoone-table-wrap' style='overflow-x:auto;max-width:100%'>"
            f"<table class='onetoone-table onetoone-figures'><caption>Key figures: "
            f"{html.escape(label(stage))}</caption><tbody>{rows}</tbody></table></div>")


def _frame_text(df: pd.DataFrame) -> str:
    return format_frame(df.head(MAX_ROWS)).to_string(index=False)


def running_ipython(ip=None):
    """``ip`` or the running IPython shell; None outside one (the one lookup the display hooks
    of this module and ui.static share)."""
    if ip is not None:
        return ip
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return None
    return get_ipython()


def install(cfg=None, ip=None) -> bool:
    """Register the formatters with the running IPython (no-op outside one). Returns whether it did."""
    if cfg is not None:
        set_currency(getattr(cfg, "currency", None) or "EUR")
    ip = running_ipython(ip)
    if ip is None:
        return False
    fmt = ip.display_formatter.formatters
    fmt["text/html"].for_type(pd.DataFrame, lambda df: table_html(df))
    fmt["text/html"].for_type(pd.Series, lambda s: table_html(
        s.to_frame(s.name if s.name is not None else "value")))
    fmt["text/plain"].for_type(pd.DataFrame, lambda df, p, cycle: p.text(_frame_text(df)))
    return True


class ValuesTable:
    """A mapping of named values shown as a two-column table (words for names, units for
    values), e.g. the skew measures or the tier thresholds, instead of a printed dict."""

    def __init__(self, values: dict, caption: str | None = None):
        self.values = dict(values)
        self.caption = caption

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><td>{html.escape(label(k))}</td><td class=num>"
                       f"{html.escape(value(v, k))}</td></tr>" for k, v in self.values.items())
        cap = f"<caption>{html.escape(self.caption)}</caption>" if self.caption else ""
        return (f"<div class='onetoone-table-wrap' style='overflow-x:auto;max-width:100%'>"
                f"<table class='onetoone-table onetoone-figures'>{cap}<tbody>{rows}</tbody>"
                f"</table></div>")

    def __repr__(self) -> str:
        head = f"{self.caption}\n" if self.caption else ""
        return head + "\n".join(f"  {label(k)}: {value(v, k)}" for k, v in self.values.items())


def values_table(values: dict, caption: str | None = None) -> ValuesTable:
    """See :class:`ValuesTable`; display it (it is the last expression of a cell, or display())."""
    return ValuesTable(values, caption)
