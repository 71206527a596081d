"""Time-based holdout evaluation of recommenders: precision@k, recall@k, coverage.

Train on purchases before ``as_of - holdout_months``; test on what the same customers bought in
the holdout window. Only customers with purchases in both windows are scored (a customer the
model has never seen cannot be recommended to from history).
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import numpy as np
import pandas as pd

from .. import columns as C
from .recommend import ItemKNN, Popularity, build_matrix, purchase_pairs
from .repeats import repeat_rule

__all__ = [
    "HoldoutSplit",
    "evaluate_holdout",
    "precision_at_k_curve",
    "ranking_metrics",
    "time_split",
]


@dataclass
class HoldoutSplit:
    """Purchase pairs before and inside the holdout window."""

    train: pd.DataFrame
    test: pd.DataFrame
    cutoff: pd.Timestamp
    end: pd.Timestamp


def time_split(t: ibis.Table, as_of, holdout_months: int = 6) -> HoldoutSplit:
    """Aggregate purchases into a training window (before the cutoff) and a holdout window.

    Parameters
    ----------
    t : ibis.Table
        Transactions with ``customer_id``.
    as_of : date-like
        End of the data (inclusive day); the holdout is the last ``holdout_months`` months.
    """
    if holdout_months < 1:
        raise ValueError(f"holdout_months: expected at least 1, found {holdout_months}")
    end = pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)
    cutoff = end - pd.DateOffset(months=holdout_months)
    train = purchase_pairs(t, end=cutoff).to_pandas()
    test = purchase_pairs(t, start=cutoff, end=end).to_pandas()
    return HoldoutSplit(train, test, pd.Timestamp(cutoff), end)


def ranking_metrics(recs: pd.DataFrame, truth: pd.DataFrame, k: int = 10, *,
                    n_products: int | None = None, customer_id: str = C.CUSTOMER_ID,
                    product_id: str = C.PRODUCT_ID, rank: str = "rank") -> dict:
    """precision@k, recall@k, hit rate and catalogue coverage of top-k lists.

    Parameters
    ----------
    recs : DataFrame
        ``customer_id, rank, product_id`` (rank 1 = best).
    truth : DataFrame
        ``customer_id, product_id`` actually bought in the holdout. Customers without
        recommendations count with zero hits.
    n_products : int, optional
        Catalogue size for coverage (default: products seen in ``recs`` or ``truth``).
    """
    top = recs[recs[rank] <= k][[customer_id, product_id]]
    rel = truth[[customer_id, product_id]].drop_duplicates()
    n_rel = rel.groupby(customer_id).size()
    hits = top.merge(rel, on=[customer_id, product_id]).groupby(customer_id).size()
    hits = hits.reindex(n_rel.index, fill_value=0)
    if n_products is None:
        n_products = pd.concat([recs[product_id], truth[product_id]]).nunique()
    return {
        "customers": len(n_rel),
        f"precision_at_{k}": float((hits / k).mean()) if len(n_rel) else float("nan"),
        f"recall_at_{k}": float((hits / n_rel).mean()) if len(n_rel) else float("nan"),
        f"hit_rate_at_{k}": float((hits > 0).mean()) if len(n_rel) else float("nan"),
        "coverage": float(top[product_id].nunique() / max(n_products, 1)),
    }


def precision_at_k_curve(recs: pd.DataFrame, truth: pd.DataFrame, ks=range(1, 21), *,
                         customer_id: str = C.CUSTOMER_ID, product_id: str = C.PRODUCT_ID,
                         rank: str = "rank") -> pd.DataFrame:
    """precision@k and recall@k for each k in ``ks`` (one row per k)."""
    ks = list(ks)
    rel = truth[[customer_id, product_id]].drop_duplicates()
    n_rel = rel.groupby(customer_id).size()
    hit = recs[recs[rank] <= max(ks)].merge(rel, on=[customer_id, product_id])
    # hits[c, r-1] = 1 when customer c's rank-r suggestion was bought; cumulative over ranks
    hits = np.zeros((len(n_rel), max(ks)), dtype=np.float64)
    row = n_rel.index.get_indexer(hit[customer_id])
    hits[row[row >= 0], hit[rank].to_numpy()[row >= 0] - 1] = 1.0
    cum = hits.cumsum(axis=1)
    rows = [{"k": k, "precision": float((cum[:, k - 1] / k).mean()),
             "recall": float((cum[:, k - 1] / n_rel.to_numpy()).mean())} for k in ks]
    return pd.DataFrame(rows)


def evaluate_holdout(split: HoldoutSplit, products: pd.DataFrame | None = None, *, k: int = 10,
                     models: dict | None = None, repeat_threshold: float = 0.25,
                     max_k_curve: int = 20, customer_id: str = C.CUSTOMER_ID,
                     product_id: str = C.PRODUCT_ID) -> dict:
    """Fit each model on the training window and score it on the holdout customers.

    Parameters
    ----------
    split : HoldoutSplit
        From :func:`time_split`.
    products : DataFrame, optional
        The product table (universe of products and categories for repeat rules).
    models : dict, optional
        name -> unfitted recommender; default ``{"item-item": ItemKNN(), "popularity":
        Popularity()}``.

    Returns
    -------
    dict
        ``metrics`` (DataFrame: one row per model), ``curve`` (precision/recall by k per model),
        ``recommendations`` (top-k per model on the evaluated customers), ``repeat``
        (the category repeat table used), ``customers`` evaluated.
    """
    models = models or {"item-item": ItemKNN(), "popularity": Popularity()}
    universe = products[product_id] if products is not None else None
    matrix = build_matrix(split.train, products=universe)
    rule = repeat_rule(split.train, products, threshold=repeat_threshold)
    repeat_products, rep = rule.repeat_products, rule.table  # the rule production uses too
    both = np.intersect1d(split.train[customer_id].astype(str).unique(),
                          split.test[customer_id].astype(str).unique())
    truth = split.test[split.test[customer_id].astype(str).isin(both)]
    rows, curves, recs_all = [], [], {}
    for name, model in models.items():
        model.fit(matrix, repeat_products=repeat_products)
        recs = model.recommend(both, k=max(k, max_k_curve))
        m = ranking_metrics(recs, truth, k, n_products=matrix.shape[1])
        rows.append({"model": name, **m})
        curves.append(precision_at_k_curve(recs, truth, range(1, max(k, max_k_curve) + 1))
                      .assign(model=name))
        recs_all[name] = recs[recs["rank"] <= k]
    return {"metrics": pd.DataFrame(rows), "curve": pd.concat(curves, ignore_index=True),
            "recommendations": recs_all, "repeat": rep, "customers": len(both),
            "cutoff": split.cutoff}

