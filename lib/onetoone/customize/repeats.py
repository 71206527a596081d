"""One repeat-purchase rule for evaluation and production: which owned products may come back.

A category is *consumable* (an owned product may be suggested again) when the share of its
customer-product pairs bought on two or more orders reaches ``threshold``; every other
category is *durable* (owned products are left out). Without a product table the rule is the
same test on all pairs together: everything repeats or nothing does.

The rule is derived once (from the purchases before the holdout cut) and the same
:class:`RepeatRule` is handed to every model that is evaluated and to the model that writes
``recommendations``, so the holdout measures what production does. The client config can set
it instead (``customize.repeat``: ``data``, ``never`` or ``always``; ``customize.repeat_categories``
names consumable categories outright).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .. import columns as C

__all__ = ["RepeatRule", "repeat_rule"]

ORDERS = C.ORDERS


@dataclass(frozen=True)
class RepeatRule:
    """Which owned products may be suggested again.

    Attributes
    ----------
    table : DataFrame
        ``category, pairs, repeat_rate, consumable`` (one row ``all`` without a product table).
    repeat_products : list, "all" or None
        What the recommenders take as ``repeat_products``: the product ids of consumable
        categories, ``"all"`` (every owned product may come back) or None (none may).
    source : str
        ``data`` (derived from purchases), ``config`` (set in the client config).
    """

    table: pd.DataFrame
    repeat_products: object
    source: str
    threshold: float

    def describe(self) -> str:
        """One plain sentence for the notebook and the report."""
        if isinstance(self.repeat_products, str):
            what = "every owned product may be suggested again"
        elif not self.repeat_products:
            what = "owned products are never suggested again"
        else:
            cons = self.table.loc[self.table["consumable"], C.CATEGORY].astype(str).tolist()
            what = (f"owned products may come back in {len(cons)} consumable "
                    f"categor{'y' if len(cons) == 1 else 'ies'} ({', '.join(cons[:6])}"
                    f"{', ...' if len(cons) > 6 else ''}); durables are not suggested again")
        how = (f"derived from the data (a category repeats when at least {self.threshold:.0%} "
               "of its customer-product pairs were bought on two or more orders)"
               if self.source == "data" else "set in the client config (customize.repeat)")
        return f"Repeat rule, the same for the holdout and for production: {what}; {how}."


def repeat_rule(pairs: pd.DataFrame, products: pd.DataFrame | None = None, *,
                mode: str = "data", threshold: float = 0.25, categories=(),
                customer_id: str = C.CUSTOMER_ID, product_id: str = C.PRODUCT_ID,
                category: str = C.CATEGORY) -> RepeatRule:
    """Derive the repeat rule from purchase pairs (``customer_id, product_id, orders``).

    Parameters
    ----------
    products : DataFrame, optional
        The product table (``product_id, category``); without it every product is in one
        category ``all``.
    mode : {"data", "never", "always"}
        ``data`` derives consumables from the repeat rate; ``never`` / ``always`` set it.
    categories : iterable of str
        Categories that are consumable whatever the data says (with ``mode="data"``).
    """
    if mode not in ("data", "never", "always"):
        raise ValueError(f"customize.repeat: expected 'data', 'never' or 'always', found {mode!r}")
    df = pairs[[customer_id, product_id, ORDERS]]
    has_cat = products is not None and category in products.columns
    if has_cat:
        cat = products[[product_id, category]].astype({product_id: str})
        df = df.astype({product_id: str}).merge(cat.drop_duplicates(product_id), on=product_id,
                                                how="left")
        df[category] = df[category].fillna("(unknown)")
    else:
        df = df.assign(**{category: "all"})
    table = (df.assign(rep=df[ORDERS] > 1).groupby(category)
             .agg(pairs=("rep", "size"), repeat_rate=("rep", "mean")).reset_index())
    if not len(table):
        table = pd.DataFrame({category: ["all"], "pairs": [0], "repeat_rate": [0.0]})
    forced = set(map(str, categories))
    if mode == "data":
        table["consumable"] = (table["repeat_rate"] >= threshold) | table[category].astype(
            str).isin(forced)
    else:
        table["consumable"] = mode == "always"
    table = table.sort_values("repeat_rate", ascending=False, ignore_index=True)
    source = "data" if mode == "data" and not forced else "config"
    if mode == "always" or (not has_cat and table["consumable"].any()):
        rp: object = "all"
    elif not table["consumable"].any():
        rp = None
    else:
        cats = set(table.loc[table["consumable"], category])
        rp = products.loc[products[category].isin(cats), product_id].astype(str).tolist()
    return RepeatRule(table, rp, source, threshold)
