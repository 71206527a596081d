"""Choose the recommender per client by evidence: a validation split taken before the holdout.

Three windows end at ``as_of``: the **holdout** is the last ``holdout_months``; the
**validation** window the ``validation_months`` before it. Every candidate is fitted on the
purchases before the validation window and scored on it; the model is **chosen there**. Then
every candidate is refitted on everything before the holdout and measured on the holdout,
which the choice never saw: the figures a client is shown. Production refits the chosen model
on every purchase up to ``as_of``.

Who is evaluated: customers who bought both before a window and in it (a model learns from a
customer's history; someone new in the window has none, and someone who bought nothing in it
gives nothing to check against). :func:`evaluated_customers` counts both groups.

Lift over popularity: the difference of mean precision@k between a candidate and the
popularity baseline, with a 95 % bootstrap confidence interval paired over customers
(:func:`scipy.stats.bootstrap`, ``paired=True``). A personalised candidate is chosen only when
its validation interval lies above zero against the better popularity list; otherwise the
choice is popularity within the customer's segment, and the report says personalisation did
not earn its keep on this client's data.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import ibis
import numpy as np
import pandas as pd
import scipy.stats

from .. import columns as C
from .evaluate import ranking_metrics
from .models import Ease, ImplicitALS, ImplicitBPR, SegmentPopularity
from .recommend import ItemKNN, Popularity, build_matrix, purchase_pairs
from .repeats import RepeatRule

__all__ = ["CANDIDATES", "POPULARITY_MODELS", "Selection", "Windows", "choose_model", "decide",
           "evaluated_customers", "lift_interval", "make_candidates", "per_customer_precision",
           "score_candidates", "time_windows"]

CANDIDATES = ("popularity", "segment popularity", "item-knn", "ease", "als", "bpr")
"""Every candidate a client config may name (``customize.candidates``)."""

POPULARITY_MODELS = ("popularity", "segment popularity")


@dataclass
class Windows:
    """Purchase pairs of the validation and holdout windows (and what precedes each).

    The four window frames are fetched (the evaluation fits and scores candidates on them in
    numpy: the metrics need every evaluated customer's list and purchases, so the windows are
    on the driver anyway). ``pairs`` is every purchase up to ``as_of`` as an Ibis
    expression (production), never fetched unless :meth:`fetch_all` is called;
    ``everyone`` the customers with a purchase (fetched: one row per customer).
    """

    fit_validation: pd.DataFrame
    validation: pd.DataFrame
    fit_holdout: pd.DataFrame
    holdout: pd.DataFrame
    validation_start: pd.Timestamp
    cutoff: pd.Timestamp
    end: pd.Timestamp
    all_pairs: pd.DataFrame | None = None
    pairs: ibis.Table | None = field(default=None, repr=False)
    everyone: np.ndarray | None = field(default=None, repr=False)

    def fetch_all(self) -> pd.DataFrame:
        """Every purchase pair up to ``as_of`` as pandas (only the factor models' production
        fit needs it); fetched once."""
        if self.all_pairs is None:
            self.all_pairs = self.pairs.to_pandas()
        return self.all_pairs


def time_windows(t, as_of, holdout_months: int = 6, validation_months: int | None = None
                 ) -> Windows:
    """Aggregate purchases (inside the engine) into the validation and holdout windows.

    The four evaluation windows are fetched as pandas (one row per customer and product);
    the pairs up to ``as_of`` stay an Ibis expression (:attr:`Windows.pairs`).

    Parameters
    ----------
    t : ibis.Table
        Transactions with ``customer_id``.
    as_of : date-like
        Last day of the data (inclusive).
    validation_months : int, optional
        Length of the validation window; defaults to ``holdout_months``.
    """
    if holdout_months < 1:
        raise ValueError(f"holdout_months: expected at least 1, found {holdout_months}")
    v = validation_months or holdout_months
    end = pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)
    cutoff = end - pd.DateOffset(months=holdout_months)
    vstart = cutoff - pd.DateOffset(months=v)
    fit_v, fit_h, pairs = (purchase_pairs(t, end=vstart), purchase_pairs(t, end=cutoff),
                           purchase_pairs(t, end=end))
    everyone = pairs.select(C.CUSTOMER_ID).distinct().to_pandas()[C.CUSTOMER_ID]
    return Windows(fit_v.to_pandas(),
                   purchase_pairs(t, start=vstart, end=cutoff).to_pandas(),
                   fit_h.to_pandas(),
                   purchase_pairs(t, start=cutoff, end=end).to_pandas(),
                   pd.Timestamp(vstart), pd.Timestamp(cutoff), end, None, pairs,
                   np.sort(everyone.astype(str).unique()))


def evaluated_customers(train: pd.DataFrame, test: pd.DataFrame, everyone=None, *,
                        customer_id: str = C.CUSTOMER_ID) -> dict:
    """Who a window evaluates, and why the others are not.

    Returns ``evaluated`` (ids bought before and in the window), ``n``, ``share`` of
    ``everyone`` (all customers with a purchase; default: both windows' customers),
    ``only_before`` (bought nothing in the window: nothing to check against) and ``only_in``
    (new in the window: no history to learn from), and ``customers``.
    """
    a = set(train[customer_id].astype(str))
    b = set(test[customer_id].astype(str))
    allc = set(map(str, everyone)) if everyone is not None else a | b
    both = np.array(sorted(a & b), dtype=object)
    return {"evaluated": both, "n": len(both), "customers": len(allc),
            "share": len(both) / max(len(allc), 1), "only_before": len(a - b),
            "only_in": len(b - a)}


def describe_evaluated(who: dict, window: str = "holdout") -> str:
    """One plain sentence: how many are evaluated and why the others are not."""
    return (f"{who['n']:,} of {who['customers']:,} customers ({who['share']:.0%}) are evaluated "
            f"on the {window}: they bought both before it and in it. {who['only_before']:,} "
            f"bought nothing in the {window} (nothing to check a suggestion against) and "
            f"{who['only_in']:,} bought for the first time in it (no history to learn from).")


def make_candidates(names=None, *, segment_of: dict | None = None,
                    segment_names: dict | None = None, ease_lambda: float = 250.0,
                    ease_max_products: int = 3000, factors: int = 64) -> dict:
    """name -> a function returning a fresh unfitted model, for the named candidates."""
    names = list(names or CANDIDATES[:5])
    unknown = sorted(set(names) - set(CANDIDATES))
    if unknown:
        raise ValueError(f"customize.candidates: unknown {unknown}; expected some of "
                         f"{list(CANDIDATES)}")
    makers = {
        "popularity": Popularity,
        "segment popularity": lambda: SegmentPopularity(segment_of, segment_names),
        "item-knn": ItemKNN,
        "ease": lambda: Ease(lam=ease_lambda, max_products=ease_max_products),
        "als": lambda: ImplicitALS(factors=factors),
        "bpr": lambda: ImplicitBPR(factors=factors),
    }
    if "popularity" not in names:
        names = ["popularity", *names]  # the baseline every lift is measured against
    return {n: makers[n] for n in names}


def per_customer_precision(recs: pd.DataFrame, truth: pd.DataFrame, customers, k: int = 10, *,
                           customer_id: str = C.CUSTOMER_ID, product_id: str = C.PRODUCT_ID
                           ) -> np.ndarray:
    """precision@k of each customer in ``customers`` (in that order; 0 without suggestions)."""
    top = recs[recs["rank"] <= k][[customer_id, product_id]]
    rel = truth[[customer_id, product_id]].drop_duplicates()
    hits = top.merge(rel, on=[customer_id, product_id]).groupby(customer_id).size()
    return (hits.reindex(pd.Index(customers, dtype=object), fill_value=0).to_numpy(float) / k)


def lift_interval(a: np.ndarray, b: np.ndarray, *, n_resamples: int = 2000,
                  confidence: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """Mean of ``a - b`` (paired per customer) with its bootstrap confidence interval.

    Uses :func:`scipy.stats.bootstrap` (``paired=True``, percentile interval). Returns
    ``(difference, low, high)``; NaNs when there are fewer than two customers.
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    diff = float(a.mean() - b.mean()) if len(a) else float("nan")
    if len(a) < 2:
        return diff, float("nan"), float("nan")
    if np.all(a == b):
        return diff, 0.0, 0.0
    res = scipy.stats.bootstrap(
        (a, b), lambda x, y, axis=-1: x.mean(axis=axis) - y.mean(axis=axis), paired=True,
        vectorized=True, n_resamples=n_resamples, confidence_level=confidence,
        method="percentile", rng=np.random.default_rng(seed), batch=100)
    return diff, float(res.confidence_interval.low), float(res.confidence_interval.high)


def score_candidates(train: pd.DataFrame, test: pd.DataFrame, candidates: dict,
                     rule: RepeatRule, *, products=None, k: int = 10, everyone=None,
                     n_resamples: int = 2000, seed: int = 0, keep_recs: bool = False,
                     customer_id: str = C.CUSTOMER_ID, product_id: str = C.PRODUCT_ID) -> dict:
    """Fit each candidate on ``train`` and measure it on ``test`` (one window), in numpy.

    Returns ``metrics`` (one row per candidate: precision@k, recall@k, hit rate, coverage,
    fit and scoring seconds, lift over popularity with its interval), ``who``
    (:func:`evaluated_customers`), ``precision`` (per-customer precision arrays) and, with
    ``keep_recs``, the top-k ``recommendations`` per candidate.
    """
    matrix = build_matrix(train, products=products)
    who = evaluated_customers(train, test, everyone, customer_id=customer_id)
    both = who["evaluated"]
    truth = test[test[customer_id].astype(str).isin(set(both))]
    rows, prec, recs_all = [], {}, {}
    for name, make in candidates.items():
        t0 = time.perf_counter()
        model = make().fit(matrix, repeat_products=rule.repeat_products)
        t1 = time.perf_counter()
        recs = model.recommend(both, k=k)
        t2 = time.perf_counter()
        m = ranking_metrics(recs, truth, k, n_products=matrix.shape[1])
        prec[name] = per_customer_precision(recs, truth, both, k)
        rows.append({"model": name, **m, "fit_s": t1 - t0, "score_s": t2 - t1})
        if keep_recs:
            recs_all[name] = recs
    metrics = pd.DataFrame(rows)
    base = prec["popularity"]
    lifts = [lift_interval(prec[n], base, n_resamples=n_resamples, seed=seed)
             for n in metrics["model"]]
    metrics["lift"] = [x[0] for x in lifts]
    metrics["lift_low"] = [x[1] for x in lifts]
    metrics["lift_high"] = [x[2] for x in lifts]
    return {"metrics": metrics, "who": who, "precision": prec, "recommendations": recs_all}


@dataclass
class Selection:
    """The outcome of the per-client choice.

    Attributes
    ----------
    chosen : str
        The model production uses.
    baseline : str
        The better popularity list on validation (what the chosen model had to beat).
    table : DataFrame
        One row per candidate: validation and holdout precision@k, recall@k, coverage, lift
        over popularity with its interval, fit and scoring seconds.
    personalisation_pays : bool
        The chosen model is personalised and its holdout lift over the baseline has a 95 %
        interval above zero.
    statement : str
        What the notebook and the report say, in plain words.
    """

    chosen: str
    baseline: str
    table: pd.DataFrame
    personalisation_pays: bool
    statement: str
    who_validation: dict = field(default_factory=dict)
    who_holdout: dict = field(default_factory=dict)
    holdout_lift: tuple = (float("nan"), float("nan"), float("nan"))
    validation: dict = field(default_factory=dict, repr=False)
    holdout: dict = field(default_factory=dict, repr=False)
    k: int = 10


def decide(precision: dict, *, k: int = 10, n_resamples: int = 2000, seed: int = 0
           ) -> tuple[str, str, str]:
    """The choice rule on validation figures: ``(chosen, baseline, why)``.

    ``precision`` maps each candidate to its per-customer validation precision@k (same
    customers, same order). The baseline is the better popularity list (segment popularity on
    a tie); the best personalised candidate is chosen only when its paired bootstrap interval
    of the lift over the baseline lies above zero.
    """
    mean = {n: float(np.mean(v)) if len(v) else float("nan") for n, v in precision.items()}
    pops = [n for n in POPULARITY_MODELS if n in precision]
    baseline = max(pops, key=lambda n: (mean[n], n == "segment popularity"))
    personal = [n for n in precision if n not in POPULARITY_MODELS]
    n_cust = len(precision[baseline])
    if not personal:
        return baseline, baseline, "no personalised candidate was compared"
    if n_cust < 2:
        return baseline, baseline, ("the validation window has no customer who bought both "
                                    "before and in it")
    best = max(personal, key=lambda n: mean[n])
    d, lo, hi = lift_interval(precision[best], precision[baseline], n_resamples=n_resamples,
                              seed=seed)
    if lo > 0:
        return best, baseline, (f"{best} beat {baseline} on the validation window by {d:+.4f} "
                                f"precision@{k} (95 % CI {lo:+.4f} to {hi:+.4f})")
    return baseline, baseline, (f"the best personalised candidate, {best}, did not beat "
                                f"{baseline} on the validation window ({d:+.4f} precision@{k}, "
                                f"95 % CI {lo:+.4f} to {hi:+.4f})")


def choose_model(windows: Windows, candidates: dict, rule: RepeatRule, *, products=None,
                 k: int = 10, n_resamples: int = 2000, seed: int = 0,
                 keep_recs: bool = False) -> Selection:
    """Choose on the validation window, then measure every candidate on the holdout.

    A personalised candidate (not a popularity list) is chosen when it has the best validation
    precision@k and its paired bootstrap interval of the lift over the better popularity list
    lies above zero; otherwise popularity within segment (overall popularity when segment
    popularity is not a candidate or is worse on validation).
    """
    everyone = windows.everyone
    if everyone is None and windows.all_pairs is not None:
        everyone = windows.all_pairs[C.CUSTOMER_ID].astype(str).unique()

    val = score_candidates(windows.fit_validation, windows.validation, candidates, rule,
                           products=products, k=k, everyone=everyone, n_resamples=n_resamples,
                           seed=seed)
    hold = score_candidates(windows.fit_holdout, windows.holdout, candidates, rule,
                            products=products, k=k, everyone=everyone,
                            n_resamples=n_resamples, seed=seed, keep_recs=keep_recs)
    p = f"precision_at_{k}"
    vm = val["metrics"].set_index("model")
    chosen, baseline, why = decide(val["precision"], k=k, n_resamples=n_resamples, seed=seed)
    hm = hold["metrics"].set_index("model")
    table = pd.DataFrame({"model": vm.index})
    for col in (p, f"recall_at_{k}", "coverage", "lift", "lift_low", "lift_high"):
        table[f"validation_{col}"] = vm[col].to_numpy()
        table[f"holdout_{col}"] = hm.loc[vm.index, col].to_numpy()
    table["fit_s"] = hm.loc[vm.index, "fit_s"].to_numpy()
    table["score_s"] = hm.loc[vm.index, "score_s"].to_numpy()
    table["chosen"] = table["model"] == chosen
    hl = lift_interval(hold["precision"][chosen], hold["precision"][baseline],
                       n_resamples=n_resamples, seed=seed)
    pays = chosen not in POPULARITY_MODELS and hl[1] > 0
    if chosen in POPULARITY_MODELS:
        statement = (f"Personalisation does not pay on this data: {why}. Recommend "
                     + ("popularity within segment (the bestsellers of each needs segment), with "
                        "the reason 'popular in your segment'." if chosen != "popularity" else
                        "the bestseller list, with the reason 'popular with customers' "
                        "(popularity within segment did not do better here)."))
    elif pays:
        statement = (f"Personalisation pays: {why}; on the holdout, which the choice never saw, "
                     f"{chosen} beats {baseline} by {hl[0]:+.4f} precision@{k} (95 % CI "
                     f"{hl[1]:+.4f} to {hl[2]:+.4f}).")
    else:
        statement = (f"{chosen} was chosen ({why}), but on the holdout its lift over {baseline} "
                     f"is {hl[0]:+.4f} precision@{k} (95 % CI {hl[1]:+.4f} to {hl[2]:+.4f}): "
                     "no claim that personalisation pays can be made.")
    return Selection(chosen, baseline, table, bool(pays), statement, val["who"], hold["who"],
                     hl, val, hold, k)
