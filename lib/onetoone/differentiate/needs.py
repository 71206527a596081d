"""Needs segments: what customers buy, where, how they react to price and how much service they use.

Behaviour features per customer are computed inside the engine (:func:`needs_features`);
:func:`segment_needs` scales them, clusters them with scikit-learn (KMeans, or a Gaussian
mixture) with the number of segments chosen from the data, profiles and names each segment
in plain language, and sums up how different customers' needs are in one number
(:func:`needs_diversity`).

Feature groups (column prefixes)
--------------------------------
``cat_<category>``
    Share of the customer's purchase value in each product category (category mix).
``chan_<channel>``
    Share of the customer's orders placed on each channel (channel mix).
``price_discount_share``, ``price_discount_depth``, ``price_return_share``
    Price sensitivity: share of purchase lines bought at least 5 % below list price, average
    discount off list price (value-weighted), and share of purchase value returned.
``service_contacts_per_year``
    Service intensity: inbound contacts (complaints, enquiries, service) per year as a customer.
``recency_log_days``
    Engagement recency: log(1 + days since the last purchase or inbound contact).

Before scaling, category shares are square-rooted (the Hellinger transform of a composition:
a customer who buys only books is not pushed to the edge of the space by one share of 1).
After scaling, each feature group gets a total weight (a group of 8 category shares does not
outvote one price column 8 to 1): :data:`DEFAULT_GROUP_WEIGHTS`. Category mix weighs most,
because what people buy is the clearest expression of what they need; channel mix weighs
little because before Identify has merged records, a source system sees one channel only
(a loyalty card is the store, a web account the web), so channel mix measures the record,
not the person. Recency describes the state of the relationship rather than a need: it is
profiled and used in names, not clustered (weight 0). On the sample client these weights
raised the adjusted Rand index against the planted needs groups from 0.06 (all groups
equal) to about 0.4 (measured on source records, before Identify).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import ibis
import numpy as np
import pandas as pd

from .. import columns as C
from .value import _end_of, _is_return

__all__ = [
    "DEFAULT_GROUP_WEIGHTS",
    "FEATURE_GROUPS",
    "NeedsSegments",
    "NoNeedsData",
    "feature_group",
    "name_segments",
    "needs_diversity",
    "needs_features",
    "segment_needs",
]

FEATURE_GROUPS = ("category", "channel", "price", "service", C.RECENCY)
"""The behaviour feature groups, in the order they are reported."""

DEFAULT_GROUP_WEIGHTS: dict[str, float] = {
    "category": 3.0, "channel": 0.3, "price": 1.5, "service": 0.5, C.RECENCY: 0.0}
"""Total weight of each feature group in the clustering (see the module docstring)."""

_PREFIX = {"cat_": "category", "chan_": "channel", "price_": "price", "service_": "service",
           "recency_": C.RECENCY}


def feature_group(column: str) -> str:
    """The feature group of a feature column (by its prefix); KeyError for unknown columns."""
    for p, g in _PREFIX.items():
        if column.startswith(p):
            return g
    raise KeyError(f"feature {column!r} has no known prefix; expected one of {list(_PREFIX)}")


def _slug(x: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in str(x).strip().lower()).strip("_") or "x"


def needs_features(
    transactions: ibis.Table,
    products: ibis.Table | None = None,
    interactions: ibis.Table | None = None,
    *,
    as_of,
    customer_id: str = C.CUSTOMER_ID,
    date: str = C.DATE,
    amount: str = C.AMOUNT,
    quantity: str = C.QUANTITY,
    is_return: str = C.IS_RETURN,
    order_id: str = C.ORDER_ID,
    transaction_id: str = C.TRANSACTION_ID,
    channel: str = C.CHANNEL,
    product_id: str = C.PRODUCT_ID,
    category: str = C.CATEGORY,
    price: str = C.PRICE,
    direction: str = C.DIRECTION,
) -> pd.DataFrame:
    """Behaviour features per customer with at least one purchase (see the module docstring).

    Parameters
    ----------
    transactions : ibis.Table
        Order lines with ``customer_id`` (null = anonymous, left out).
    products : ibis.Table, optional
        Catalogue with ``category`` and ``price``; without it there is no category mix and
        no discount measure (``attrs["missing"]`` says so).
    interactions : ibis.Table, optional
        Contacts with ``customer_id`` and ``direction``; without them service intensity is 0.
    as_of : date-like
        Analysis date; later rows are ignored.

    Returns
    -------
    pandas.DataFrame
        Indexed by customer id (sorted), float feature columns. ``attrs["missing"]`` lists
        feature groups that could not be computed and why.
    """
    end = _end_of(as_of)
    missing: dict[str, str] = {}
    t = transactions.filter(transactions[customer_id].notnull()
                            & (transactions[date].cast("timestamp") < end))
    ret = _is_return(t, is_return, amount)
    t = t.mutate(__ret=ret, __amt=t[amount].cast("float64"), __ts=t[date].cast("timestamp"))
    has_cat = products is not None and category in products.columns
    has_price = products is not None and price in products.columns and quantity in t.columns
    if products is not None and (has_cat or has_price):
        sel = {"__pid": products[product_id]}
        if has_cat:
            sel["__cat"] = products[category].cast("string")
        if has_price:
            sel["__price"] = products[price].cast("float64")
        p = products.select(**sel)
        t = t.left_join(p, t[product_id] == p["__pid"]).drop("__pid")
    if not has_cat:
        missing["category"] = "no product categories (load the product catalogue)"
    if not has_price:
        missing["price"] = ("no list prices: discount share and depth are left out; "
                            "the return share stays")
    buy = t.filter(~t.__ret & (t.__amt > 0))
    order_key = ibis.coalesce(buy[order_id].cast("string"), buy[transaction_id].cast("string")) \
        if order_id in buy.columns else buy[transaction_id].cast("string")
    buy = buy.mutate(__order=order_key)
    cid = buy[customer_id].name("customer_id")
    aggs = {
        "__value": buy.__amt.sum(),
        "__lines": buy.count(),
        "__first": buy.__ts.min(),
        "__last": buy.__ts.max(),
        "__orders": buy.__order.nunique(),
    }
    if has_price:
        list_value = buy[quantity].cast("float64").abs() * buy.__price
        disc = (buy.__amt < 0.95 * list_value).fill_null(False)
        aggs["__disc_lines"] = disc.ifelse(1, 0).sum()
        aggs["__list_value"] = buy.__price.notnull().ifelse(list_value, 0.0).sum()
        aggs["__priced_value"] = buy.__price.notnull().ifelse(buy.__amt, 0.0).sum()
    base = buy.group_by(cid).aggregate(**aggs).to_pandas().set_index("customer_id")
    returned = t.filter(t.__ret)
    rv = returned.group_by(returned[customer_id].name("customer_id")).aggregate(
        r=(-returned.__amt).sum()).to_pandas().set_index("customer_id")["r"]
    out = pd.DataFrame(index=base.index)
    if has_cat:
        cat = buy.group_by([cid, buy.__cat.fill_null("unknown").name("cat")]).aggregate(
            v=buy.__amt.sum()).to_pandas()
        mix = cat.pivot_table(index="customer_id", columns="cat", values="v", aggfunc="sum",
                              fill_value=0.0)
        mix = mix.div(mix.sum(axis=1), axis=0)
        mix.columns = [f"cat_{_slug(c)}" for c in mix.columns]
        out = out.join(mix)
    if channel in buy.columns:
        ch = buy.group_by([cid, buy[channel].cast("string").fill_null("unknown").name("ch")]
                          ).aggregate(n=buy.__order.nunique().cast("float64")).to_pandas()
        cmix = ch.pivot_table(index="customer_id", columns="ch", values="n", aggfunc="sum",
                              fill_value=0.0)
        cmix = cmix.div(cmix.sum(axis=1), axis=0)
        cmix.columns = [f"chan_{_slug(c)}" for c in cmix.columns]
        out = out.join(cmix)
    else:
        missing["channel"] = "transactions have no channel"
    if has_price:
        out["price_discount_share"] = base["__disc_lines"] / base["__lines"]
        depth = 1 - base["__priced_value"] / base["__list_value"].where(base["__list_value"] > 0)
        out["price_discount_depth"] = depth.clip(0, 1).fillna(0.0)
    out["price_return_share"] = (rv.reindex(out.index).fillna(0.0) / base["__value"]).clip(0, 1)
    end_ts = pd.Timestamp(end)
    first = pd.to_datetime(base["__first"])
    last = pd.to_datetime(base["__last"])
    years = ((end_ts - first).dt.total_seconds() / (365.25 * 86400)).clip(lower=0.25)
    if interactions is not None and direction in interactions.columns:
        i = interactions.filter(interactions[customer_id].notnull()
                                & (interactions[date].cast("timestamp") < end)
                                & (interactions[direction] == "inbound"))
        inb = i.group_by(i[customer_id].name("customer_id")).aggregate(
            n=i.count(), last=i[date].cast("timestamp").max()).to_pandas().set_index("customer_id")
        n_in = inb["n"].reindex(out.index).fillna(0)
        last_in = pd.to_datetime(inb["last"]).reindex(out.index)
        last = pd.concat([last, last_in], axis=1).max(axis=1)
    else:
        missing["service"] = "no interactions with a direction: service intensity counts 0"
        n_in = pd.Series(0.0, index=out.index)
    out["service_contacts_per_year"] = n_in / years
    days = (end_ts - last).dt.total_seconds() / 86400
    out["recency_log_days"] = np.log1p(days.clip(lower=0))
    out = out.fillna(0.0).astype("float64").sort_index()
    out.index = out.index.astype(str)
    out.index.name = C.CUSTOMER_ID
    out.attrs["missing"] = missing
    return out


# ------------------------------------------------------------------------------------------
# segmentation
# ------------------------------------------------------------------------------------------
@dataclass
class NeedsSegments:
    """A fitted needs segmentation.

    Attributes
    ----------
    labels : pandas.Series
        Segment per customer (0 = the largest segment), on the features' index.
    k : int
        Number of segments chosen.
    scores : pandas.DataFrame
        Per candidate k: ``silhouette`` (KMeans) or ``bic`` (Gaussian mixture), and the
        diversity the segmentation would give; ``chosen`` marks the winner.
    profile : pandas.DataFrame
        Per segment: ``size``, ``share`` and the mean of every feature (original units).
    z_profile : pandas.DataFrame
        Per segment: mean of every standardised feature (how far it sits from the average
        customer, in standard deviations): the heatmap.
    names : dict[int, str]
        Plain-language name per segment.
    diversity, entropy, separation : float
        :func:`needs_diversity` and its two factors.
    method : str
    """

    labels: pd.Series
    k: int
    scores: pd.DataFrame
    profile: pd.DataFrame
    z_profile: pd.DataFrame
    names: dict[int, str]
    diversity: float
    entropy: float
    separation: float
    method: str
    model: object = field(repr=False, default=None)
    scaler: object = field(repr=False, default=None)

    def table(self) -> pd.DataFrame:
        """The ``segments`` table: segment, segment_name, size, share, profile columns."""
        prof = self.profile.copy()
        prof.insert(0, C.SEGMENT_NAME, [self.names[s] for s in prof.index])
        prof.index.name = C.SEGMENT
        return prof.reset_index()

    def segment_name(self) -> pd.Series:
        """Segment name per customer."""
        return self.labels.map(self.names).rename(C.SEGMENT_NAME)


class NoNeedsData(ValueError):
    """No behaviour feature that describes a need varies across customers: segments fitted on
    them would be noise (every k scores a silhouette of -1), so none are made."""


def _design(features: pd.DataFrame, group_weights: dict[str, float] | None):
    from sklearn.preprocessing import StandardScaler

    if features.empty:
        raise ValueError("segment_needs: no customers with features (no purchases?)")
    bad = ~np.isfinite(features.to_numpy(dtype=float))
    if bad.any():
        rows = features.index[bad.any(axis=1)][:5].tolist()
        raise ValueError(f"segment_needs: missing or infinite feature values for customers "
                         f"{rows}; expected finite numbers (needs_features fills gaps with 0)")
    keep = [c for c in features.columns if features[c].std() > 0]
    X = features[keep].to_numpy(dtype=float).copy()
    cat = np.array([c.startswith("cat_") for c in keep])
    X[:, cat] = np.sqrt(np.clip(X[:, cat], 0, None))
    scaler = StandardScaler().fit(X)
    Z = scaler.transform(X)
    groups = np.array([feature_group(c) for c in keep])
    w = np.ones(len(keep))
    weights = dict(DEFAULT_GROUP_WEIGHTS)
    weights.update(group_weights or {})
    for g in set(groups):
        m = groups == g
        w[m] = math.sqrt(weights.get(g, 1.0) / m.sum())  # each group: total variance = weight
    if not (w > 0).any():
        constant = [feature_group(c) for c in features.columns if c not in keep]
        raise NoNeedsData(
            "no needs data: no behaviour feature that describes a need varies across "
            "customers" + (f" ({', '.join(sorted(set(constant)))} are the same for everyone)"
                           if constant else ""))
    return keep, Z, Z * w, scaler


def needs_diversity(Zw: np.ndarray, labels: np.ndarray) -> tuple[float, float, float]:
    """How different customers' needs are, as one number in [0, 1]: entropy x separation.

    - ``entropy``: Shannon entropy of the segment sizes divided by log(k) (1 when the
      segments are equally large, near 0 when one segment holds nearly everyone). With one
      segment it is 0.
    - ``separation``: the share of the (scaled, weighted) feature variance that lies between
      segments, 1 - within / total (the R squared of the segmentation). Near 0 when the
      segments barely differ, near 1 when customers sit tightly around distinct needs.

    Why a product: needs are diverse only when customers spread over several groups *and*
    those groups want different things. Many tiny differences inside one mass market give a
    low separation; one clear niche beside a mass market gives a low entropy. Featureless
    noise split by KMeans reaches a separation of about 0.1-0.2 (a unit test measures it),
    which is why the differentiation matrix draws its "high needs diversity" line at 0.25.
    """
    labels = np.asarray(labels)
    k = len(np.unique(labels))
    if k < 2:
        return 0.0, 0.0, 0.0
    sizes = np.bincount(pd.factorize(labels)[0]).astype(float)
    p = sizes / sizes.sum()
    entropy = float(-(p * np.log(p)).sum() / math.log(k))
    total = float(((Zw - Zw.mean(axis=0)) ** 2).sum())
    if total <= 0:
        return 0.0, entropy, 0.0
    within = 0.0
    for lab in np.unique(labels):
        m = labels == lab
        within += float(((Zw[m] - Zw[m].mean(axis=0)) ** 2).sum())
    separation = max(0.0, 1.0 - within / total)
    return entropy * separation, entropy, separation


_TRAITS = {
    "price_discount_share": ("deal seekers", "pays full price"),
    "price_discount_depth": ("deep-discount buyers", None),
    "price_return_share": ("frequent returners", None),
    "service_contacts_per_year": ("service-heavy", None),
    "recency_log_days": ("lapsing", "recently active"),
}
_CHANNEL_WORDS = {"web": "online", "store": "in store", "mail": "by mail order",
                  "sales_rep": "through a sales rep", "call_centre": "by phone"}


def name_segments(profile: pd.DataFrame, z_profile: pd.DataFrame,
                  overall: pd.Series) -> dict[int, str]:
    """A plain-language name per segment from its distinguishing features.

    The name reads "<categories> buyers, <channel>, <traits>": the one or two categories whose
    share of spend is highest relative to the average customer (lift >= 1.3), the channel
    used far more than average, and the behaviours at least 0.6 standard deviations from the
    average (deal seekers, frequent returners, service-heavy, lapsing ...).
    """
    names: dict[int, str] = {}
    for s in profile.index:
        row, z = profile.loc[s], z_profile.loc[s]
        parts = []
        cats = [c for c in profile.columns if c.startswith("cat_")]
        if cats:
            lift = (row[cats] / overall[cats].where(overall[cats] > 0)).dropna()
            lift = lift[lift >= 1.3].sort_values(ascending=False)
            top = [c[4:].replace("_", " ") for c in lift.index[:2]]
            parts.append((" & ".join(top).capitalize() + " buyers") if top else "Mixed baskets")
        else:
            parts.append("Customers")
        chans = [c for c in z_profile.columns if c.startswith("chan_")]
        if chans:
            zc = z[chans].sort_values(ascending=False)
            if len(zc) and zc.iloc[0] >= 0.6:
                ch = zc.index[0][5:]
                parts.append(_CHANNEL_WORDS.get(ch, f"via {ch.replace('_', ' ')}"))
        traits = []
        for col, (hi, lo) in _TRAITS.items():
            if col in z.index:
                if z[col] >= 0.6:
                    traits.append((z[col], hi))
                elif lo and z[col] <= -0.6:
                    traits.append((-z[col], lo))
        traits.sort(reverse=True)
        parts += [t for _, t in traits[:2]]
        names[int(s)] = ", ".join(parts)
    seen: dict[str, int] = {}
    for s in sorted(names):
        n = names[s]
        if n in seen:
            seen[n] += 1
            names[s] = f"{n} ({seen[n]})"
        else:
            seen[n] = 1
    return names


def segment_needs(
    features: pd.DataFrame,
    *,
    k_range: tuple[int, int] = (3, 8),
    method: str = "kmeans",
    group_weights: dict[str, float] | None = None,
    sample_size: int = 5000,
    random_state: int = 0,
) -> NeedsSegments:
    """Cluster customers on their behaviour features, choosing the number of segments.

    Parameters
    ----------
    features : pandas.DataFrame
        :func:`needs_features` output (one row per customer, numeric feature columns).
    k_range : (int, int)
        Smallest and largest number of segments to try (inclusive).
    method : {"kmeans", "gmm"}
        KMeans with k chosen by the silhouette, or a Gaussian mixture (diagonal covariances)
        with k chosen by the BIC; k is chosen on a random sample of ``sample_size``
        customers and the winner refitted on everybody.
    group_weights : dict, optional
        Total weight per feature group (see :data:`FEATURE_GROUPS`); missing groups take
        :data:`DEFAULT_GROUP_WEIGHTS`.
    random_state : int
        Seed: the same data and seed give the same segments.

    Returns
    -------
    NeedsSegments
    """
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score
    from sklearn.mixture import GaussianMixture

    if method not in ("kmeans", "gmm"):
        raise ValueError(f"method must be 'kmeans' or 'gmm'; found {method!r}")
    lo, hi = int(k_range[0]), int(k_range[1])
    if lo < 2 or hi < lo:
        raise ValueError(f"k_range must be (lo, hi) with 2 <= lo <= hi; found {k_range}")
    keep, Z, Zw, scaler = _design(features, group_weights)
    n = len(Zw)
    hi = min(hi, n - 1)
    if hi < lo:
        raise ValueError(f"segment_needs: {n} customers are too few for {lo} segments")
    rng = np.random.default_rng(random_state)
    sample = np.sort(rng.choice(n, size=min(n, sample_size), replace=False))
    Zs = Zw[sample]
    rows = []
    for k in range(lo, min(hi, len(sample) - 1) + 1):
        # k is chosen on a sample (the silhouette is O(n^2)); the winner is refitted on all
        if method == "kmeans":
            model = KMeans(n_clusters=k, n_init=2, random_state=random_state).fit(Zs)
            lab = model.labels_
            score = float(silhouette_score(Zs, lab)) if len(np.unique(lab)) > 1 else -1.0
            rows.append({"k": k, "silhouette": score})
        else:
            model = GaussianMixture(n_components=k, covariance_type="diag", n_init=2,
                                    random_state=random_state).fit(Zs)
            lab = model.predict(Zs)
            rows.append({"k": k, "bic": float(model.bic(Zs))})
        rows[-1]["diversity"] = needs_diversity(Zs, lab)[0]
    scores = pd.DataFrame(rows).set_index("k")
    best = int(scores["silhouette"].idxmax()) if method == "kmeans" else int(scores["bic"].idxmin())
    scores["chosen"] = scores.index == best
    if method == "kmeans":
        model = KMeans(n_clusters=best, n_init=3, random_state=random_state).fit(Zw)
        raw = model.labels_
    else:
        model = GaussianMixture(n_components=best, covariance_type="diag", n_init=2,
                                random_state=random_state).fit(Zw)
        raw = model.predict(Zw)
    # number segments by size, largest first
    order = pd.Series(raw).value_counts().index.tolist()
    remap = {old: new for new, old in enumerate(order)}
    lab = np.array([remap[x] for x in raw])
    labels = pd.Series(lab, index=features.index, name=C.SEGMENT)
    diversity, entropy, separation = needs_diversity(Zw, lab)
    prof = features.groupby(lab).mean()
    prof.insert(0, "share", pd.Series(lab).value_counts(normalize=True).sort_index())
    prof.insert(0, "size", pd.Series(lab).value_counts().sort_index())
    prof.index.name = C.SEGMENT
    zdf = pd.DataFrame(Z, columns=keep, index=features.index).groupby(lab).mean()
    zdf.index.name = C.SEGMENT
    names = name_segments(prof, zdf, features.mean())
    return NeedsSegments(labels=labels, k=best, scores=scores, profile=prof, z_profile=zdf,
                         names=names, diversity=diversity, entropy=entropy,
                         separation=separation, method=method, model=model, scaler=scaler)
