"""``onetoone run customize CONFIG``: recommendations chosen by evidence, configurator, catalog
editions, messages.

Reads ``transactions`` (with the resolved ``customer_id`` when Identify has run), ``products``,
``components``, ``component_rules``, ``saved_configurations`` and, when present,
Differentiate's ``customer_value``. Writes, in one stage run:

- ``recommendation_evaluation``: every candidate recommender's validation and holdout
  precision@k, recall@k, coverage, lift over popularity with its bootstrap interval, and which
  one was chosen (:mod:`.select`);
- ``recommendations``: top-k per customer from the chosen model, refitted on every purchase
  up to ``as_of``, under the same repeat rule as the evaluation (:mod:`.repeats`), each with
  its reason;
- ``configurations``: created empty when absent, never overwritten (append-only history);
- ``configurator_variety``: modules, options, combinations and valid products per product;
- ``catalog_editions`` and ``edition_coverage``: ranked lists per region x needs segment and
  the coverage curve by number of editions;
- ``tailored_messages``: product, packaging, delivery and service message per customer.

No recommendation figure from absent data: without transactions, or with fewer distinct
products than ``customize.min_products``, there are no recommendations and no metrics, and
the stage says so in one sentence.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pandas as pd

from .. import columns as C
from ..config import ClientConfig
from ..customers import with_customer_id
from ..workspace import Workspace
from .catalog import build_editions, coverage_curve, edition_recommendation, grouping_coverage
from .configurator import (
    CONFIGURATIONS,
    Configurator,
    configuration_history,
    configuration_summary,
    empty_history,
)
from .engine import EnginePairs, score_in_engine, score_on_spark
from .messages import tailored_messages
from .profile import customer_profile
from .recommend import build_matrix
from .repeats import RepeatRule, repeat_rule
from .select import (
    POPULARITY_MODELS,
    Selection,
    Windows,
    choose_model,
    describe_evaluated,
    evaluated_customers,
    make_candidates,
    time_windows,
)

__all__ = ["EditionRun", "RecommendationRun", "configurator_for_client", "describe_configurations",
           "describe_profile", "editions_for_client", "ensure_configurations", "holdout_months",
           "load_profile", "pick_customer", "read_optional", "recommend_for_client", "run",
           "write_results"]

ENGINE_SCORED = ("popularity", "segment popularity", "item-knn", "ease")
"""Candidates production fits from the engine's co-occurrence counts. The popularity lists
are ranked in the engine (:func:`.engine.score_in_engine`); item-knn and EASE are scored by
their numpy code, on Spark's executors (:func:`.engine.score_on_spark`, the pairs never
fetched) or on DuckDB's driver with the fetched pairs."""

RECOMMENDATION_COLUMNS = [C.CUSTOMER_ID, "rank", C.PRODUCT_ID, "score", "reason",
                          C.REASON_PRODUCT_ID]


def holdout_months(cfg: ClientConfig) -> int:
    """Months held out for evaluation: the CLV holdout of the client config (6 when it is 0)."""
    return int(cfg.clv.holdout_months) or 6


