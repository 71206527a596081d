"""``onetoone run customize CONFIG``: recommendations, configurator, catalog editions, messages.

Reads ``transactions`` (with the resolved ``customer_id`` when Identify has run), ``products``,
``components``, ``component_rules`` and, when present, Differentiate's ``customer_value``.
Writes:

- ``recommendations``: top-k per customer (customer_id, rank, product_id, score, reason,
  reason_product_id), fitted on every purchase up to ``as_of``;
- ``recommendation_evaluation``: precision@10, recall@10, coverage of item-item and the
  popularity baseline on the time-based holdout (last ``cfg.clv.holdout_months`` months);
- ``configurations``: created empty when absent, never overwritten (append-only history);
- ``configurator_variety``: modules, options, combinations and valid products per product;
- ``catalog_editions`` and ``edition_coverage``: ranked lists per region x needs segment and
  the coverage curve by number of editions;
- ``tailored_messages``: product, packaging, delivery and service message per customer.
"""

from __future__ import annotations

import time

import pandas as pd

from .. import columns as C
from ..config import ClientConfig
from ..customers import with_customer_id
from ..workspace import Workspace
from .catalog import build_editions, coverage_curve
from .configurator import CONFIGURATIONS, Configurator, empty_history
from .evaluate import evaluate_holdout, time_split
from .messages import tailored_messages
from .profile import customer_profile
from .recommend import ItemKNN, build_matrix, purchase_pairs, repeat_categories

__all__ = ["ensure_configurations", "fit_and_recommend", "holdout_months", "run"]

RECOMMENDATION_COLUMNS = [C.CUSTOMER_ID, "rank", C.PRODUCT_ID, "score", "reason",
                          "reason_product_id"]


def holdout_months(cfg: ClientConfig) -> int:
    """Months held out for evaluation: the CLV holdout of the client config (6 when it is 0)."""
    return int(cfg.clv.holdout_months) or 6


def fit_and_recommend(ws: Workspace, cfg: ClientConfig, *, k: int = 10,
                      repeat_threshold: float = 0.25, model: ItemKNN | None = None
                      ) -> tuple[pd.DataFrame, ItemKNN, pd.DataFrame]:
    """Fit item-item on every purchase up to ``as_of`` and recommend top-``k`` to everyone.

    Returns ``(recommendations, fitted model, purchase pairs)``.
    """
    end = pd.Timestamp(cfg.as_of) + pd.Timedelta(days=1)
    pairs = purchase_pairs(with_customer_id(ws, "transactions"), end=end).to_pandas()
    products = ws.read("products") if ws.has("products") else None
    universe = products[C.PRODUCT_ID] if products is not None else None
    matrix = build_matrix(pairs, products=universe)
    rep = repeat_categories(pairs, products, threshold=repeat_threshold)
    repeat_products = None
    if products is not None and rep["consumable"].any():
        cats = set(rep.loc[rep["consumable"], C.CATEGORY])
        repeat_products = products.loc[products[C.CATEGORY].isin(cats), C.PRODUCT_ID].tolist()
    model = (model or ItemKNN()).fit(matrix, repeat_products=repeat_products)
    names = (products.set_index(C.PRODUCT_ID)[C.NAME].astype(str).to_dict()
             if products is not None and C.NAME in products else None)
    recs = model.recommend(k=k, product_names=names)
    return recs[RECOMMENDATION_COLUMNS], model, pairs


def ensure_configurations(ws: Workspace) -> int:
    """Create the empty ``configurations`` history when absent; return its row count."""
    if not ws.has(CONFIGURATIONS):
        ws.write(CONFIGURATIONS, empty_history())
    return ws.count(CONFIGURATIONS)


