"""Write the sample client's exports in each source system's own format, the client.yaml that
maps them onto the canonical model, and the ground truth (never referenced by client.yaml)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import yaml

from . import vocab as V
from .people import START

if TYPE_CHECKING:  # pragma: no cover
    from .generator import _Sample

STAFFED = ("store", "mail", "sales_rep")
GROUND_TRUTH = "ground_truth"


def _ts(day: np.ndarray, staffed: np.ndarray | None = None) -> np.ndarray:
    """Day index (float) -> timestamp; staffed channels fall within 09:00-19:00."""
    day = np.asarray(day, float)
    whole = np.floor(day)
    frac = day - whole
    secs = frac * 86400
    if staffed is not None:
        secs = np.where(staffed, 9 * 3600 + frac * 36000, secs)
    secs = np.floor(secs).astype("int64")
    return (START + whole.astype("int64").astype("timedelta64[D]")
            + secs.astype("timedelta64[s]")).astype("datetime64[s]")


def _fmt(ts: np.ndarray, fmt: str) -> list:
    s = pd.Series(pd.to_datetime(ts))
    out = s.dt.strftime(fmt)
    return [None if pd.isna(v) else v for v in out]


def _yn(x, yes="Y", no="N") -> np.ndarray:
    return np.where(np.asarray(x, bool), yes, no)


def _date_or_none(d) -> list:
    return [None if (v is None or (isinstance(v, float) and np.isnan(v))) else v for v in d]


def _transactions(g: _Sample) -> dict[str, pd.DataFrame]:
    L = g.lines.copy()
    L["ts"] = _ts(L["day"].to_numpy(), L["channel"].isin(STAFFED).to_numpy())
    L = L.sort_values(["ts", "order", "is_return", "product"], kind="stable").reset_index(drop=True)
    # order ids in time order of each order's first line
    first = L.drop_duplicates("order")["order"].to_numpy()
    seq = pd.Series(np.arange(len(first)), index=first)
    L["oseq"] = seq.reindex(L["order"].to_numpy()).to_numpy()
    L["ln"] = L.groupby(["order", "is_return"]).cumcount() + 1
    prod = g.cat.products["product_id"].to_numpy()[L["product"].to_numpy()]
    L["sku"] = prod
    people = g.people
    region = people["region"].to_numpy()[L["person"].to_numpy()]
    # store: mostly a store in the person's region
    rng = np.random.default_rng(np.random.SeedSequence(g.seed).spawn(12)[11])
    all_stores = [s for r in V.STORES for s in V.STORES[r]]
    store = np.empty(len(L), dtype=object)
    for r, stores in V.STORES.items():
        rows = np.flatnonzero(region == r)
        store[rows] = np.array(stores, dtype=object)[rng.integers(len(stores), size=len(rows))]
    away = rng.random(len(L)) < 0.1
    store[away] = np.array(all_stores, dtype=object)[rng.integers(len(all_stores), size=away.sum())]
    # a return of a store purchase goes back to the same store: take the order's store
    order_store = pd.Series(store).groupby(L["order"].to_numpy()).transform("first").to_numpy()
    store_region = {s: r for r, ss in V.STORES.items() for s in ss}
    out = {}
    ch = L["channel"].to_numpy()
    ret = L["is_return"].to_numpy()

    s = ch == "store"
    pos = pd.DataFrame({
        "TxnLineID": [f"R{o:07d}-{'R' if r else ''}{n}" for o, r, n in
                      zip(L["oseq"][s], ret[s], L["ln"][s])],
        "Receipt_No": [f"R{o:07d}" for o in L["oseq"][s]],
        "Card_No": L["record_id"][s].to_numpy(),
        "Txn_Time": _fmt(L["ts"][s].to_numpy(), "%d/%m/%Y %H:%M:%S"),
        "SKU": L["sku"][s].to_numpy(),
        "Qty": L["quantity"][s].astype(int).to_numpy(),
        "Net_Amount": L["amount"][s].to_numpy(),
        "Cost_Amount": L["cost"][s].to_numpy(),
        "Return_Flag": _yn(ret[s]),
        "Channel": "POS",
        "Store": order_store[s],
        "Store_Region": [store_region[x] for x in order_store[s]],
        "Division": "Retail Stores",
    })
    out["pos"] = pos
    w = ch == "web"
    web = pd.DataFrame({
        "order_line_id": [f"WO{o:07d}-{'R' if r else ''}{n}" for o, r, n in
                          zip(L["oseq"][w], ret[w], L["ln"][w])],
        "order_id": [f"WO{o:07d}" for o in L["oseq"][w]],
        "account_id": pd.array(L["record_id"][w].to_numpy(), dtype="string"),
        "ordered_at": L["ts"][w].to_numpy().astype("datetime64[us]"),
        "sku": L["sku"][w].to_numpy(),
        "qty": L["quantity"][w].astype("int32").to_numpy(),
        "line_total": L["amount"][w].to_numpy(),
        "line_cost": L["cost"][w].to_numpy(),
        "is_return": ret[w],
        "sales_channel": "ONLINE",
        "site": "webshop",
        "delivery_region": region[w],
        "division": "Online",
    })
    out["web"] = web
    c = np.isin(ch, ["mail", "sales_rep"])
    crm = pd.DataFrame({
        "OrderLineRef": [f"SO{o:07d}/{'CR' if r else ''}{n}" for o, r, n in
                         zip(L["oseq"][c], ret[c], L["ln"][c])],
        "OrderRef": [f"SO{o:07d}" for o in L["oseq"][c]],
        "CustNo": L["record_id"][c].to_numpy(),
        "OrderDate": _fmt(L["ts"][c].to_numpy(), "%Y-%m-%d %H:%M:%S"),
        "ProductCode": L["sku"][c].to_numpy(),
        "Units": L["quantity"][c].astype(int).to_numpy(),
        "Value": L["amount"][c].to_numpy(),
        "COGS": L["cost"][c].to_numpy(),
        "Credit": _yn(ret[c]),
        "Route": np.where(ch[c] == "sales_rep", "REP", "CAT"),
        "Office": np.where(ch[c] == "sales_rep", "Business Sales", "Catalogue Orders"),
        "Region": region[c],
        "Division": np.where(ch[c] == "sales_rep", "Business", "Direct"),
    })
    out["crm_orders"] = crm
    return out


def _records(g: _Sample) -> dict[str, pd.DataFrame]:
    R = g.records

    def ts(col):
        return _ts(R[col].to_numpy())

    R = R.assign(created=ts("created_day"), updated=ts("updated_day"), consent=ts("consent_day"))
    out = {}
    r = R[R["source"] == "crm"]
    bus = g.business[r["person"].to_numpy()]
    pref = np.array(["Email", "Post", "Phone", "SMS", None], dtype=object)
    rng = np.random.default_rng(np.random.SeedSequence(g.seed).spawn(13)[12])
    out["crm"] = pd.DataFrame({
        "CustNo": r["record_id"].to_numpy(),
        "FirstName": r["first_name"].to_numpy(), "Surname": r["last_name"].to_numpy(),
        "Email": r["email"].to_numpy(), "Tel": r["phone"].to_numpy(),
        "Street": r["street"].to_numpy(), "PostCode": r["postcode"].to_numpy(),
        "Town": r["city"].to_numpy(), "Region": r["region"].to_numpy(),
        "Country": np.where(rng.random(len(r)) < 0.6, "GB", None),
        "DOB": _date_or_none(r["birth_date"].to_numpy()),
        "Gender": r["gender"].to_numpy(),
        "HouseholdSize": pd.Series(np.where(rng.random(len(r)) < 0.35, r["household_size"], -1),
                                   dtype="Int64").where(lambda x: x > 0).to_numpy(),
        "PreferredContact": pref[rng.choice(5, len(r), p=[0.35, 0.2, 0.1, 0.05, 0.3])],
        "Interests": r["interests"].to_numpy(),
        "AccountType": np.where(bus, "B2B", "B2C"),
        "Created": _fmt(r["created"].to_numpy(), "%Y-%m-%d %H:%M:%S"),
        "LastUpdated": _fmt(r["updated"].to_numpy(), "%Y-%m-%d %H:%M:%S"),
        "OptInEmail": _yn(r["consent_email"]), "OptInSMS": _yn(r["consent_sms"]),
        "OptInPhone": _yn(r["consent_phone"]), "OptInPost": _yn(r["consent_mail"]),
        "ConsentDate": _fmt(r["consent"].to_numpy(), "%Y-%m-%d"),
    })
    r = R[R["source"] == "web"]
    out["web"] = pd.DataFrame({
        "account_id": r["record_id"].to_numpy(),
        "email": r["email"].to_numpy(),
        "first_name": r["first_name"].to_numpy(), "last_name": r["last_name"].to_numpy(),
        "mobile": r["phone"].to_numpy(),
        "address_line1": r["street"].to_numpy(), "postcode": r["postcode"].to_numpy(),
        "city": r["city"].to_numpy(),
        "date_of_birth": pd.array(_date_or_none(r["birth_date"].to_numpy()), dtype=object),
        "created_ts": r["created"].to_numpy().astype("datetime64[us]"),
        "updated_ts": r["updated"].to_numpy().astype("datetime64[us]"),
        "marketing_email_opt_in": r["consent_email"].to_numpy(bool),
        "marketing_sms_opt_in": r["consent_sms"].to_numpy(bool),
        "consent_ts": r["consent"].to_numpy().astype("datetime64[us]"),
    })
    r = R[R["source"] == "loyalty"]
    out["loyalty"] = pd.DataFrame({
        "Card_No": r["record_id"].to_numpy(),
        "Forename": r["first_name"].to_numpy(), "Surname": r["last_name"].to_numpy(),
        "Addr1": r["street"].to_numpy(), "Post_Code": r["postcode"].to_numpy(),
        "Town": r["city"].to_numpy(), "Home_Region": r["region"].to_numpy(),
        "Email_Addr": r["email"].to_numpy(), "Phone_No": r["phone"].to_numpy(),
        "Birth_Date": _fmt(pd.to_datetime(pd.Series(r["birth_date"].to_numpy())).to_numpy(),
                           "%d/%m/%Y"),
        "Issue_Date": _fmt(r["created"].to_numpy(), "%d/%m/%Y"),
        "Last_Change": _fmt(r["updated"].to_numpy(), "%d/%m/%Y"),
        "Email_OK": _yn(r["consent_email"], "1", "0"), "SMS_OK": _yn(r["consent_sms"], "1", "0"),
        "Post_OK": _yn(r["consent_mail"], "1", "0"),
        "Consent_Given": _fmt(r["consent"].to_numpy(), "%d/%m/%Y"),
    })
    r = R[R["source"] == "callcentre"]
    out["callcentre"] = pd.DataFrame({
        "CallerRef": r["record_id"].to_numpy(),
        "Caller_First": r["first_name"].to_numpy(), "Caller_Last": r["last_name"].to_numpy(),
        "Phone_Number": r["phone"].to_numpy(), "Post_Code": r["postcode"].to_numpy(),
        "Email": r["email"].to_numpy(),
        "First_Contact": _fmt(r["created"].to_numpy(), "%Y-%m-%d %H:%M:%S"),
        "Last_Contact": _fmt(r["updated"].to_numpy(), "%Y-%m-%d %H:%M:%S"),
        "OK_To_Call": _yn(r["consent_phone"]),
    })
    return out


def _interactions(g: _Sample) -> dict[str, pd.DataFrame]:
    C = g.calls.copy()
    C["ts"] = _ts(C["day"].to_numpy(), np.ones(len(C), bool))
    C = C.sort_values(["ts", "record_id", "type"], kind="stable", na_position="first")
    C = C.reset_index(drop=True)
    med = C["channel"].to_numpy()
    site = np.where(med == "STORE DESK", "Store service desk", "Leeds contact centre")
    calls = pd.DataFrame({
        "ContactRef": [f"K{i + 1:07d}" for i in range(len(C))],
        "CallerRef": C["record_id"].to_numpy(),
        "ContactStart": _fmt(C["ts"].to_numpy(), "%Y-%m-%d %H:%M:%S"),
        "Medium": med,
        "Dir": "IN",
        "Reason": C["type"].map({"complaint": "COMPLAINT", "enquiry": "ENQUIRY",
                                 "service": "SERVICE", "question": "PROFILE Q"}).to_numpy(),
        "Topic": C["topic"].to_numpy(),
        "Result": C["outcome"].str.upper().to_numpy(),
        "CSAT": C["satisfaction"].astype("Int64").to_numpy(),
        "Site": site,
        "Division": "Customer Service",
    })
    K = g.camp
    ts = _ts(K["day"].to_numpy(), (K["medium"].isin(["TM", "REP"])).to_numpy())
    camp = pd.DataFrame({
        "ContactID": [f"M{i + 1:08d}" for i in range(len(K))],
        "CustNo": K["record_id"].to_numpy(),
        "CampaignCode": K["campaign"].to_numpy(),
        "SentAt": _fmt(ts, "%Y-%m-%d %H:%M:%S"),
        "Medium": K["medium"].to_numpy(),
        "Direction": "OUT",
        "ContactType": K["type"].to_numpy(),
        "Result": K["outcome"].to_numpy(),
        "Topic": K["topic"].to_numpy(),
        "UnitCost": K["cost"].to_numpy(),
        "Division": np.where(K["medium"] == "REP", "Business", "Marketing"),
    })
    return {"calls": calls, "campaigns": camp}


def _catalogue(g: _Sample) -> dict[str, pd.DataFrame]:
    P = g.cat.products
    products = pd.DataFrame({
        "SKU": P["product_id"], "Description": P["name"], "Dept": P["category"],
        "Range": P["subject"], "RRP": P["price"], "UnitCost": P["unit_cost"],
        "BuildToOrder": _yn(P["configurable"]),
    })
    Co = g.cat.components
    components = pd.DataFrame({
        "BaseSKU": Co["product_id"], "Module": Co["module"], "OptionCode": Co["option_id"],
        "OptionName": Co["option_name"], "OptionPrice": Co["price"], "OptionCost": Co["unit_cost"],
        "IsDefault": _yn(Co["is_default"]),
    })
    Ru = g.cat.rules
    rules = pd.DataFrame({"BaseSKU": Ru["product_id"], "OptionCode": Ru["option_id"],
                          "Rule": Ru["rule"].str.upper(), "OtherOptionCode": Ru["other_option_id"]})
    return {"products": products, "components": components, "rules": rules}


def _bools(yes: str, no: str) -> dict:
    return {"true_values": [yes], "false_values": [no, ""]}


def client_config(g: _Sample) -> dict:
    """The client.yaml content (a plain dict, dumped with yaml.safe_dump)."""
    from .accounts import FENCE_ECONOMICS
    from .generator import CALL_CHANNELS, CAMPAIGN_CHANNELS, CLIENT

    return {
        "client": CLIENT,
        "as_of": "2026-09-30",
        "currency": "GBP",
        "country": "GB",
        "sources": [
            {"name": "crm_customers", "path": "crm_customers.csv.gz", "table": "customer_records",
             "system": "crm", "format": "csv", "delimiter": ",", **_bools("Y", "N"),
             "columns": {"CustNo": "record_id", "FirstName": "first_name", "Surname": "last_name",
                         "Email": "email", "Tel": "phone", "Street": "street",
                         "PostCode": "postcode", "Town": "city", "Region": "region",
                         "Country": "country", "DOB": "birth_date", "Gender": "gender",
                         "HouseholdSize": "household_size",
                         "PreferredContact": "preferred_channel", "Interests": "interests",
                         "Created": "created_at", "LastUpdated": "updated_at",
                         "OptInEmail": "consent_email", "OptInSMS": "consent_sms",
                         "OptInPhone": "consent_phone", "OptInPost": "consent_mail",
                         "ConsentDate": "consent_date"},
             "values": {"preferred_channel": {"Email": "email", "Post": "mail",
                                              "Phone": "call_centre", "SMS": "sms"}}},
            {"name": "web_accounts", "path": "web_accounts.parquet", "table": "customer_records",
             "system": "web", "format": "parquet",
             "columns": {"account_id": "record_id", "email": "email", "first_name": "first_name",
                         "last_name": "last_name", "mobile": "phone",
                         "address_line1": "street", "postcode": "postcode", "city": "city",
                         "date_of_birth": "birth_date", "created_ts": "created_at",
                         "updated_ts": "updated_at",
                         "marketing_email_opt_in": "consent_email",
                         "marketing_sms_opt_in": "consent_sms", "consent_ts": "consent_date"}},
            {"name": "loyalty_cards", "path": "loyalty_cards.csv.gz", "table": "customer_records",
             "system": "loyalty", "format": "csv", "delimiter": ";", "date_format": "%d/%m/%Y",
             **_bools("1", "0"),
             "columns": {"Card_No": "record_id", "Forename": "first_name", "Surname": "last_name",
                         "Addr1": "street", "Post_Code": "postcode", "Town": "city",
                         "Home_Region": "region", "Email_Addr": "email", "Phone_No": "phone",
                         "Birth_Date": "birth_date", "Issue_Date": "created_at",
                         "Last_Change": "updated_at", "Email_OK": "consent_email",
                         "SMS_OK": "consent_sms", "Post_OK": "consent_mail",
                         "Consent_Given": "consent_date"}},
            {"name": "callcentre_callers", "path": "callcentre_callers.csv.gz",
             "table": "customer_records", "system": "callcentre", "format": "csv", **_bools("Y", "N"),
             "columns": {"CallerRef": "record_id", "Caller_First": "first_name",
                         "Caller_Last": "last_name", "Phone_Number": "phone",
                         "Post_Code": "postcode", "Email": "email",
                         "First_Contact": "created_at", "Last_Contact": "updated_at",
                         "OK_To_Call": "consent_phone"}},
            {"name": "pos_transactions", "path": "pos_transactions.csv.gz", "table": "transactions",
             "system": "loyalty", "format": "csv", "delimiter": ";",
             "date_format": "%d/%m/%Y %H:%M:%S", **_bools("Y", "N"),
             "columns": {"TxnLineID": "transaction_id", "Receipt_No": "order_id",
                         "Card_No": "record_id", "Txn_Time": "date", "SKU": "product_id",
                         "Qty": "quantity", "Net_Amount": "amount", "Cost_Amount": "cost",
                         "Return_Flag": "is_return", "Channel": "channel", "Store": "location",
                         "Store_Region": "region", "Division": "division"},
             "values": {"channel": {"POS": "store"}}},
            {"name": "web_orders", "path": "web_orders.parquet", "table": "transactions",
             "system": "web", "format": "parquet",
             "columns": {"order_line_id": "transaction_id", "order_id": "order_id",
                         "account_id": "record_id", "ordered_at": "date", "sku": "product_id",
                         "qty": "quantity", "line_total": "amount", "line_cost": "cost",
                         "is_return": "is_return", "sales_channel": "channel", "site": "location",
                         "delivery_region": "region", "division": "division"},
             "values": {"channel": {"ONLINE": "web"}}},
            {"name": "crm_orders", "path": "crm_orders.csv.gz", "table": "transactions",
             "system": "crm", "format": "csv", "delimiter": ";", "decimal": ",",
             **_bools("Y", "N"),
             "columns": {"OrderLineRef": "transaction_id", "OrderRef": "order_id",
                         "CustNo": "record_id", "OrderDate": "date", "ProductCode": "product_id",
                         "Units": "quantity", "Value": "amount", "COGS": "cost",
                         "Credit": "is_return", "Route": "channel", "Office": "location",
                         "Region": "region", "Division": "division"},
             "values": {"channel": {"REP": "sales_rep", "CAT": "mail"}}},
            {"name": "callcentre_contacts", "path": "callcentre_contacts.csv.gz",
             "table": "interactions", "system": "callcentre", "format": "csv",
             "columns": {"ContactRef": "interaction_id", "CallerRef": "record_id",
                         "ContactStart": "date", "Medium": "channel", "Dir": "direction",
                         "Reason": "type", "Topic": "topic", "Result": "outcome",
                         "CSAT": "satisfaction", "Site": "location", "Division": "division"},
             "values": {"channel": dict(CALL_CHANNELS),
                        "direction": {"IN": "inbound"},
                        "type": {"COMPLAINT": "complaint", "ENQUIRY": "enquiry",
                                 "SERVICE": "service", "PROFILE Q": "question"},
                        "outcome": {"RESOLVED": "resolved", "OPEN": "open",
                                    "ANSWERED": "answered", "DECLINED": "declined"}}},
            {"name": "crm_campaign_contacts", "path": "crm_campaign_contacts.csv.gz",
             "table": "interactions", "system": "crm", "format": "csv",
             "columns": {"ContactID": "interaction_id", "CustNo": "record_id",
                         "CampaignCode": "campaign_id", "SentAt": "date", "Medium": "channel",
                         "Direction": "direction", "ContactType": "type", "Result": "outcome",
                         "Topic": "topic", "UnitCost": "cost", "Division": "division"},
             "values": {"channel": dict(CAMPAIGN_CHANNELS),
                        "direction": {"OUT": "outbound"},
                        "type": {"OFFER": "offer", "CAMPAIGN": "campaign",
                                 "QUESTION": "question", "VISIT": "visit"},
                        "outcome": {"RESPONDED": "responded", "NO RESPONSE": "no_response",
                                    "ACCEPTED": "accepted", "DECLINED": "declined",
                                    "ANSWERED": "answered"}}},
            {"name": "products", "path": "products.csv", "table": "products", "format": "csv",
             **_bools("Y", "N"),
             "columns": {"SKU": "product_id", "Description": "name", "Dept": "category",
                         "Range": "subject", "RRP": "price", "UnitCost": "unit_cost",
                         "BuildToOrder": "configurable"}},
            {"name": "components", "path": "components.csv", "table": "components",
             "format": "csv", **_bools("Y", "N"),
             "columns": {"BaseSKU": "product_id", "Module": "module", "OptionCode": "option_id",
                         "OptionName": "option_name", "OptionPrice": "price",
                         "OptionCost": "unit_cost", "IsDefault": "is_default"}},
            {"name": "component_rules", "path": "component_rules.csv", "table": "component_rules",
             "format": "csv",
             "columns": {"BaseSKU": "product_id", "OptionCode": "option_id", "Rule": "rule",
                         "OtherOptionCode": "other_option_id"},
             "values": {"rule": {"REQUIRES": "requires", "EXCLUDES": "excludes"}}},
        ],
        "channel_costs": {"web": 0.10, "email": 0.05, "sms": 0.08, "call_centre": 6.50,
                          "store": 4.00, "sales_rep": 45.00, "mail": 1.20},
        "tiers": {"mvc_share": 0.05, "mgc_share": 0.15, "bz_max_contribution": 0.0,
                  "migrator_band": 0.1},
        "fence": dict(FENCE_ECONOMICS),  # reasoning in accounts.py and data/sample/README.md
        "clv": {"horizon_months": 36, "annual_discount_rate": 0.10, "holdout_months": 6},
        "identify": {"threshold_probability": 0.95, "review_band": [0.5, 0.95],
                     "survivorship": {"first_name": "most_frequent", "last_name": "most_frequent",
                                      "email": "most_recent", "phone": "most_recent",
                                      "street": "most_recent", "postcode": "most_recent",
                                      "city": "most_recent", "birth_date": "source_priority",
                                      "consent_email": "most_recent"},
                     "source_priority": ["crm", "web", "loyalty", "callcentre"]},
        "contact_policy": {"caps_per_month": {"MVC": 4, "MGC": 4, "maintain": 2, "BZ": 1},
                           "quiet_days_after_complaint": 14},
    }


QUIRKS = {"pos_bad_dates": 120, "campaign_unknown_channel": 80, "pos_ragged": 1}
"""Rows the sample's exports carry that ingest must quarantine (data/sample/README.md, "What
ingest quarantines"). Each is an extra row beside the real ones, so the ground truth holds."""