@dataclass
class RecommendationRun:
    """Everything the recommendation part of Customize produced for one client.

    ``status`` is ``ok``, ``no_transactions``, ``small_catalogue`` or ``not_evaluated``
    (too little history for a validation and a holdout window: popularity within segment is
    used and no metric is shown); ``message`` says it in one plain sentence.
    """

    status: str
    message: str
    n_products: int = 0
    windows: Windows | None = None
    rule: RepeatRule | None = None
    selection: Selection | None = None
    chosen: str | None = None
    recommendations: pd.DataFrame | None = None
    model: object = None
    pairs: object = None  # the purchase pairs up to as_of, an Ibis expression (not fetched)
    notes: list = field(default_factory=list)

    @property
    def evaluated(self) -> bool:
        return self.selection is not None

    def evaluation_table(self) -> pd.DataFrame | None:
        """The ``recommendation_evaluation`` table (None when nothing was evaluated)."""
        if self.selection is None:
            return None
        s, w = self.selection, self.windows
        return s.table.assign(baseline=s.baseline, holdout_customers=s.who_holdout["n"],
                              holdout_share=s.who_holdout["share"],
                              validation_customers=s.who_validation["n"],
                              validation_start=w.validation_start, cutoff=w.cutoff,
                              personalisation_pays=s.personalisation_pays)

    def figures(self) -> dict:
        """Headline figures for the key-figures record (only those that were measured)."""
        out: dict = {"recommendation_status": self.status, "catalogue_products": self.n_products}
        if self.recommendations is not None:
            out.update(recommended_customers=int(self.recommendations[C.CUSTOMER_ID].nunique()),
                       recommendation_rows=len(self.recommendations), chosen_model=self.chosen)
        if self.selection is not None:
            s = self.selection
            k = s.k
            t = s.table.set_index("model")
            c = self.chosen
            out.update(
                holdout_customers=int(s.who_holdout["n"]),
                holdout_customer_share=round(float(s.who_holdout["share"]), 4),
                validation_customers=int(s.who_validation["n"]),
                baseline_model=s.baseline,
                precision_at_10=round(float(t.at[c, f"holdout_precision_at_{k}"]), 4),
                recall_at_10=round(float(t.at[c, f"holdout_recall_at_{k}"]), 4),
                coverage=round(float(t.at[c, "holdout_coverage"]), 4),
                popularity_precision_at_10=round(float(t.at["popularity",
                                                            f"holdout_precision_at_{k}"]), 4),
                popularity_recall_at_10=round(float(t.at["popularity",
                                                         f"holdout_recall_at_{k}"]), 4),
                popularity_coverage=round(float(t.at["popularity", "holdout_coverage"]), 4),
                best_holdout_model=str(t[f"holdout_precision_at_{k}"].idxmax()),
                best_holdout_precision_at_10=round(float(t[f"holdout_precision_at_{k}"].max()),
                                                   4),
                lift_over_baseline=round(s.holdout_lift[0], 4),
                lift_low=round(s.holdout_lift[1], 4), lift_high=round(s.holdout_lift[2], 4),
                personalisation_pays=bool(s.personalisation_pays))
            out["consumable_categories"] = int(self.rule.table["consumable"].sum())
        return out


def _segments(profile: pd.DataFrame | None) -> tuple[dict, dict]:
    if profile is None or C.SEGMENT not in profile:
        return {}, {}
    seg = dict(zip(profile[C.CUSTOMER_ID].astype(str), profile[C.SEGMENT]))
    names = (dict(zip(profile[C.SEGMENT], profile[C.SEGMENT_NAME]))
             if C.SEGMENT_NAME in profile else {})
    return seg, names