def run(cfg: ClientConfig, ws: Workspace, echo: bool = True) -> dict:
    """Run the Customize stage on a workspace; return its headline figures."""
    say = print if echo else (lambda *a, **k: None)
    t0 = time.perf_counter()
    out: dict = {}
    if not ws.has("transactions"):
        say("no transactions: recommendations, editions and messages need purchase history "
            "(ingest a transactions export); only the configurator runs")
    missing = [n for n in ("products", "components", "component_rules", "customer_value")
               if not ws.has(n)]
    if missing:
        say(f"missing tables: {', '.join(missing)}")
    products = ws.read("products") if ws.has("products") else None

    if ws.has("transactions"):
        months = holdout_months(cfg)
        split = time_split(with_customer_id(ws, "transactions"), cfg.as_of, months)
        ev = evaluate_holdout(split, products)
        ws.write("recommendation_evaluation", ev["metrics"].assign(holdout_months=months,
                                                                   cutoff=split.cutoff))
        m = ev["metrics"].set_index("model")
        out.update(holdout_months=months, holdout_customers=ev["customers"],
                   precision_at_10=round(float(m.at["item-item", "precision_at_10"]), 4),
                   popularity_precision_at_10=round(float(m.at["popularity", "precision_at_10"]), 4),
                   recall_at_10=round(float(m.at["item-item", "recall_at_10"]), 4),
                   popularity_recall_at_10=round(float(m.at["popularity", "recall_at_10"]), 4),
                   coverage=round(float(m.at["item-item", "coverage"]), 4),
                   popularity_coverage=round(float(m.at["popularity", "coverage"]), 4),
                   consumable_categories=int(ev["repeat"]["consumable"].sum()))
        pop = out["popularity_precision_at_10"]
        out["lift_over_popularity"] = round(out["precision_at_10"] / pop, 2) if pop else None
        say(f"holdout ({months} months, {ev['customers']:,} customers): precision@10 "
            f"{out['precision_at_10']:.4f} vs popularity {pop:.4f}")

        recs, _, pairs = fit_and_recommend(ws, cfg)
        ws.write("recommendations", recs)
        out.update(recommended_customers=int(recs[C.CUSTOMER_ID].nunique()),
                   recommendation_rows=len(recs))

        profile = customer_profile(ws, mvc_share=cfg.tiers.mvc_share,
                                   bz_max_contribution=cfg.tiers.bz_max_contribution)
        for m_ in profile.attrs["missing"]:
            say(f"fallback: {m_}")
        out["segments_from"] = ("customer_value" if "customer_value" in profile.attrs["sources"]
                                else "fallback (one segment, tiers by revenue rank)")
        ed = build_editions(split.train, profile)
        curve = coverage_curve(ed, split.test, profile)
        ws.write("catalog_editions", ed.lists)
        ws.write("edition_coverage", curve)
        out.update(editions_possible=int(ed.lists["edition"].nunique()),
                   coverage_national=round(float(curve["coverage"].iloc[0]), 4),
                   coverage_all_editions=round(float(curve["coverage"].iloc[-1]), 4),
                   editions_used=int(curve["editions"].iloc[-1]))
        msgs = tailored_messages(profile, recs, products, pairs)
        ws.write("tailored_messages", msgs)
        out["messages"] = len(msgs)

    if ws.has("products") and ws.has("components"):
        conf = Configurator(products, ws.read("components"),
                            ws.read("component_rules") if ws.has("component_rules") else None)
        var = conf.variety()
        bad = conf.conflicts()
        if len(bad):
            say(f"{len(bad)} option(s) can never be chosen: they both require and exclude "
                f"another option ({', '.join(bad[C.OPTION_ID].astype(str).head(5))}"
                f"{', ...' if len(bad) > 5 else ''}); fix the component rules")
        out["configurator_rule_conflicts"] = len(bad)
        ws.write("configurator_variety", var)
        out.update(configurable_products=len(var), configurator_modules=int(var["modules"].sum()),
                   configurator_options=int(var["options"].sum()),
                   configurator_valid_products=int(var["valid"].sum()))
    out["configurations_saved"] = ensure_configurations(ws)
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out