def _export_quirks(g: _Sample, tx: dict, it: dict) -> tuple[str, int]:
    """Add the quirks of real exports; return the POS line to write ragged (and its position)."""
    rng = np.random.default_rng(np.random.SeedSequence(g.seed).spawn(14)[13])
    pos = tx["pos"]
    # a till whose clock was reset re-sent some lines: impossible or zero dates
    n = QUIRKS["pos_bad_dates"]
    rows = np.sort(rng.choice(len(pos), n, replace=False))
    bad = pos.iloc[rows].copy()
    bad["TxnLineID"] = bad["TxnLineID"] + "-RESENT"
    clock = bad["Txn_Time"].str[-8:]
    bad["Txn_Time"] = np.where(rng.random(n) < 0.5, "31/02/2026 " + clock, "00/00/0000 00:00:00")
    order = np.concatenate([np.arange(len(pos)), rows + 0.5])
    tx["pos"] = pd.concat([pos, bad], ignore_index=True).iloc[np.argsort(order, kind="stable")]
    tx["pos"] = tx["pos"].reset_index(drop=True)
    # the CRM still logs a fax campaign: a channel the canonical model does not have
    camp = it["campaigns"]
    n = QUIRKS["campaign_unknown_channel"]
    rows = np.sort(rng.choice(len(camp), n, replace=False))
    fax = camp.iloc[rows].copy()
    fax["ContactID"] = fax["ContactID"].astype(str) + "-FAX"
    fax["Medium"] = "FAX"
    order = np.concatenate([np.arange(len(camp)), rows + 0.5])
    it["campaigns"] = pd.concat([camp, fax], ignore_index=True).iloc[
        np.argsort(order, kind="stable")].reset_index(drop=True)
    # one POS line whose store name holds the delimiter, unquoted: a ragged row
    k = int(rng.integers(len(pos)))
    line = pos.iloc[[k]].copy()
    line["TxnLineID"] = line["TxnLineID"] + "-DUP"
    text = line.to_csv(index=False, header=False, sep=";", float_format="%.2f",
                       lineterminator="\n").rstrip("\n")
    store = str(line["Store"].iloc[0])
    return text.replace(f";{store};", f";{store};Annex;", 1), k


