"""The canonical data model: every table and column name, defined once.

A client's exports are mapped onto these tables by the client config (``sources[].columns``
maps the client's column name to the canonical one). Stage code takes column names as
keyword arguments whose defaults are the constants below, so a client's odd names never
leak inward.

Each :class:`Column` says its type (``str``, ``int``, ``float``, ``bool``, ``date``,
``timestamp``), whether ingest requires it, and what it means; :data:`TABLES` groups them
per canonical input table, and :data:`STAGE_TABLES` lists what each stage writes.
"""

from __future__ import annotations

from dataclasses import dataclass

# --- keys -------------------------------------------------------------------------------
SOURCE_SYSTEM = "source_system"  # which source system a record or event came from
RECORD_ID = "record_id"  # the source system's own key for a customer record
RECORD_KEY = "record_key"  # "<source_system>:<record_id>", unique across sources (ingest adds)
CUSTOMER_ID = "customer_id"  # the resolved customer (Identify writes record_map)

# --- customer records ---------------------------------------------------------------------
FIRST_NAME = "first_name"
LAST_NAME = "last_name"
EMAIL = "email"
PHONE = "phone"
STREET = "street"
POSTCODE = "postcode"
CITY = "city"
REGION = "region"
COUNTRY = "country"
BIRTH_DATE = "birth_date"
GENDER = "gender"
HOUSEHOLD_SIZE = "household_size"
PREFERRED_CHANNEL = "preferred_channel"
INTERESTS = "interests"
CREATED_AT = "created_at"
UPDATED_AT = "updated_at"
CONSENT_EMAIL = "consent_email"
CONSENT_SMS = "consent_sms"
CONSENT_PHONE = "consent_phone"
CONSENT_MAIL = "consent_mail"
CONSENT_DATE = "consent_date"
# identifiers a client holds (Identify compares them exactly and with one typo)
NATIONAL_ID = "national_id"  # national insurance / social security / tax number
ACCOUNT_NUMBER = "account_number"
LOYALTY_NUMBER = "loyalty_number"
CARD_NUMBER = "card_number"
HOUSE_NUMBER = "house_number"
ADDRESS_LINE2 = "address_line2"

# --- transactions -------------------------------------------------------------------------
TRANSACTION_ID = "transaction_id"  # one row per order line; unique
ORDER_ID = "order_id"
DATE = "date"
PRODUCT_ID = "product_id"
QUANTITY = "quantity"
AMOUNT = "amount"  # revenue of the line, in the client currency; negative for a return
COST = "cost"  # cost of goods of the line (falls back to quantity x product unit_cost)
IS_RETURN = "is_return"
CHANNEL = "channel"
LOCATION = "location"  # store, site or office where it happened
DIVISION = "division"

# --- interactions -------------------------------------------------------------------------
INTERACTION_ID = "interaction_id"
DIRECTION = "direction"  # inbound | outbound
INTERACTION_TYPE = "type"  # complaint, enquiry, service, campaign, offer, question, visit
OUTCOME = "outcome"  # resolved, open, responded, no_response, accepted, declined, answered
CAMPAIGN_ID = "campaign_id"
TOPIC = "topic"  # what it was about; for type=question the profile attribute asked
SATISFACTION = "satisfaction"  # 1-5 when measured

# --- products -----------------------------------------------------------------------------
NAME = "name"
CATEGORY = "category"
SUBJECT = "subject"
PRICE = "price"
UNIT_COST = "unit_cost"
CONFIGURABLE = "configurable"

# --- configurator -------------------------------------------------------------------------
MODULE = "module"
OPTION_ID = "option_id"
OPTION_NAME = "option_name"
IS_DEFAULT = "is_default"
OTHER_OPTION_ID = "other_option_id"
RULE = "rule"  # requires | excludes

# --- vocabularies -------------------------------------------------------------------------
CHANNELS = ("web", "email", "sms", "call_centre", "store", "sales_rep", "mail")
"""Every channel a contact or a purchase can happen on (client values are mapped onto these)."""
CONSENT_CHANNELS = {"email": CONSENT_EMAIL, "sms": CONSENT_SMS, "call_centre": CONSENT_PHONE,
                    "mail": CONSENT_MAIL}
