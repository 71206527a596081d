"""Tailored messages per tier and needs segment: product, packaging, delivery, service.

Each tier gets its own treatment (the most valuable a named contact and express delivery;
below-zero customers the self-service channel); the text is filled from what is known about
the customer: first name, region, the needs segment, their favourite subject and their top
recommendation with its reason. Missing facts leave a neutral wording, never a blank.
"""

from __future__ import annotations

import ibis
import pandas as pd

from .. import columns as C

__all__ = ["TREATMENTS", "tailored_messages"]

TREATMENTS: dict[str, dict[str, str]] = {
    "MVC": {
        "product": "{greeting}, we set aside {top_product} for you, {reason}.",
        "packaging": "Gift-ready premium packaging with a handwritten note, at no charge.",
        "delivery": "Free next-day delivery anywhere in {region}, at a time you choose.",
        "service": "Your personal customer manager calls to check everything suits you.",
    },
    "MGC": {
        "product": "{greeting}, as a {segment} customer who loves {subject}: {top_product}, "
                   "{reason}.",
        "packaging": "Standard packaging; add gift wrap for free on your next order.",
        "delivery": "Free delivery in {region} on orders over the usual threshold.",
        "service": "Tell us what you are planning next and we will suggest the rest.",
    },
    "maintain": {
        "product": "{greeting}, new in {subject}: {top_product}, {reason}.",
        "packaging": "Standard recyclable packaging.",
        "delivery": "Standard delivery in {region}, or collect in store.",
        "service": "Your order history and saved configurations are in your online account.",
    },
    "BZ": {
        "product": "{greeting}, {top_product} is available online, {reason}.",
        "packaging": "Minimal packaging.",
        "delivery": "Click and collect, or standard delivery at the usual rate.",
        "service": "Help, returns and tracking are online, any time.",
    },
}
"""Message templates per tier and part (placeholders are filled per customer)."""


def tailored_messages(profile: pd.DataFrame, recommendations: pd.DataFrame | None = None,
                      products: pd.DataFrame | None = None, pairs: pd.DataFrame | None = None,
                      *, treatments: dict | None = None, customer_id: str = C.CUSTOMER_ID,
                      product_id: str = C.PRODUCT_ID) -> pd.DataFrame:
    """One message per customer in ``profile`` (product, packaging, delivery, service).

    Parameters
    ----------
    profile : DataFrame
        From :func:`onetoone.customize.profile.customer_profile` (tier, segment_name, region,
        first_name).
    recommendations : DataFrame, optional
        ``customer_id, rank, product_id, reason``; the rank-1 product is offered.
    products : DataFrame, optional
        Names and subjects of products.
    pairs : DataFrame or ibis.Table, optional
        Purchase pairs (``customer_id, product_id, orders``) to find the favourite subject;
        an Ibis table is counted in its engine and only one row per customer is fetched.

    Returns
    -------
    DataFrame
        ``customer_id, tier, segment_name, product, packaging, delivery, service``.
    """
    treatments = treatments or TREATMENTS
    df = profile[[customer_id, C.TIER, C.SEGMENT_NAME, C.REGION, C.FIRST_NAME]].copy()
    df[customer_id] = df[customer_id].astype(str)
    names = (products.set_index(product_id)[C.NAME].astype(str).to_dict()
             if products is not None and C.NAME in products else {})
    if recommendations is not None and len(recommendations):
        top = recommendations[recommendations["rank"] == 1][[customer_id, product_id, "reason"]]
        top = top.assign(**{customer_id: top[customer_id].astype(str)})
        df = df.merge(top, on=customer_id, how="left")
    else:
        df[product_id] = None
        df["reason"] = None
    df["subject_fav"] = None
    if pairs is not None and products is not None and C.SUBJECT in products:
        fav = (_favourite_subject_engine(pairs, products, customer_id, product_id)
               if isinstance(pairs, ibis.Table) else
               _favourite_subject(pairs, products, customer_id, product_id))
        fav.index = fav.index.astype(str)
        df["subject_fav"] = df[customer_id].map(fav)
    out = []
    for row in df.itertuples(index=False):
        r = row._asdict()
        tier = r[C.TIER] if r[C.TIER] in treatments else "maintain"
        first = r.get(C.FIRST_NAME)
        pid = r.get(product_id)
        facts = {
            "greeting": f"Dear {first}" if isinstance(first, str) and first else "Hello",
            "region": r[C.REGION] if isinstance(r[C.REGION], str) and r[C.REGION] != "(unknown)"
            else "your area",
            C.SEGMENT: r[C.SEGMENT_NAME] or "valued",
            "subject": (r["subject_fav"].replace("_", " ") if isinstance(r["subject_fav"], str)
                        else "our range"),
            "top_product": names.get(pid, pid) if isinstance(pid, str) else "our new range",
            "reason": r["reason"] if isinstance(r.get("reason"), str) else "picked for you",
        }
        msg = {part: text.format(**facts) for part, text in treatments[tier].items()}
        out.append({customer_id: r[customer_id], C.TIER: r[C.TIER],
                    C.SEGMENT_NAME: r[C.SEGMENT_NAME], **msg})
    return pd.DataFrame(out, columns=[customer_id, C.TIER, C.SEGMENT_NAME, "product",
                                      "packaging", "delivery", "service"])


def _favourite_subject(pairs: pd.DataFrame, products: pd.DataFrame, customer_id: str,
                       product_id: str) -> pd.Series:
    """customer -> the subject of most orders (ties: the first subject by name)."""
    p = pairs[[customer_id, product_id, C.ORDERS]].merge(
        products[[product_id, C.SUBJECT]], on=product_id)
    return (p.groupby([customer_id, C.SUBJECT])[C.ORDERS].sum().reset_index()
            .sort_values([customer_id, C.ORDERS, C.SUBJECT], ascending=[True, False, True])
            .drop_duplicates(customer_id).set_index(customer_id)[C.SUBJECT])


def _favourite_subject_engine(pairs: ibis.Table, products: pd.DataFrame, customer_id: str,
                              product_id: str) -> pd.Series:
    """:func:`_favourite_subject` counted in the engine (the product subjects as a memtable,
    the ranking by a window); one row per customer comes back."""
    subj = products[[product_id, C.SUBJECT]].dropna(subset=[C.SUBJECT])
    st = ibis.memtable(pd.DataFrame({product_id: subj[product_id].astype(str).to_numpy(),
                                     C.SUBJECT: subj[C.SUBJECT].astype(str).to_numpy()}))
    p = pairs.select(pairs[customer_id].cast("string").name(customer_id),
                     pairs[product_id].cast("string").name(product_id), pairs[C.ORDERS])
    j = p.join(st, product_id)
    g = j.group_by([customer_id, C.SUBJECT]).aggregate(n=j[C.ORDERS].sum())
    r = ibis.row_number().over(group_by=g[customer_id], order_by=[g.n.desc(), g[C.SUBJECT]])
    top = g.mutate(r=r).filter(ibis._.r == 0).to_pandas()
    return top.set_index(customer_id)[C.SUBJECT]
