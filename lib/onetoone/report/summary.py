"""What the index says about each stage: a plain sentence and three or four headline numbers.

Everything comes from the figures the notebooks recorded (:func:`onetoone.nb.record`) and read
back by the batch; a stage whose notebook did not run, failed, or did not record a figure says
so instead of showing a number. Figures are looked up by name with alternatives, because the
stages name them (and change them) on their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import columns as C
from ..ui import format as F

STAGES = (
    # notebook stem, recorded stage name, title, what it answers
    ("01_identify", "identify", "Identify", "Who the customers are, across every source"),
    ("02_differentiate", "differentiate", "Differentiate", "Who is worth what, and the picket fence"),
    ("03_interact", "interact", "Interact", "The lists to act on and the contact plan"),
    ("04_customize", "customize", "Customize", "What each customer is offered"),
    ("readiness_results", "readiness", "Readiness", "How ready the company is"),
)
TITLES = {stem: title for stem, _, title, _ in STAGES}


@dataclass
class StageSummary:
    stem: str
    title: str
    question: str
    href: str | None = None
    status: str = "absent"  # ok | failed | absent
    sentence: str = ""
    numbers: list[tuple[str, str]] = field(default_factory=list)
    error: str | None = None
    seconds: float | None = None


def _get(f: dict, *names, default=None):
    for n in names:
        if n in f and f[n] is not None and f[n] != "":
            return f[n]
    return default


def _n(v) -> str:
    return F.number(v)


def _sentence(parts: list[str], empty: str) -> str:
    """Clauses joined into one sentence: first letter upper case, the rest as written."""
    text = "; ".join(p for p in parts if p)
    return (text[:1].upper() + text[1:] + ".") if text else empty


def _identify(f: dict) -> tuple[str, list]:
    recs, cust = _get(f, "records"), _get(f, "customers")
    tx, it = _get(f, "transactions_recognised"), _get(f, "interactions_recognised")
    review = _get(f, "pairs_for_review")
    parts = []
    if recs is not None and cust is not None:
        parts.append(f"{_n(recs)} customer records from the client's systems resolve to "
                     f"{_n(cust)} distinct customers")
    elif cust is not None:
        parts.append(f"{_n(cust)} customers identified")
    if tx is not None:
        parts.append(f"{F.percent(tx, 0)} of purchases are tied to a known customer")
    sentence = "; ".join(parts) + "." if parts else "Identify recorded no headline figures."
    nums = [("customers identified", _n(cust)) if cust is not None else None,
            ("purchases recognised (tied to a customer)", F.percent(tx)) if tx is not None else None,
            ("contacts recognised", F.percent(it)) if it is not None else None,
            ("record pairs for clerical review", _n(review)) if review is not None else None]
    return sentence, [x for x in nums if x]


def _differentiate(f: dict, currency: str) -> tuple[str, list]:
    top = _get(f, "top_20pct_share", "top_20%_share")
    gini = _get(f, "gini_clv", "gini")
    fc = _get(f, "fence_customers")
    fm = _get(f, "fence_managers")
    margin = _get(f, "fence_net_margin_benefit", "fence_net_margin")
    benefit = margin if margin is not None else _get(f, "fence_net_benefit")
    roi = _get(f, "fence_roi", "roi")
    ranked = _get(f, "fence_value")
    on_margin = margin is not None or (ranked is not None and C.REVENUE not in str(ranked))
    what = "net margin benefit a year" if on_margin else "net benefit a year"
    if ranked:
        what += f" (fence ranked by {F.label(ranked)})"
    parts = []
    if top is not None:
        parts.append(f"value is skewed: the top 20 % of customers hold {F.percent(top, 0)} of "
                     "lifetime value" + (f" (Gini {F.number(gini)})" if gini is not None else ""))
    if fc is not None:
        if fc == 0:
            parts.append("the picket fence pays for nobody: no customer brings enough to "
                         "justify a customer manager at today's costs")
        else:
            parts.append(f"the picket fence puts {_n(fc)} customers in the hands of "
                         f"{_n(fm)} customer manager{'s' if fm != 1 else ''}"
                         + (f", {F.money(benefit, currency)} {what}" if benefit is not None else "")
                         + (f", ROI {F.percent(roi, 0)}" if roi is not None else ""))
    sentence = _sentence(parts, "Differentiate recorded no headline figures.")
    nums = [("top 20 % of customers' share of lifetime value", F.percent(top)) if top is not None else None,
            ("customers inside the picket fence", _n(fc)) if fc is not None else None,
            ("customer managers", _n(fm)) if fm is not None else None,
            (what, F.money(benefit, currency)) if benefit is not None else None,
            ("return on the fence's cost (ROI)", F.percent(roi, 0)) if roi is not None else None]
    return sentence, [x for x in nums if x]


def _lists(d: dict, i: dict) -> tuple[str, list]:
    dec = _get(d, "decliners", "decliners_listed")
    lost_v = _get(d, "lost_valuable", "lost_listed")
    grow = _get(d, "low_share_high_potential", "growable_listed")
    lost_p = _get(i, "lost_valuable", "win_back_list")
    comp = _get(i, "repeat_complainers")
    nums = [("decliners: large last year, half as much or less this year", _n(dec)) if dec is not None else None,
            ("lost valuable, value rule: top 20 % before, no purchase for 12 months", _n(lost_v))
            if lost_v is not None else None,
            ("lost last year, contact-plan rule: regular buyers in the year before last, none since",
             _n(lost_p)) if lost_p is not None else None,
            ("low share of wallet, high potential: grow them", _n(grow)) if grow is not None else None,
            ("repeat complainers (three complaints or more)", _n(comp)) if comp is not None else None]
    nums = [x for x in nums if x]
    if not nums:
        return "No workshop lists were recorded.", []
    sentence = "The lists a workshop acts on, with how many customers each holds."
    if lost_v is not None and lost_p is not None:
        sentence += (" The two 'lost' counts use different rules: Differentiate's counts every "
                     "valuable customer gone quiet for a year, the contact plan's only those who "
                     "were still buying the year before (the ones worth a call).")
    return sentence, nums


def _interact(f: dict, currency: str) -> tuple[str, list]:
    planned = _get(f, "planned_contacts", "export_rows")
    viol = _get(f, "policy_violations")
    cost = _get(f, "contact_cost_12m")
    ev = _get(f, C.EXPECTED_VALUE)
    over = _get(f, "over_contacted")
    if not _get(f, "has_interactions", default=True) and planned is None:
        return "The client holds no contact history: there is no contact plan.", []
    parts = []
    if planned is not None:
        parts.append(f"the contact plan makes {_n(planned)} contacts"
                     + (f", expected to bring {F.money(ev, currency)}" if ev is not None else "")
                     + (f"; {_n(viol)} of them break the contact policy" if viol is not None else ""))
    if over is not None:
        parts.append(f"{_n(over)} customers were contacted more often than the policy allows")
    sentence = _sentence(parts, "Interact recorded no contact plan.")
    acts = [(F.label(k.removeprefix("action_")), v) for k, v in f.items()
            if k.startswith("action_") and k != "action_leave_alone" and v]
    nums = [("planned contacts", _n(planned)) if planned is not None else None,
            ("expected value of the plan", F.money(ev, currency)) if ev is not None else None,
            ("cost of last year's contacts", F.money(cost, currency)) if cost is not None else None,
            ("contacts by action", "; ".join(f"{a} {_n(v)}" for a, v in acts)) if acts else None]
    return sentence, [x for x in nums if x]


def _customize(f: dict) -> tuple[str, list]:
    rc = _get(f, "recommended_customers")
    p10, pop = _get(f, "precision_at_10"), _get(f, "popularity_precision_at_10")
    ed, cov = _get(f, "editions"), _get(f, "coverage_all_editions", "coverage")
    parts = []
    if rc is not None:
        parts.append(f"{_n(rc)} customers get suggestions with a reason each")
    if p10 is not None and pop:
        parts.append(f"on held-out purchases they hit {F.number(p10 / pop, 1)} times as often "
                     "as suggesting the best sellers")
    sentence = _sentence(parts, "Customize recorded no headline figures.")
    nums = [("customers with suggestions", _n(rc)) if rc is not None else None,
            ("precision of the top 10 suggestions (held-out purchases)", F.percent(p10))
            if p10 is not None else None,
            ("the same for best sellers", F.percent(pop)) if pop is not None else None,
            ("catalog editions", _n(ed)) if ed is not None else None,
            ("share of buying covered by the editions", F.percent(cov)) if cov is not None else None]
    return sentence, [x for x in nums if x]


def _readiness(f: dict) -> tuple[str, list]:
    resp = _get(f, "respondents", default=0)
    data = {k.removeprefix("data_score_"): v for k, v in f.items()
            if k.startswith("data_score_") and v is not None}
    first = _get(f, "first_priority")
    parts = []
    if resp:
        parts.append(f"{_n(resp)} respondents answered the readiness survey")
    else:
        parts.append("no survey answers yet: readiness rests on what the data shows")
    if first:
        parts.append(f"first priority: {first}")
    sentence = _sentence(parts, "")
    nums = [("survey respondents", _n(resp))]
    if data:
        nums.append(("readiness measured in the data (of 5)",
                     "; ".join(f"{F.label(k)} {F.number(v, 1)}" for k, v in data.items())))
    return sentence, nums


def stage_summaries(steps: list[dict], currency: str) -> list[StageSummary]:
    """One summary per report notebook, in order, from the batch's step records."""
    by_stem = {}
    figures: dict = {}
    for s in steps:
        if s.get("name", "").endswith(".ipynb"):
            by_stem[s["name"].removesuffix(".ipynb")] = s
            for stage, figs in (s.get("figures") or {}).items():
                figures.setdefault(stage, {}).update(figs)
    out = []
    for stem, stage, title, question in STAGES:
        rec = by_stem.get(stem)
        s = StageSummary(stem=stem, title=title, question=question)
        if rec is None:
            s.sentence = f"{title} was not run for this client."
            out.append(s)
            continue
        s.href = rec.get("html")
        s.seconds = rec.get("seconds")
        s.status = rec.get("status", "ok")
        f = figures.get(stage, {})
        if s.status != "ok":
            s.error = rec.get("error")
            s.sentence = f"{title} did not finish for this client: its figures are not shown."
        elif not f:
            s.sentence = f"{title} ran but recorded no figures (its input data may be absent)."
        elif stage == "identify":
            s.sentence, s.numbers = _identify(f)
        elif stage == "differentiate":
            s.sentence, s.numbers = _differentiate(f, currency)
        elif stage == "interact":
            s.sentence, s.numbers = _interact(f, currency)
        elif stage == "customize":
            s.sentence, s.numbers = _customize(f)
        else:
            s.sentence, s.numbers = _readiness(f)
        out.append(s)
        if stage == "differentiate":  # the lists come from Differentiate and Interact
            ok = {st for st, r in ((g, by_stem.get(m)) for m, g, *_ in STAGES)
                  if r is not None and r.get("status") == "ok"}
            sentence, nums = _lists(figures.get("differentiate", {}) if "differentiate" in ok else {},
                                    figures.get("interact", {}) if "interact" in ok else {})
            href = (by_stem.get("03_interact") or {}).get("html") or s.href
            out.append(StageSummary(stem="lists", title="Lists to act on",
                                    question="Who to call, visit or grow", href=href,
                                    status="ok" if nums else "absent", sentence=sentence,
                                    numbers=nums))
    return out