"""Outbound channels that need consent, and the consent column that grants it."""
DIRECTIONS = ("inbound", "outbound")
RULES = ("requires", "excludes")


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str  # str | int | float | bool | date | timestamp
    required: bool
    meaning: str


def _c(name: str, dtype: str, meaning: str, required: bool = False) -> Column:
    return Column(name, dtype, required, meaning)


TABLES: dict[str, tuple[Column, ...]] = {
    "customer_records": (
        _c(RECORD_ID, "str", "the source system's key for this customer record", True),
        _c(FIRST_NAME, "str", "given name"),
        _c(LAST_NAME, "str", "family name"),
        _c(EMAIL, "str", "email address"),
        _c(PHONE, "str", "phone number, any format"),
        _c(STREET, "str", "street (with the house number, or without it when house_number is mapped)"),
        _c(HOUSE_NUMBER, "str", "house or building number, when the export keeps it apart"),
        _c(ADDRESS_LINE2, "str", "second address line (flat, building, locality)"),
        _c(POSTCODE, "str", "postal code"),
        _c(CITY, "str", "town or city"),
        _c(REGION, "str", "sales region, state or county (compared when matching)"),
        _c(COUNTRY, "str", "ISO country code (config default when absent)"),
        _c(BIRTH_DATE, "date", "date of birth"),
        _c(NATIONAL_ID, "str", "national, social security or tax identifier (sensitive)"),
        _c(ACCOUNT_NUMBER, "str", "customer or contract account number in this source (sensitive)"),
        _c(LOYALTY_NUMBER, "str", "loyalty or membership number (sensitive)"),
        _c(CARD_NUMBER, "str", "payment or store card number (sensitive)"),
        _c(GENDER, "str", "as the customer stated it"),
        _c(HOUSEHOLD_SIZE, "int", "people in the household"),
        _c(PREFERRED_CHANNEL, "str", "channel the customer asked to be contacted on"),
        _c(INTERESTS, "str", "interests the customer told us, ';'-separated"),
        _c(CREATED_AT, "timestamp", "when the record was created"),
        _c(UPDATED_AT, "timestamp", "when the record was last changed"),
        _c(CONSENT_EMAIL, "bool", "opted in to email"),
        _c(CONSENT_SMS, "bool", "opted in to text messages"),
        _c(CONSENT_PHONE, "bool", "opted in to phone calls"),
        _c(CONSENT_MAIL, "bool", "opted in to postal mail"),
        _c(CONSENT_DATE, "date", "when consent was last given or changed"),
    ),
    "transactions": (
        _c(TRANSACTION_ID, "str", "unique id of the order line", True),
        _c(ORDER_ID, "str", "order or basket the line belongs to"),
        _c(RECORD_ID, "str", "customer record of the buyer in this source; empty = anonymous"),
        _c(DATE, "timestamp", "when it was bought or returned", True),
        _c(PRODUCT_ID, "str", "product bought", True),
        _c(QUANTITY, "float", "units (negative or with is_return for returns)"),
        _c(AMOUNT, "float", "revenue of the line in the client currency", True),
        _c(COST, "float", "cost of goods of the line"),
        _c(IS_RETURN, "bool", "the line is a return"),
        _c(CHANNEL, "str", "channel of the sale (web, store, call_centre, sales_rep, mail)"),
        _c(LOCATION, "str", "store or site"),
        _c(REGION, "str", "sales region"),
        _c(DIVISION, "str", "business division"),
    ),
    "interactions": (
        _c(INTERACTION_ID, "str", "unique id of the contact", True),
        _c(RECORD_ID, "str", "customer record in this source; empty = unrecognised"),
        _c(DATE, "timestamp", "when it happened", True),
        _c(CHANNEL, "str", "web, email, sms, call_centre, store, sales_rep, mail", True),
        _c(DIRECTION, "str", "inbound (customer started it) or outbound (we did)"),
        _c(INTERACTION_TYPE, "str", "complaint, enquiry, service, campaign, offer, question, visit"),
        _c(OUTCOME, "str", "resolved, open, responded, no_response, accepted, declined, answered"),
        _c(CAMPAIGN_ID, "str", "campaign of an outbound contact"),
        _c(TOPIC, "str", "subject; for a question, the profile attribute asked"),
        _c(COST, "float", "cost of this contact (channel unit cost when empty)"),
        _c(SATISFACTION, "float", "satisfaction score 1-5"),
        _c(LOCATION, "str", "store, site or office"),
        _c(DIVISION, "str", "business division"),
    ),
    "products": (
        _c(PRODUCT_ID, "str", "product key", True),
        _c(NAME, "str", "product name"),
        _c(CATEGORY, "str", "product category", True),
        _c(SUBJECT, "str", "subject or theme (for subject catalog editions)"),
        _c(PRICE, "float", "list price"),
        _c(UNIT_COST, "float", "cost of goods per unit"),
        _c(CONFIGURABLE, "bool", "built to order from modular components"),
    ),
    "components": (
        _c(PRODUCT_ID, "str", "configurable base product", True),
        _c(MODULE, "str", "module of the product (frame, colour, ...)", True),
        _c(OPTION_ID, "str", "option key, unique within the product", True),
        _c(OPTION_NAME, "str", "option shown to the customer"),
        _c(PRICE, "float", "price added by this option", True),
        _c(UNIT_COST, "float", "cost added by this option"),
        _c(IS_DEFAULT, "bool", "the module's default option"),
    ),
    "component_rules": (
        _c(PRODUCT_ID, "str", "configurable base product", True),
        _c(OPTION_ID, "str", "option the rule is about", True),
        _c(RULE, "str", "requires | excludes", True),
        _c(OTHER_OPTION_ID, "str", "the option it requires or excludes", True),
    ),
}
"""Canonical input tables. Tables with a customer link also get source_system and record_key."""