def recommend_for_client(ws: Workspace, cfg: ClientConfig, profile: pd.DataFrame | None = None,
                         *, months: int | None = None, k: int | None = None,
                         candidates=None, keep_recs: bool = False) -> RecommendationRun:
    """Choose the recommender on this client's data, measure it, and recommend to everyone.

    Parameters
    ----------
    profile : DataFrame, optional
        From :func:`.profile.customer_profile` (segments for popularity within segment).
    months, k : int, optional
        Holdout months (default :func:`holdout_months`) and list length (``customize.top_k``).
    candidates : list of str, optional
        Defaults to ``customize.candidates`` of the config.
    """
    cz = cfg.customize
    k = k or cz.top_k
    if not ws.has("transactions"):
        return RecommendationRun("no_transactions", "No transactions: recommendations need "
                                 "purchase history (ingest a transactions export); none are "
                                 "written and no recommendation metric is shown.")
    months = months or holdout_months(cfg)
    products = ws.read("products") if ws.has("products") else None
    t = with_customer_id(ws, "transactions")
    w = time_windows(t, cfg.as_of, months, cz.validation_months or None)
    pairs = w.pairs  # an Ibis expression: production never fetches the pairs
    n_products = (int(products[C.PRODUCT_ID].nunique()) if products is not None
                  else int(pairs[C.PRODUCT_ID].nunique().execute()))
    if n_products < cz.min_products or not int(pairs.count().execute()):
        where = "in the product table" if products is not None else "bought"
        return RecommendationRun(
            "small_catalogue", f"Only {n_products} distinct product{'s' * (n_products != 1)} "
            f"{where}: recommendations need a catalogue of at least {cz.min_products} "
            "(customize.min_products); none are written and no recommendation metric is shown.",
            n_products=n_products, pairs=pairs)
    universe = products[C.PRODUCT_ID].astype(str) if products is not None else None
    # with nothing before the holdout, the pairs up to as_of are the holdout's
    rule = repeat_rule(w.fit_holdout if len(w.fit_holdout) else w.holdout, products,
                       mode=cz.repeat,
                       threshold=cz.repeat_threshold, categories=cz.repeat_categories)
    seg, names = _segments(profile)
    makers = make_candidates(candidates or cz.candidates, segment_of=seg, segment_names=names,
                             ease_lambda=cz.ease_lambda, ease_max_products=cz.ease_max_products)
    fallback = "segment popularity" if "segment popularity" in makers else "popularity"
    if fallback not in makers:
        makers[fallback] = make_candidates([fallback], segment_of=seg,
                                           segment_names=names)[fallback]
    who_v = evaluated_customers(w.fit_validation, w.validation)
    who_h = evaluated_customers(w.fit_holdout, w.holdout)
    run = RecommendationRun("ok", "", n_products=n_products, windows=w, rule=rule, pairs=pairs)
    if who_v["n"] < 2 or who_h["n"] < 2:
        run.status = "not_evaluated"
        run.message = (f"Too little history for a validation window and a {months}-month "
                       f"holdout ({who_v['n']:,} and {who_h['n']:,} customers bought both before "
                       f"and in them): no recommendation metric is shown, and {fallback} is "
                       "used, which needs no evidence of taste.")
        run.chosen = fallback
    else:
        sel = choose_model(w, makers, rule, products=universe, k=k,
                           n_resamples=cz.bootstrap_resamples, keep_recs=keep_recs)
        run.selection, run.chosen = sel, sel.chosen
        run.message = sel.statement
        run.notes.append(describe_evaluated(sel.who_holdout))
    prod_names = (products.set_index(products[C.PRODUCT_ID].astype(str))[C.NAME].astype(str)
                  .to_dict() if products is not None and C.NAME in products else None)
    model = makers[run.chosen]()
    if run.chosen in ENGINE_SCORED:  # fitted from the engine's counts
        source = EnginePairs(pairs, universe)
        if run.chosen in POPULARITY_MODELS:  # ranked in the engine: the top-k rows come back
            model.fit(None, repeat_products=rule.repeat_products, engine=source)
            recs = score_in_engine(model, source, k)
        elif ws.engine == "spark":  # scored by the same numpy code on the executors
            model.fit(None, repeat_products=rule.repeat_products, engine=source)
            recs = score_on_spark(model, ws, source, k, product_names=prod_names)
        else:
            # DuckDB, item-knn / EASE: scored in numpy on the fetched pairs (ranking every
            # customer x product in SQL measured 3.5x slower and 15x the memory on the sample;
            # see the module docstring of .engine)
            matrix = build_matrix(w.fetch_all(), products=universe)
            model.fit(matrix, repeat_products=rule.repeat_products, engine=source)
            recs = model.recommend(k=k, product_names=prod_names)
    else:  # matrix factorisation (ALS, BPR) fits on the fetched pairs
        matrix = build_matrix(w.fetch_all(), products=universe)
        model.fit(matrix, repeat_products=rule.repeat_products)
        recs = model.recommend(k=k, product_names=prod_names)
    run.model, run.recommendations = model, recs[RECOMMENDATION_COLUMNS]
    if not len(recs):
        run.notes.append("The chosen model found nothing to suggest: every customer owns every "
                         "product the repeat rule keeps out.")
    return run


def read_optional(ws: Workspace, name: str) -> pd.DataFrame | None:
    """A workspace table, or None when the client has not delivered it."""
    return ws.read(name) if ws.has(name) else None


def load_profile(ws: Workspace, cfg: ClientConfig) -> pd.DataFrame | None:
    """:func:`.profile.customer_profile` with the config's tier thresholds (None without
    transactions: there is nobody with a purchase to profile)."""
    if not ws.has("transactions"):
        return None
    return customer_profile(ws, cfg=cfg)