def write_all(g: _Sample, out: Path) -> dict:
    """Write every file; return counts of what was written."""
    from .generator import write_csv, write_parquet

    out.mkdir(parents=True, exist_ok=True)
    gt = out / GROUND_TRUTH
    gt.mkdir(exist_ok=True)
    written: list[Path] = []

    def csv(df, name, **kw):
        write_csv(df, out / name, **kw)
        written.append(out / name)

    def parquet(df, name):
        write_parquet(df, out / name)
        written.append(out / name)

    recs = _records(g)
    csv(recs["crm"], "crm_customers.csv.gz")
    parquet(recs["web"], "web_accounts.parquet")
    csv(recs["loyalty"], "loyalty_cards.csv.gz", sep=";")
    csv(recs["callcentre"], "callcentre_callers.csv.gz")
    tx = _transactions(g)
    it = _interactions(g)
    ragged, at = _export_quirks(g, tx, it)
    from .generator import gzip_bytes

    lines = tx["pos"].to_csv(index=False, sep=";", float_format="%.2f",
                             lineterminator="\n").split("\n")
    lines.insert(1 + at, ragged)
    (out / "pos_transactions.csv.gz").write_bytes(gzip_bytes("\n".join(lines).encode("utf-8")))
    written.append(out / "pos_transactions.csv.gz")
    parquet(tx["web"], "web_orders.parquet")
    # the CRM's order system exports with ';' and a decimal comma
    csv(tx["crm_orders"], "crm_orders.csv.gz", sep=";", decimal=",", float_format="%.2f")
    csv(it["calls"], "callcentre_contacts.csv.gz")
    csv(it["campaigns"], "crm_campaign_contacts.csv.gz", float_format="%.2f")
    cat = _catalogue(g)
    csv(cat["products"], "products.csv", float_format="%.2f")
    csv(cat["components"], "components.csv", float_format="%.2f")
    csv(cat["rules"], "component_rules.csv")
    text = ("# Harbour & Finch: the sample client (generated by `onetoone sample`; "
            "do not edit by hand)\n" + yaml.safe_dump(client_config(g), sort_keys=False,
                                                      allow_unicode=True, width=100))
    (out / "client.yaml").write_text(text, encoding="utf-8")
    written.append(out / "client.yaml")

    # ground truth ------------------------------------------------------------------------
    R = g.records
    truth_records = pd.DataFrame({"source_system": R["source"], "record_id": R["record_id"],
                                  "person_id": g.people["person_id"].to_numpy()[R["person"]]})
    truth_records = truth_records.sort_values(["source_system", "record_id"]).reset_index(drop=True)
    csv(truth_records, f"{GROUND_TRUTH}/records.csv.gz")
    P = g.people
    m = g.truth
    last = m["last_purchase_day"]
    last_date = np.where(np.isnan(last), None,
                         _fmt(_ts(np.nan_to_num(last)), "%Y-%m-%d"))
    people = pd.DataFrame({
        "person_id": P["person_id"], "segment": P["segment"], "household_id": P["household_id"],
        "affinity_subjects": P["affinity"], "first_name": P["first_name"],
        "last_name": P["last_name"], "email": P["email"], "phone": P["phone"],
        "birth_date": pd.to_datetime(P["birth_date"]).dt.strftime("%Y-%m-%d"),
        "postcode": P["postcode"], "region": P["region"],
        "is_business": g.business, "is_decliner": g.decliner, "is_lost_valuable": g.lost,
        "is_below_zero": g.below, "is_over_contacted": g.over,
        "is_repeat_complainer": m["complaints"] >= 3, "planted_complainer": g.complainer,
        "has_no_identifier": g.no_identifier, "shares_email": P["shares_email"],
        "moved": P["moved"],
        "orders": m["orders"], "revenue": m["revenue"].round(2), "margin": m["margin"].round(2),
        "cost_to_serve": m["cost_to_serve"].round(2), "contribution": m["contribution"].round(2),
        "revenue_prev_year": m["revenue_prev_year"].round(2),
        "revenue_last_year": m["revenue_last_year"].round(2),
        "complaints": m["complaints"], "max_outbound_per_month": m["max_outbound_per_month"],
        "last_purchase_date": last_date,
    })
    csv(people, f"{GROUND_TRUTH}/people.csv.gz", float_format="%.2f")

    counts = {
        "people": int(g.n),
        "records": {s: int((R["source"] == s).sum()) for s in ("crm", "web", "loyalty",
                                                                 "callcentre")},
        "transactions": {"pos": len(tx["pos"]), "web": len(tx["web"]),
                         "crm": len(tx["crm_orders"])},
        "interactions": {"callcentre": len(it["calls"]), "crm": len(it["campaigns"])},
        "products": len(cat["products"]), "components": len(cat["components"]),
        "component_rules": len(cat["rules"]),
        "stories": {"decliners": int(g.decliner.sum()), "lost_valuable": int(g.lost.sum()),
                    "below_zero": int(g.below.sum()), "over_contacted": int(g.over.sum()),
                    "repeat_complainers": int((m["complaints"] >= 3).sum()),
                    "business": int(g.business.sum()), "no_identifier": int(g.no_identifier.sum())},
        "records_made_hard_to_link": int(g.link_repairs),
        "files": len(written),
    }
    return counts