IDENTIFIER_COLUMNS = (NATIONAL_ID, ACCOUNT_NUMBER, LOYALTY_NUMBER, CARD_NUMBER)
"""Identifiers a source may hold for its customers: each one a source maps is compared
exactly and with one typo, and blocks on its own."""

SENSITIVE_COLUMNS = (*IDENTIFIER_COLUMNS, "national_id_n", "account_number_n",
                     "loyalty_number_n", "card_number_n")
"""Columns never shown unmasked in reports (the report masker hides their values)."""

LINKED_TABLES = ("customer_records", "transactions", "interactions")
"""Tables whose rows carry a source system (from the source's config) and a record key."""

UNIQUE_KEYS: dict[str, tuple[str, ...]] = {
    "customer_records": (SOURCE_SYSTEM, RECORD_ID),
    "transactions": (TRANSACTION_ID,),
    "interactions": (INTERACTION_ID,),
    "products": (PRODUCT_ID,),
    "components": (PRODUCT_ID, OPTION_ID),
    "component_rules": (PRODUCT_ID, OPTION_ID, RULE, OTHER_OPTION_ID),
}

STAGE_TABLES: dict[str, dict[str, str]] = {
    "ingest": {
        "customer_records": "customer records from every source system",
        "transactions": "order lines",
        "interactions": "contacts on every channel",
        "products": "the product catalogue",
        "components": "modules and options of configurable products",
        "component_rules": "compatibility rules between options",
        "quarantine": "rows that could not be used: file, row, column, value, reason",
        "ingest_log": "one row per source and ingest run: read, loaded, quarantined",
    },
    "identify": {
        "record_map": "record_key -> customer_id, with the cluster's match weight",
        "customers": "golden record per customer",
        "linkage_pairs": "scored candidate pairs with field-by-field agreement",
        "link_overrides": "must-link / cannot-link decisions (never overwritten by a run)",
    },
    "differentiate": {
        "customer_value": "history, CLV, potential, share of wallet, tier, segment per customer",
        "segments": "needs segment profiles and names",
        "fence_assignment": "customers inside the picket fence with their customer manager",
        "clv_holdout": "predicted against actual repeat purchases in the holdout, by frequency",
        "client_position": "the client's place on the differentiation matrix (skew, diversity)",
    },
    "interact": {
        "contact_plan": "next best action per customer, channel, reason, priority, value",
    },
    "customize": {
        "recommendations": "top-k products per customer with a reason",
        "configurations": "every configuration a customer made (history)",
    },
}