def describe_profile(profile: pd.DataFrame | None) -> str:
    """What the profile rests on, in plain sentences."""
    if profile is None:
        return ("No transactions: nobody has a purchase to profile; recommendations, editions "
                "and messages need purchase history.")
    lines = [(f"{len(profile):,} customers with purchases; sources: "
             f"{', '.join(profile.attrs['sources']) or 'transactions only'}")]
    lines += ["fallback: " + m for m in profile.attrs["missing"]] or ["no fallbacks needed"]
    return "\n".join(lines)


@dataclass
class EditionRun:
    """Catalog editions of one client: lists, coverage curve, groupings and the advice."""

    editions: object = None
    curve: pd.DataFrame | None = None
    groupings: pd.DataFrame | None = None
    advice: dict | None = None
    message: str = ""


def editions_for_client(rec: RecommendationRun, profile: pd.DataFrame | None, *,
                        size: int = 50) -> EditionRun:
    """Editions built before the holdout, coverage measured in it, the knee recommended."""
    if rec.windows is None or profile is None:
        return EditionRun(message="No catalog editions: they need purchase history and a "
                                  "catalogue of products (see above).")
    w = rec.windows
    if not len(w.fit_holdout) or not len(w.holdout):
        return EditionRun(message="No catalog editions: there are no purchases both before and "
                                  "in the holdout to build and test them on.")
    ed = build_editions(w.fit_holdout, profile, size=size)
    curve = coverage_curve(ed, w.holdout, profile)
    groupings = grouping_coverage(w.fit_holdout, w.holdout, profile, size=size)
    adv = edition_recommendation(curve, groupings)
    return EditionRun(ed, curve, groupings, adv, adv["statement"])


def configurator_for_client(ws: Workspace) -> tuple[Configurator | None, str]:
    """The configurator of the client's products, or None with the sentence why not."""
    if not (ws.has("products") and ws.has("components")):
        return None, ("No configurator: it needs the products and components exports "
                      "(modules and options of configurable products).")
    conf = Configurator(ws.read("products"), ws.read("components"),
                        read_optional(ws, "component_rules"))
    if not conf.configurable_products():
        return None, "No configurator: no product in the components export is in the catalogue."
    return conf, ""


def describe_configurations(summary: dict) -> str:
    """How many customers have a configuration remembered and how often they re-order it."""
    if not summary["configurations"]:
        return ("No configuration remembered yet: the client exported none "
                "(saved_configurations) and none was saved in the workbook; proposals start "
                "from the standard configuration.")
    text = (f"{summary['configurations']:,} configurations remembered for "
            f"{summary['customers']:,} customers.")
    if summary["ordered_customers"]:
        text += (f" Of the {summary['ordered_customers']:,} who ordered one, "
                 f"{summary['reorder_customers']:,} ({summary['reorder_share']:.0%}) ordered the "
                 f"same configuration again; an ordered configuration was ordered "
                 f"{summary['orders_per_configuration']:.2f} times on average.")
    return text


def pick_customer(profile: pd.DataFrame | None, recs: pd.DataFrame | None,
                  history: pd.DataFrame | None = None) -> str | None:
    """A customer to show: the highest-revenue MVC with suggestions and, when there is one, a
    remembered configuration (so the configurator proposes from it)."""
    if profile is None or recs is None or not len(recs):
        return None
    p = profile[profile[C.CUSTOMER_ID].astype(str).isin(set(recs[C.CUSTOMER_ID].astype(str)))]
    if history is not None and len(history):
        with_conf = p[p[C.CUSTOMER_ID].astype(str).isin(set(history[C.CUSTOMER_ID].astype(str)))]
        p = with_conf if len(with_conf) else p
    if not len(p):
        return None
    order = p.assign(_mvc=p[C.TIER] == "MVC").sort_values(["_mvc", C.REVENUE],
                                                        ascending=[False, False])
    return str(order[C.CUSTOMER_ID].iloc[0])


