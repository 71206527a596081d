"""Generate the sample client "Harbour & Finch": exports, client.yaml and ground truth.

Everything comes from one seeded :class:`numpy.random.Generator` per part, so the same seed
gives byte-identical files (gzip without timestamps, parquet with fixed options).
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..config import DEFAULT_CHANNEL_COSTS
from . import vocab as V
from .accounts import add_trade_accounts
from .behaviour import add_returns, expand_lines, simulate_orders
from .catalog import build_catalogue
from .people import AS_OF, DAYS, START, build_people
from .records import SOURCES, assign_ids, harden_links, make_record

CLIENT = "Harbour & Finch"
# the client's channel codes in the two contact systems -> canonical channels
CALL_CHANNELS = {"PHONE": "call_centre", "EMAIL": "email", "CHAT": "web", "STORE DESK": "store"}
CAMPAIGN_CHANNELS = {"EM": "email", "SMS": "sms", "DM": "mail", "TM": "call_centre",
                     "REP": "sales_rep"}
LAST_YEAR_START = 731  # 2025-10-01 as a day index: the last 12 months are days 731..1095
PREV_YEAR_START = 366  # 2024-10-01

# planted story sizes (people)
N_BUSINESS = 100
N_DECLINERS = 250
N_LOST = 200
N_BELOW_ZERO = 220
N_OVER_CONTACTED = 200
N_COMPLAINERS = 150
N_NO_IDENTIFIER = 250


def _streams(seed: int, k: int) -> list[np.random.Generator]:
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(k)]


def generate(out_dir: Path, seed: int = 1994, people: int = 20000) -> dict:
    """Write the sample client into ``out_dir`` and return counts of what was written.

    Parameters
    ----------
    out_dir
        Folder to write (created if missing); ground truth goes to ``out_dir/ground_truth``.
    seed
        Seed of every random draw; the same seed gives byte-identical files.
    people
        Number of true people behind the customer records.

    Returns
    -------
    dict
        ``{"people": ..., "records": {source: n}, "transactions": {source: n},
        "interactions": {source: n}, "products": ..., "stories": {story: people}, ...,
        "files": number of files written}``.
    """
    out_dir = Path(out_dir)
    g = _Sample(seed, people)
    g.run()
    return g.write(out_dir)


class _Sample:
    def __init__(self, seed: int, n: int):
        if n < 1000:
            raise ValueError(f"people must be at least 1000 for the planted stories; found {n}")
        self.seed, self.n = seed, n
        (self.r_cat, self.r_people, self.r_orders, self.r_lines, self.r_recs, self.r_ids,
         self.r_story, self.r_int, self.r_camp, self.r_ret) = _streams(seed, 10)
        self.scale = n / 20000

    def k(self, x: int) -> int:
        return max(10, round(x * self.scale))

    # ------------------------------------------------------------------------------------
    def run(self) -> None:
        self.cat = build_catalogue(self.r_cat)
        P = build_people(self.r_people, self.n, self.cat.subjects, self.cat.subject_category)
        self.people = P
        n = self.n
        rng = self.r_story
        seg = P["segment"].to_numpy()
        # business accounts buy through sales reps
        cand = np.flatnonzero(np.isin(seg, ["Nest builders", "Tech enthusiasts"]))
        business = np.zeros(n, bool)
        business[rng.choice(cand, self.k(N_BUSINESS), replace=False)] = True
        self.business = business
        # person-level behaviour parameters
        spend = rng.gamma(2.0, 0.5, n) * np.array([V.SEGMENTS[s]["spend"] for s in seg])
        promo = np.clip(rng.beta(2, 2, n) * 2 * np.array([V.SEGMENTS[s]["promo"] for s in seg]),
                        0, 0.95)
        ret_rate = np.clip(rng.gamma(2, 0.5, n) * np.array([V.SEGMENTS[s]["returns"] for s in seg]),
                           0, 0.5)
        service = rng.gamma(0.6, 1 / 0.6, n) * np.array([V.SEGMENTS[s]["service"] for s in seg])
        deep = np.zeros(n, bool)

        orders = simulate_orders(self.r_orders, P, business)
        self.lam = orders.attrs["lam"]
        # below zero: bargain hunters with a few orders: deep discounts, many returns, many calls
        n_orders = np.bincount(orders["person"], minlength=n)
        cand = np.flatnonzero((seg == "Bargain hunters") & ~business & (n_orders >= 2)
                              & (n_orders <= 8))
        below = np.zeros(n, bool)
        below[rng.choice(cand, min(self.k(N_BELOW_ZERO), len(cand)), replace=False)] = True
        promo[below] = 0.95
        deep[below] = True
        ret_rate[below] = 0.4
        spend[below] = np.minimum(spend[below], 0.5)
        self.below = below
        self.spend, self.promo, self.ret_rate, self.service = spend, promo, ret_rate, service

        lines = expand_lines(self.r_lines, orders, P, self.cat, business, spend, promo, deep)
        lines = self._plant_value_stories(lines)
        no_ret = np.where(self.lost, LAST_YEAR_START, DAYS).astype(float)
        lines = add_returns(self.r_ret, lines, ret_rate, no_ret)
        self.lines = lines

        # which people are in which source system
        has_store = np.bincount(lines.loc[lines["channel"] == "store", "person"], minlength=n) > 0
        has_web = np.bincount(lines.loc[lines["channel"] == "web", "person"], minlength=n) > 0
        has_crm_order = np.bincount(lines.loc[lines["channel"].isin(["mail", "sales_rep"]),
                                              "person"], minlength=n) > 0
        rr = self.r_recs
        self.card = has_store & (rr.random(n) < 0.86)
        self.card |= (below | self.decliner | self.lost) & has_store
        self.webacc = has_web | (rr.random(n) < 0.02)
        # over-contacted and complainers are chosen among people with a marketing record
        self.crm = has_crm_order | business | (rr.random(n) < 0.15)
        over = np.zeros(n, bool)
        cand = np.flatnonzero(self.crm & ~business & ~below & P["email"].notna().to_numpy())
        over[rng.choice(cand, self.k(N_OVER_CONTACTED), replace=False)] = True
        self.over = over
        # half of them complain shortly before being over-contacted (needs a call-centre record)
        over_idx = np.flatnonzero(over)
        self.over_complaint = np.zeros(n, bool)
        self.over_complaint[over_idx[::2]] = True
        complainer = np.zeros(n, bool)
        cand = np.flatnonzero(~business & ~below & (n_orders >= 1))
        complainer[rng.choice(cand, self.k(N_COMPLAINERS), replace=False)] = True
        self.complainer = complainer
        self._calls()
        self.callcentre = np.bincount(self.calls["person"].dropna().astype(int), minlength=n) > 0
        self.callcentre |= below | complainer | self.over_complaint
        none = ~(self.card | self.webacc | self.crm | self.callcentre)
        self.webacc |= none & ~has_store
        self.card |= none & has_store
        self._records()
        self._assign_transaction_records()
        self._enforce_decliners()
        self._campaigns()
        add_trade_accounts(self)  # the few worth a lot: trade accounts (accounts.py)
        self._finish_stories()

    # ------------------------------------------------------------------------------------
    def _plant_value_stories(self, lines: pd.DataFrame) -> pd.DataFrame:
        """Decliners (last year's spend halved) and lost valuables (no purchase for 12 months)."""
        rng, n = self.r_story, self.n
        day = lines["day"].to_numpy()
        person = lines["person"].to_numpy()
        last = day >= LAST_YEAR_START
        prev = (day >= PREV_YEAR_START) & ~last
        early = day < LAST_YEAR_START
        amt = lines["amount"].to_numpy()
        rev_prev = np.bincount(person[prev], amt[prev], minlength=n)
        rev_last = np.bincount(person[last], amt[last], minlength=n)
        rev_2y = np.bincount(person[early], amt[early], minlength=n)
        # regular buyers: orders in at least 4 distinct quarters before the last year
        q = (day // 91.3).astype(int)
        pq_ = pd.DataFrame({"p": person[early], "q": q[early]}).drop_duplicates()
        quarters = np.bincount(pq_["p"], minlength=n)
        orders_last = pd.Series(lines.loc[last, "order"].to_numpy()).groupby(person[last]).nunique()
        n_ord_last = np.zeros(n, int)
        n_ord_last[orders_last.index.to_numpy()] = orders_last.to_numpy()
        ok = ~self.business & ~self.below
        top_prev = rev_prev >= np.quantile(rev_prev[rev_prev > 0], 0.85)
        cand = np.flatnonzero(ok & top_prev & (rev_last >= 0.8 * rev_prev) & (n_ord_last >= 2))
        dec = rng.choice(cand, min(self.k(N_DECLINERS), len(cand)), replace=False)
        decliner = np.zeros(n, bool)
        decliner[dec] = True
        top_2y = rev_2y >= np.quantile(rev_2y[rev_2y > 0], 0.85)
        cand = np.flatnonzero(ok & ~decliner & top_2y & (quarters >= 4) & (n_ord_last >= 1))
        lost = np.zeros(n, bool)
        lost[rng.choice(cand, min(self.k(N_LOST), len(cand)), replace=False)] = True
        drop = last & lost[person]
        # decliners: keep whole orders of the last year while they stay under 40% of last
        # year's spend (at least the smallest order when it alone is under half)
        sel = last & decliner[person]
        od = lines.loc[sel, ["order", "person", "amount"]].groupby(["person", "order"])["amount"].sum()
        od = od.reset_index()
        od["r"] = rng.random(len(od))
        od = od.sort_values(["person", "r"])
        od["cum"] = od.groupby("person")["amount"].cumsum()
        od["limit"] = 0.4 * rev_prev[od["person"].to_numpy()]
        od["keep"] = od["cum"] <= od["limit"]
        first_small = od.groupby("person")["amount"].transform("min")
        od.loc[(~od.groupby("person")["keep"].transform("any"))
               & (od["amount"] == first_small)
               & (od["amount"] <= 0.5 * rev_prev[od["person"].to_numpy()]), "keep"] = True
        dropped_orders = od.loc[~od["keep"], "order"].to_numpy()
        drop |= np.isin(lines["order"].to_numpy(), dropped_orders)
        self.decliner, self.lost = decliner, lost
        return lines.loc[~drop].reset_index(drop=True)

    # ------------------------------------------------------------------------------------
    def _calls(self) -> None:
        """Inbound contacts to the call centre (phone, email, chat, store desk)."""
        rng, n = self.r_int, self.n
        years = DAYS / 365.25
        rate = 0.22 * self.service
        nc = rng.poisson(rate * years)
        nc[self.business] = 0
        person = np.repeat(np.arange(n), nc)
        day = rng.uniform(0, DAYS, len(person))
        m = len(person)
        typ = rng.choice(["complaint", "enquiry", "service", "question"], m,
                         p=[0.08, 0.47, 0.35, 0.10])
        # complaints follow a real purchase and are rarely repeated (3+ is a planted story)
        calls = pd.DataFrame({"person": person, "day": day, "type": typ})
        calls["k"] = calls.groupby(["person", "type"]).cumcount()
        calls.loc[(calls["type"] == "complaint") & (calls["k"] >= 2), "type"] = "enquiry"
        # below zero: heavy call-centre use
        bz = np.flatnonzero(self.below)
        nb = rng.integers(12, 26, len(bz))
        extra_b = pd.DataFrame({"person": np.repeat(bz, nb),
                                "day": rng.uniform(0, DAYS, nb.sum()),
                                "type": rng.choice(["service", "enquiry", "complaint"], nb.sum(),
                                                   p=[0.55, 0.35, 0.10])})
        extra_b["k"] = extra_b.groupby("person").cumcount()
        extra_b.loc[extra_b["type"] == "complaint", "type"] = "service"
        # repeat complainers: 3-6 complaints each
        cp = np.flatnonzero(self.complainer)
        nk = rng.integers(3, 7, len(cp))
        extra_c = pd.DataFrame({"person": np.repeat(cp, nk),
                                "day": rng.uniform(30, DAYS, nk.sum()), "type": "complaint"})
        calls = calls[~(calls["person"].isin(cp) & (calls["type"] == "complaint"))]
        calls = pd.concat([calls.drop(columns="k"), extra_b.drop(columns="k"), extra_c],
                          ignore_index=True)
        # unrecognised contacts: callers who gave no reference (no record id)
        nu = int(len(calls) * 0.07)
        unk = pd.DataFrame({"person": np.full(nu, -1), "day": rng.uniform(0, DAYS, nu),
                            "type": rng.choice(["enquiry", "complaint", "service"], nu,
                                               p=[0.7, 0.1, 0.2])})
        calls = pd.concat([calls, unk], ignore_index=True)
        m = len(calls)
        calls["channel"] = rng.choice(["PHONE", "EMAIL", "CHAT", "STORE DESK"], m,
                                      p=[0.72, 0.15, 0.09, 0.04])
        t = calls["type"].to_numpy()
        topic = np.empty(m, dtype=object)
        for name, words in (("complaint", V.COMPLAINT_TOPICS), ("enquiry", V.ENQUIRY_TOPICS),
                            ("service", V.SERVICE_TOPICS), ("question", V.QUESTION_TOPICS)):
            rows = t == name
            topic[rows] = np.array(words, dtype=object)[rng.integers(len(words), size=rows.sum())]
        calls["topic"] = topic
        outcome = np.where(t == "question", np.where(rng.random(m) < 0.7, "answered", "declined"),
                           np.where(rng.random(m) < 0.85, "resolved", "open"))
        calls["outcome"] = outcome
        sat = np.where(t == "complaint", rng.integers(1, 4, m), rng.integers(3, 6, m)).astype(float)
        measured = np.isin(t, ["complaint", "service"]) & (rng.random(m) < 0.7)
        measured |= (t == "enquiry") & (rng.random(m) < 0.15)
        calls["satisfaction"] = np.where(measured, sat, np.nan)
        calls["person"] = calls["person"].where(calls["person"] >= 0)
        self.calls = calls

    # ------------------------------------------------------------------------------------
    def _records(self) -> None:
        rng, P, n = self.r_recs, self.people, self.n
        lines = self.lines
        first_by = {}
        for ch in ("store", "web", "mail", "sales_rep"):
            sub = lines[lines["channel"] == ch]
            first_by[ch] = sub.groupby("person")["day"].min()
        first_call = self.calls.dropna(subset=["person"]).groupby("person")["day"].min()
        truth = P.assign(row=np.arange(n)).to_dict("records")
        for t in truth:
            t["birth_date"] = pd.Timestamp(t["birth_date"]).date()
            for k in ("email", "phone", "old_street", "old_postcode"):
                if not isinstance(t[k], str):
                    t[k] = None
        recs: list[dict] = []
        fixes = 0
        no_id = np.zeros(n, bool)
        for i in range(n):
            p = truth[i]
            mine = []
            if self.card[i]:
                f = first_by["store"].get(i, rng.uniform(0, DAYS))
                created = f - rng.uniform(0, 1500)
                mine.append(make_record(rng, p, "loyalty", created))
                if p["moved"] and created < p["move_day"] and rng.random() < 0.5:
                    mine.append(make_record(rng, p, "loyalty", p["move_day"] + rng.uniform(0, 20)))
                elif rng.random() < 0.03:
                    mine.append(make_record(rng, p, "loyalty", rng.uniform(max(created, 0), DAYS),
                                            "dup"))
            if self.webacc[i]:
                f = first_by["web"].get(i, rng.uniform(0, DAYS))
                created = f - rng.uniform(0, 900)
                mine.append(make_record(rng, p, "web", created))
                if rng.random() < 0.04:
                    mine.append(make_record(rng, p, "web", rng.uniform(max(created, 0), DAYS),
                                            "work"))
            if self.crm[i]:
                f = min(first_by["mail"].get(i, DAYS), first_by["sales_rep"].get(i, DAYS))
                created = min(f, rng.uniform(-2000, DAYS - 30)) - rng.uniform(0, 60)
                mine.append(make_record(rng, p, "crm", created))
                if rng.random() < 0.03:
                    mine.append(make_record(rng, p, "crm", rng.uniform(max(created, 0), DAYS),
                                            "dup"))
            if self.callcentre[i]:
                created = first_call.get(i, rng.uniform(0, DAYS - 30)) - rng.uniform(0, 0.01)
                mine.append(make_record(rng, p, "callcentre", created))
            if len(mine) == 1 and not (self.below[i] or self.over[i] or self.complainer[i]
                                       or self.decliner[i] or self.lost[i] or self.business[i]) \
                    and rng.random() < N_NO_IDENTIFIER / n * 2.2:
                # a record with no usable identifier: unregistered card, anonymous caller
                r = mine[0]
                for k in ("email", "phone", "street", "postcode", "city", "birth_date",
                          "last_name"):
                    r[k] = None
                if r["source"] == "loyalty":
                    r["first_name"] = None
                r["consent_email"] = r["consent_sms"] = r["consent_phone"] = False
                r["consent_mail"] = False
                no_id[i] = True
            if len(mine) > 1:
                fixes += harden_links(rng, mine, p)
            recs.extend(mine)
        self.link_repairs = fixes
        self.no_identifier = no_id
        R = pd.DataFrame(recs)
        R["created_day"] = R["created_day"].clip(upper=DAYS - 0.5)
        R["updated_day"] = np.maximum(R["updated_day"], R["created_day"])
        R["consent_day"] = np.clip(R["consent_day"], R["created_day"], R["updated_day"])
        self.records = assign_ids(self.r_ids, R)

    # ------------------------------------------------------------------------------------
    def _assign_transaction_records(self) -> None:
        """Tie lines and calls to the record of the system that saw them (or to none)."""
        rng, R, L = self.r_recs, self.records, self.lines
        by = {}
        for src in SOURCES:
            sub = R[R["source"] == src]
            by[src] = sub.groupby("person").apply(
                lambda d: list(zip(d["record_id"], d["created_day"])), include_groups=False
            ).to_dict()

        def pick(src: str, person: np.ndarray, day: np.ndarray, show: np.ndarray) -> np.ndarray:
            out = np.empty(len(person), dtype=object)
            u = rng.random(len(person))
            for j, (pp, d) in enumerate(zip(person, day)):
                cards = by[src].get(pp)
                if not cards or not show[j]:
                    continue
                valid = [c for c in cards if c[1] <= d] or cards[:1]
                out[j] = valid[-1][0] if (len(valid) == 1 or u[j] < 0.75) else valid[0][0]
            return out

        # one record per order: decide at order level, then spread to lines (returns follow)
        orders = L.drop_duplicates("order")[["order", "person", "day", "channel"]]
        o_person = orders["person"].to_numpy()
        show = np.ones(len(orders), bool)
        store = orders["channel"].to_numpy() == "store"
        always = self.below | self.decliner | self.lost
        show[store] = (rng.random(store.sum()) < 0.90) | always[o_person[store]]
        rec = np.empty(len(orders), dtype=object)
        for ch, src in (("store", "loyalty"), ("web", "web"), ("mail", "crm"),
                        ("sales_rep", "crm")):
            rows = np.flatnonzero(orders["channel"].to_numpy() == ch)
            rec[rows] = pick(src, o_person[rows], orders["day"].to_numpy()[rows], show[rows])
        order_rec = pd.Series(rec, index=orders["order"].to_numpy())
        L["record_id"] = order_rec.reindex(L["order"].to_numpy()).to_numpy()
        C = self.calls
        has = C["person"].notna().to_numpy()
        cp = C["person"].fillna(-1).astype(int).to_numpy()
        crec = np.empty(len(C), dtype=object)
        crec[has] = pick("callcentre", cp[has], C["day"].to_numpy()[has], np.ones(has.sum(), bool))
        C["record_id"] = crec
        self.by = by

    def _enforce_decliners(self) -> None:
        """After returns and card use, keep every decliner's recognised spend ratio <= 0.45."""
        L = self.lines
        known = L["record_id"].notna().to_numpy()
        day = L["day"].to_numpy()
        p = L["person"].to_numpy()
        amt = L["amount"].to_numpy()
        last = known & (day >= LAST_YEAR_START)
        prev = known & (day >= PREV_YEAR_START) & (day < LAST_YEAR_START)
        rev_prev = np.bincount(p[prev], amt[prev], minlength=self.n)
        sel = last & self.decliner[p] & ~L["is_return"].to_numpy()
        od = L.loc[sel].groupby(["person", "order"])["amount"].sum().reset_index()
        od = od.sort_values(["person", "amount", "order"])
        od["cum"] = od.groupby("person")["amount"].cumsum()
        drop = od.loc[od["cum"] > 0.45 * rev_prev[od["person"].to_numpy()], "order"].to_numpy()
        self.lines = L[~np.isin(L["order"].to_numpy(), drop) | (day < LAST_YEAR_START)
                       ].reset_index(drop=True)
        # a large return can take a planted decliner out of last year's large customers, and
        # one whose last year is now empty (or all returns) has lapsed rather than declined
        L = self.lines
        keep = L["record_id"].notna().to_numpy() & (L["day"].to_numpy() >= LAST_YEAR_START)
        rev_last = np.bincount(L["person"].to_numpy()[keep], L["amount"].to_numpy()[keep],
                               minlength=self.n)
        self.decliner &= rev_prev >= np.quantile(rev_prev[rev_prev > 0], 0.80)
        self.decliner &= rev_last > 0

    # ------------------------------------------------------------------------------------
    def _campaigns(self) -> None:
        """Outbound contacts from the CRM campaign system, sales-rep visits, over-contacting."""
        rng, R, _n = self.r_camp, self.records, self.n
        crm = R[R["source"] == "crm"].drop_duplicates("person")
        rows = []
        months = pd.date_range(pd.Timestamp(START), periods=36, freq="MS")
        plan = (("EM", "OFFER", 0.30, "consent_email", 2), ("EM", "CAMPAIGN", 0.30,
                                                              "consent_email", 1),
                ("DM", "CAMPAIGN", 0.45, "consent_mail", 0.34), ("SMS", "OFFER", 0.35,
                                                              "consent_sms", 0.5),
                ("TM", "OFFER", 0.20, "consent_phone", 0.3), ("EM", "QUESTION", 0.20,
                                                              "consent_email", 0.34))
        cid = 0
        lam = self.lam
        for m in months:
            m_day = (np.datetime64(m.date()) - START).astype(int)
            for medium, typ, share, consent, per_month in plan:
                k = int(per_month) + (rng.random() < per_month - int(per_month))
                for _ in range(k):
                    cid += 1
                    code = f"CMP{m.year % 100:02d}{m.month:02d}-{cid:04d}"
                    day0 = m_day + rng.uniform(0, 25)
                    elig = crm[(crm[consent]) & (crm["created_day"] < day0)]
                    take = elig[rng.random(len(elig)) < share]
                    for pr, rid in zip(take["person"].to_numpy(), take["record_id"].to_numpy()):
                        rows.append((rid, pr, day0 + rng.uniform(0, 2), medium, typ, code))
        camp = pd.DataFrame(rows, columns=["record_id", "person", "day", "medium", "type",
                                           "campaign"])
        # sales-rep visits to business accounts, about every two months
        bus = crm[self.business[crm["person"].to_numpy()]]
        vrows = []
        for pr, rid, c in zip(bus["person"], bus["record_id"], bus["created_day"]):
            d = max(c, 0) + rng.uniform(0, 60)
            while d < DAYS:
                vrows.append((rid, pr, d, "REP", "VISIT", None))
                d += rng.uniform(40, 90)
        camp = pd.concat([camp, pd.DataFrame(vrows, columns=camp.columns)], ignore_index=True)
        # over-contacted: 3-6 months with 8-12 outbound contacts each; half right after a complaint
        over = np.flatnonzero(self.over)
        orec = crm.set_index("person")["record_id"]
        ocreated = crm.set_index("person")["created_day"]
        orows, ocalls = [], []
        for pr in over:
            if pr not in orec.index:
                continue
            rid = orec[pr]
            start_m = max(0, int(max(ocreated[pr], 0) // 30.5) + 1)
            avail = np.arange(start_m, 36)
            if len(avail) < 3:
                avail = np.arange(30, 36)
            ms = rng.choice(avail, min(len(avail), rng.integers(3, 7)), replace=False)
            for mo in ms:
                m_day = (np.datetime64(months[mo].date()) - START).astype(int)
                for _ in range(rng.integers(8, 13)):
                    d = min(m_day + rng.uniform(0, 28), DAYS - 0.5)
                    medium = rng.choice(["EM", "EM", "SMS", "TM"])
                    orows.append((rid, pr, d, medium, "OFFER", (f"TRG{months[mo].year % 100:02d}"
                                  f"{months[mo].month:02d}-{rng.integers(1, 9):02d}")))
            if self.over_complaint[pr]:
                mo = ms[0]
                m_day = (np.datetime64(months[mo].date()) - START).astype(int)
                cday = max(m_day - rng.uniform(1, 10), 1.0)
                ocalls.append((pr, cday))
                for _ in range(rng.integers(1, 4)):
                    orows.append((rid, pr, min(cday + rng.uniform(1, 13), DAYS - 0.5), "EM",
                                  "OFFER", (f"TRG{months[mo].year % 100:02d}{months[mo].month:02d}-"
                                  f"{rng.integers(1, 9):02d}")))
        camp = pd.concat([camp, pd.DataFrame(orows, columns=camp.columns)], ignore_index=True)
        # complaints just before the over-contacting (call-centre record needed)
        if ocalls:
            self._add_calls([(pr, d, "complaint") for pr, d in ocalls])
        # outcomes: buyers with a high purchase rate respond more
        m = len(camp)
        pr = camp["person"].to_numpy().astype(int)
        boost = np.clip(lam[pr] / 4, 0.3, 3)
        base = camp["medium"].map({"EM": 0.03, "SMS": 0.025, "DM": 0.04, "TM": 0.12,
                                   "REP": 0.5}).to_numpy()
        u = rng.random(m)
        resp = u < base * boost
        t = camp["type"].to_numpy()
        outcome = np.where(resp, "RESPONDED", "NO RESPONSE")
        outcome = np.where((camp["medium"] == "TM") & ~resp,
                           np.where(rng.random(m) < 0.45, "DECLINED", "NO RESPONSE"), outcome)
        outcome = np.where((camp["medium"] == "TM") & resp, "ACCEPTED", outcome)
        q = t == "QUESTION"
        outcome = np.where(q, np.where(rng.random(m) < 0.25, "ANSWERED", "NO RESPONSE"), outcome)
        outcome = np.where(t == "VISIT", np.where(resp, "ACCEPTED", "NO RESPONSE"), outcome)
        camp["outcome"] = outcome
        topic = np.where(q, np.array(V.QUESTION_TOPICS, dtype=object)[
            rng.integers(len(V.QUESTION_TOPICS), size=m)], None)
        topic = np.where(t == "OFFER", np.array(self.cat.subjects, dtype=object)[
            rng.integers(len(self.cat.subjects), size=m)], topic)
        camp["topic"] = topic
        cost = np.where(camp["medium"] == "DM", np.round(rng.uniform(0.85, 1.45, m), 2), np.nan)
        cost = np.where(camp["medium"] == "REP", 45.0, cost)
        camp["cost"] = cost
        self.camp = camp.sort_values(["day", "record_id"], kind="stable").reset_index(drop=True)

    def _add_calls(self, items: list[tuple[int, float, str]]) -> None:
        rng, C = self.r_int, self.calls
        new = []
        for pr, d, typ in items:
            recs = self.by["callcentre"].get(pr)
            if not recs:
                continue
            topics = {"complaint": V.COMPLAINT_TOPICS, "service": V.SERVICE_TOPICS,
                      "enquiry": V.ENQUIRY_TOPICS}[typ]
            new.append({"person": float(pr), "day": d, "type": typ, "channel": "PHONE",
                        "topic": topics[rng.integers(len(topics))],
                        "outcome": "resolved" if rng.random() < 0.8 else "open",
                        "satisfaction": float(rng.integers(1, 4)) if typ == "complaint" else np.nan,
                        "record_id": recs[0][0]})
        if new:
            self.calls = pd.concat([C, pd.DataFrame(new)], ignore_index=True)

    # ------------------------------------------------------------------------------------
    def _finish_stories(self) -> None:
        """Make sure every planted below-zero person really is below zero; measure the truth."""
        costs = DEFAULT_CHANNEL_COSTS
        for _ in range(5):
            m = self._measure()
            bad = np.flatnonzero(self.below & (m["contribution"] >= 0))
            if not len(bad):
                break
            items = []
            for pr in bad:
                k = int(np.ceil((m["contribution"][pr] + 5) / costs["call_centre"])) + 1
                for d in self.r_int.uniform(0, DAYS, k):
                    items.append((int(pr), float(d), "service"))
            self._add_calls(items)
        self.truth = self._measure()

    def _measure(self) -> dict[str, np.ndarray]:
        """Per-person measures from the data as exported (recognised activity only)."""
        n, L = self.n, self.lines
        known = L["record_id"].notna().to_numpy()
        p = L["person"].to_numpy()[known]
        day = L["day"].to_numpy()[known]
        amt = L["amount"].to_numpy()[known]
        cost = L["cost"].to_numpy()[known]
        last = day >= LAST_YEAR_START
        prev = (day >= PREV_YEAR_START) & ~last
        rev = np.bincount(p, amt, minlength=n)
        margin = np.bincount(p, amt - cost, minlength=n)
        C = self.calls[self.calls["record_id"].notna()]
        cp = C["person"].astype(int).to_numpy()
        chan_cost = C["channel"].map(CALL_CHANNELS).map(DEFAULT_CHANNEL_COSTS).to_numpy()
        serve = np.bincount(cp, chan_cost, minlength=n)
        K = self.camp
        kp = K["person"].astype(int).to_numpy()
        kc = K["cost"].to_numpy().copy()
        default = K["medium"].map(CAMPAIGN_CHANNELS).map(DEFAULT_CHANNEL_COSTS).to_numpy()
        kc = np.where(np.isnan(kc), default, kc)
        serve += np.bincount(kp, kc, minlength=n)
        complaints = np.bincount(cp[(C["type"] == "complaint").to_numpy()], minlength=n)
        month = (START + (K["day"].to_numpy() * 86400).astype("int64").astype("timedelta64[s]")
                 ).astype("datetime64[M]")
        per_month = pd.Series(1, index=pd.MultiIndex.from_arrays([kp, month])).groupby(
            level=[0, 1]).sum().groupby(level=0).max()
        maxm = np.zeros(n, int)
        maxm[per_month.index.to_numpy()] = per_month.to_numpy()
        orders = pd.Series(L["order"].to_numpy()[known]).groupby(p).nunique()
        n_orders = np.zeros(n, int)
        n_orders[orders.index.to_numpy()] = orders.to_numpy()
        last_day = pd.Series(day).groupby(p).max()
        last_purchase = np.full(n, np.nan)
        last_purchase[last_day.index.to_numpy()] = last_day.to_numpy()
        return {"revenue": rev, "margin": margin, "cost_to_serve": serve,
                "contribution": margin - serve,
                "revenue_prev_year": np.bincount(p[prev], amt[prev], minlength=n),
                "revenue_last_year": np.bincount(p[last], amt[last], minlength=n),
                "complaints": complaints, "max_outbound_per_month": maxm, "orders": n_orders,
                "last_purchase_day": last_purchase}

    # ------------------------------------------------------------------------------------
    def write(self, out: Path) -> dict:
        from .configurations import write_configurations
        from .writer import write_all

        counts = write_all(self, out)
        counts["saved_configurations"] = write_configurations(self, out)  # + its client.yaml source
        counts["files"] += 1  # the configurations export
        return counts


def gzip_bytes(data: bytes) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=6) as f:
        f.write(data)
    return buf.getvalue()


def write_csv(df: pd.DataFrame, path: Path, **kw) -> None:
    text = df.to_csv(index=False, lineterminator="\n", **kw)
    data = text.encode("utf-8")
    path.write_bytes(gzip_bytes(data) if path.suffix == ".gz" else data)


def write_parquet(df: pd.DataFrame, path: Path) -> None:
    table = pa.Table.from_pandas(df, preserve_index=False).replace_schema_metadata(None)
    pq.write_table(table, path, compression="zstd", compression_level=6, use_dictionary=True,
                   write_statistics=True, row_group_size=1_000_000, version="2.6")


__all__ = ["AS_OF", "CLIENT", "generate"]