# --- the run ledger (Workspace.stage_run writes it) -------------------------------------------
RUN_LEDGER = "run_ledger"
"""One row per stage run: what ran, when, how it ended, and the fingerprints of what it read
and wrote ({table: [rows, content hash]}), so a later stage can tell a stale upstream."""
RUN_LEDGER_COLUMNS: dict[str, str] = {
    "run_id": "VARCHAR", "stage": "VARCHAR", "started_at": "TIMESTAMP", "ended_at": "TIMESTAMP",
    "status": "VARCHAR", "inputs": "VARCHAR", "outputs": "VARCHAR", "message": "VARCHAR",
}
"""Ledger columns and their DuckDB types; status is running | ok | failed | refused
(a running row no live process owns reads ``interrupted``)."""

UPSTREAM: dict[str, tuple[str, ...]] = {
    "identify": (),
    "differentiate": ("identify",),
    "interact": ("identify", "differentiate"),
    "customize": ("identify", "differentiate"),
}
"""The stages whose tables a stage reads; their last run must have finished on current inputs."""

STAGE_READS: dict[str, tuple[str, ...]] = {
    "identify": ("customer_records", "link_overrides"),
    "differentiate": ("customer_records", "transactions", "interactions", "products",
                      "record_map", "customers"),
    "interact": ("customer_records", "transactions", "interactions", "products", "record_map",
                 "customers", "customer_value"),
    "customize": ("transactions", "products", "components", "component_rules", "record_map",
                  "customers", "customer_value"),
}
"""Tables each stage reads (fingerprinted in the ledger when it finishes)."""


def columns_of(table: str) -> tuple[Column, ...]:
    """The canonical columns of an input table; raises KeyError naming the known tables."""
    try:
        return TABLES[table]
    except KeyError:
        raise KeyError(f"unknown canonical table {table!r}; expected one of {sorted(TABLES)}") from None


def markdown() -> str:
    """The data model as Markdown (docs/data_model.md is this text; a test keeps them equal)."""
    out = ["# The data model", "",
           ("Generated from `lib/onetoone/columns.py` by `python -m onetoone.columns > "
           "docs/data_model.md`; do not edit by hand."), "",
           ("Map each client export onto one canonical table in the client YAML (`sources[].table`, "
           "`sources[].columns` from the client's column name to the canonical one, `sources[].values` "
           "for client vocabularies such as channel names). Tables with a customer link "
           f"({', '.join(LINKED_TABLES)}) also get `{SOURCE_SYSTEM}` (from `sources[].system`) and "
           f"`{RECORD_KEY}` = `<source_system>:<record_id>`; every loaded row keeps the config "
           "`source` it came from. Required columns must be mapped; a row with an empty or "
           "unusable required value is quarantined, a bad optional value is cleared and recorded."), ""]
    for table, cols in TABLES.items():
        key = " + ".join(UNIQUE_KEYS[table])
        out += [f"## {table}", "", f"Unique key: {key}.", "",
                "| column | type | required | meaning |", "|---|---|---|---|"]
        out += [f"| {c.name} | {c.dtype} | {'yes' if c.required else ''} | {c.meaning} |"
                for c in cols]
        out.append("")
    out += ["## Vocabularies", "",
            f"- channel: {', '.join(CHANNELS)}",
            f"- direction: {', '.join(DIRECTIONS)}",
            f"- component rule: {', '.join(RULES)}",
            "- consent needed for outbound: " + ", ".join(f"{k} ({v})" for k, v in
                                                         CONSENT_CHANNELS.items()), "",
            "## What each stage writes", "", "| stage | table | contents |", "|---|---|---|"]
    for stage, tables in STAGE_TABLES.items():
        out += [f"| {stage} | {t} | {d} |" for t, d in tables.items()]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