def ensure_configurations(ws: Workspace) -> int:
    """Create the empty ``configurations`` history when absent; return its row count."""
    if not ws.has(CONFIGURATIONS):
        ws.write(CONFIGURATIONS, empty_history())
    return ws.count(CONFIGURATIONS)


def write_results(ws: Workspace, **tables: pd.DataFrame | None) -> list[str]:
    """Write the stage's tables in one ledgered stage run; None skips a table."""
    written = []
    with ws.stage_run("customize"):
        for name, df in tables.items():
            if df is not None:
                ws.write(name, df)
                written.append(name)
        ensure_configurations(ws)
    return written


def run(cfg: ClientConfig, ws: Workspace, echo: bool = True) -> dict:
    """Run the Customize stage on a workspace; return its headline figures.

    Every table it writes commits in one transaction, recorded in the run ledger
    (:meth:`~onetoone.workspace.Workspace.stage_run`)."""
    with ws.stage_run("customize"):
        return _run(cfg, ws, echo)


def _run(cfg: ClientConfig, ws: Workspace, echo: bool = True) -> dict:
    say = print if echo else (lambda *a, **k: None)
    t0 = time.perf_counter()
    out: dict = {}
    missing = [n for n in ("transactions", "products", "components", "component_rules",
                           "customer_value") if not ws.has(n)]
    if missing:
        say(f"missing tables: {', '.join(missing)}")
    products = ws.read("products") if ws.has("products") else None
    tables: dict = {}
    profile = load_profile(ws, cfg)
    if profile is not None:
        for m_ in profile.attrs["missing"]:
            say(f"fallback: {m_}")
        out["segments_from"] = ("customer_value" if "customer_value" in profile.attrs["sources"]
                                else "fallback (one segment, tiers by revenue rank)")
    rec = recommend_for_client(ws, cfg, profile)
    say(rec.message)
    for n in rec.notes:
        say(n)
    out.update(rec.figures())
    if rec.rule is not None:
        say(rec.rule.describe())
    tables["recommendation_evaluation"] = rec.evaluation_table()
    tables["recommendations"] = rec.recommendations
    eds = editions_for_client(rec, profile)
    say(eds.message)
    if eds.advice is not None:
        adv = eds.advice
        tables["catalog_editions"], tables["edition_coverage"] = eds.editions.lists, eds.curve
        out.update(editions_possible=int(eds.editions.lists["edition"].nunique()),
                   editions_recommended=adv["editions"],
                   coverage_recommended=round(adv["coverage"], 4),
                   coverage_national=round(adv["national"], 4),
                   coverage_all_editions=round(adv["all_editions"], 4),
                   editions_used=adv["max_editions"])
        for key in ("by_segment", "by_region"):
            if key in adv:
                out[f"editions_{key}"] = adv[key][0]
                out[f"coverage_{key}"] = round(adv[key][1], 4)
    if profile is not None:
        msgs = tailored_messages(profile, rec.recommendations, products, rec.pairs)
        tables["tailored_messages"] = msgs
        out["messages"] = len(msgs)
    conf, why = configurator_for_client(ws)
    if conf is None:
        say(why)
    else:
        var = conf.variety()
        bad = conf.conflicts()
        if len(bad):
            say(f"{len(bad)} option(s) can never be chosen: they both require and exclude "
                f"another option ({', '.join(bad[C.OPTION_ID].astype(str).head(5))}"
                f"{', ...' if len(bad) > 5 else ''}); fix the component rules")
        out["configurator_rule_conflicts"] = len(bad)
        tables["configurator_variety"] = var
        out.update(configurable_products=len(var), configurator_modules=int(var["modules"].sum()),
                   configurator_options=int(var["options"].sum()),
                   configurator_valid_products=int(var["valid"].sum()))
    write_results(ws, **tables)
    hist = configuration_history(ws)
    cs = configuration_summary(hist)
    out.update(configurations_saved=cs["configurations"],
               customers_with_configuration=cs["customers"],
               configuration_reorder_customers=cs["reorder_customers"],
               configuration_reorder_share=(round(cs["reorder_share"], 4)
                                            if cs["ordered_customers"] else None))
    say(describe_configurations(cs))
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out

