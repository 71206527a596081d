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

# --- saved configurations (the client's own configurator export) -----------------------------
CONFIGURATION_ID = "configuration_id"
OPTIONS = "options"  # option ids chosen, ';'-separated (or a JSON object module -> option id)
STATUS = "status"  # saved | ordered | abandoned
CONFIGURATION_STATUSES = ("saved", "ordered", "abandoned")

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
    "saved_configurations": (
        _c(CONFIGURATION_ID, "str", "unique id of the saved configuration", True),
        _c(RECORD_ID, "str", "customer record of whoever saved it in this source", True),
        _c(PRODUCT_ID, "str", "configurable base product", True),
        _c(OPTIONS, "str", "option ids chosen, ';'-separated (or a JSON object module -> "
           "option id)", True),
        _c(PRICE, "float", "price quoted for the configuration"),
        _c(CREATED_AT, "timestamp", "when it was saved or ordered", True),
        _c(STATUS, "str", "saved, ordered or abandoned (saved when empty)"),
    ),
}
"""Canonical input tables. Tables with a customer link also get source_system and record_key."""

IDENTIFIER_COLUMNS = (NATIONAL_ID, ACCOUNT_NUMBER, LOYALTY_NUMBER, CARD_NUMBER)
"""Identifiers a source may hold for its customers: each one a source maps is compared
exactly and with one typo, and blocks on its own."""

SENSITIVE_COLUMNS = (*IDENTIFIER_COLUMNS, "national_id_n", "account_number_n",
                     "loyalty_number_n", "card_number_n")
"""Columns never shown unmasked in reports (the report masker hides their values)."""

LINKED_TABLES = ("customer_records", "transactions", "interactions", "saved_configurations")
"""Tables whose rows carry a source system (from the source's config) and a record key."""

UNIQUE_KEYS: dict[str, tuple[str, ...]] = {
    "customer_records": (SOURCE_SYSTEM, RECORD_ID),
    "transactions": (TRANSACTION_ID,),
    "interactions": (INTERACTION_ID,),
    "products": (PRODUCT_ID,),
    "components": (PRODUCT_ID, OPTION_ID),
    "component_rules": (PRODUCT_ID, OPTION_ID, RULE, OTHER_OPTION_ID),
    "saved_configurations": (SOURCE_SYSTEM, CONFIGURATION_ID),
}

# --- stage outputs: the columns stages hand each other ---------------------------------------
# record_map / customers (Identify)
CLUSTER_SIZE = "cluster_size"
MATCH_PROBABILITY = "match_probability"
HAS_IDENTIFIER = "has_identifier"
N_RECORDS = "n_records"
SOURCES = "sources"
FIRST_SEEN = "first_seen"
# customer_value (Differentiate)
REVENUE = "revenue"
GROSS_MARGIN = "gross_margin"
COST_TO_SERVE = "cost_to_serve"
CONTRIBUTION = "contribution"
ORDERS = "orders"
FIRST_PURCHASE = "first_purchase"
LAST_PURCHASE = "last_purchase"
REVENUE_12M = "revenue_12m"
REVENUE_PREV_12M = "revenue_prev_12m"
REVENUE_BEFORE_12M = "revenue_before_12m"
GROSS_MARGIN_12M = "gross_margin_12m"
COST_TO_SERVE_12M = "cost_to_serve_12m"
CONTRIBUTION_12M = "contribution_12m"
RETURNED_ORDERS = "returned_orders"
RETURNS_VALUE = "returns_value"
CONTACTS = "contacts"
INBOUND_CONTACTS = "inbound_contacts"
COMPLAINTS = "complaints"
FREQUENCY = "frequency"
RECENCY = "recency"
AGE_T = "T"
MONETARY_VALUE = "monetary_value"
P_ALIVE = "p_alive"
EXPECTED_PURCHASES = "expected_purchases"
CLV = "clv"
PROFILE = "profile"
POTENTIAL = "potential"
SHARE_OF_WALLET = "share_of_wallet"
UNREALISED_POTENTIAL = "unrealised_potential"
POTENTIAL_BASIS = "potential_basis"
TIER = "tier"
MIGRATOR = "migrator"
MIGRATOR_EDGE = "migrator_edge"
SEGMENT = "segment"
SEGMENT_NAME = "segment_name"
IS_DECLINER = "is_decliner"
IS_LOST_VALUABLE = "is_lost_valuable"
IS_LOW_SHARE_HIGH_POTENTIAL = "is_low_share_high_potential"
# fence_assignment (Differentiate), contact_plan (Interact), recommendations (Customize)
VALUE = "value"
RANK = "rank"
MANAGER = "manager"
ACTION = "action"
REASON = "reason"
PRIORITY = "priority"
EXPECTED_VALUE = "expected_value"
PLANNED_DATE = "planned_date"
QUESTION = "question"
QUESTION_2 = "question_2"
CHANNEL_COST = "channel_cost"
SCORE = "score"
REASON_PRODUCT_ID = "reason_product_id"


@dataclass(frozen=True)
class OutputTable:
    """The contract of a table a stage writes: who writes it, what it holds, its columns.

    ``extra`` is the rule for columns beyond ``columns``: ``()`` none (the default), a tuple of
    allowed names, or ``"*"`` any (tables with one column per feature or per compared field)."""

    stage: str
    meaning: str
    columns: tuple[Column, ...]
    extra: tuple[str, ...] | str = ()
    extra_meaning: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _o(stage: str, meaning: str, *columns: Column, extra: tuple[str, ...] | str = (),
       extra_meaning: str = "") -> OutputTable:
    return OutputTable(stage, meaning, tuple(columns), extra, extra_meaning)


_GOLDEN_FIELDS = tuple(c.name for c in TABLES["customer_records"] if c.name != RECORD_ID)

OUTPUT_TABLES: dict[str, OutputTable] = {
    # -- identify ------------------------------------------------------------------------------
    "record_map": _o(
        "identify", "which customer each source record belongs to",
        _c(RECORD_KEY, "str", "<source_system>:<record_id> of the customer record", True),
        _c(CUSTOMER_ID, "str", "the resolved customer", True),
        _c(SOURCE_SYSTEM, "str", "source system of the record"),
        _c(RECORD_ID, "str", "the source system's key"),
        _c(CLUSTER_SIZE, "int", "records resolved into this customer"),
        _c(MATCH_PROBABILITY, "float", "lowest match probability that joined the record in"),
        _c(HAS_IDENTIFIER, "bool", "the record had a usable identifier (else a single customer)")),
    "customers": _o(
        "identify", "golden record per customer (survivorship per field)",
        _c(CUSTOMER_ID, "str", "the resolved customer", True),
        _c(N_RECORDS, "int", "source records behind the customer"),
        _c(SOURCES, "str", "source systems it was seen in, ';'-separated"),
        _c(FIRST_SEEN, "timestamp", "earliest created_at of its records"),
        extra=_GOLDEN_FIELDS, extra_meaning="the customer_records fields the sources map"),
    "linkage_pairs": _o(
        "identify", "scored candidate pairs with field-by-field agreement",
        _c("match_weight", "float", "log2 Bayes factor of the pair"),
        _c("match_probability", "float", "probability the two are one person"),
        _c("record_key_l", "str", "left record"), _c("record_key_r", "str", "right record"),
        _c("guarded", "bool", "held for review by the household guard"),
        extra="*", extra_meaning="per compared field: normalised values (_l, _r), agreement level "
                                 "(gamma_) and weight (weight_); customer ids and same_customer"),
    "linkage_levels": _o(
        "identify", "the linkage model: m and u per field and agreement level",
        _c("field", "str", "compared field"), _c("gamma", "int", "agreement level"),
        _c("label", "str", "what the level means"), _c("m", "float", "P(level | same person)"),
        _c("u", "float", "P(level | different people)"), _c("weight", "float", "log2(m / u)"),
        _c("m_trained", "bool", "m was estimated by a training session (else left at its prior)")),
    "linkage_weights": _o(
        "identify", "histogram of pair match weights",
        _c("bin_start", "float", "lower edge of the weight bin"), _c("pairs", "int", "pairs in it")),
    "linkage_blocking": _o(
        "identify", "comparisons per blocking rule",
        _c("rule", "str", "blocking rule"), _c("comparisons", "int", "pairs it generates"),
        _c("largest_block", "str", "key of its largest block"),
        _c("largest_block_records", "int", "records in that block"),
        _c("largest_block_comparisons", "int", "pairs in that block"),
        _c("new_comparisons", "int", "pairs this rule adds to the rules before it"),
        _c("cumulative_comparisons", "int", "pairs from this rule and the rules before it"),
        _c("estimated", "bool", "the counts are estimated from a record sample (above 2M pairs)")),
    "linkage_model": _o(
        "identify", "the linkage model's choices: comparisons, blocking and prior rules, "
                    "training sessions, fill rates, notes, the blocking-recall estimate",
        _c("what", "str", "kind of entry (comparison, blocking rule, training session, ...)"),
        _c("item", "str", "which one"),
        _c("detail", "str", "where it came from, its outcome or its value")),
    "link_overrides": _o(
        "identify", "must-link / cannot-link decisions (never overwritten by a run)",
        _c("record_key_l", "str", "one record"), _c("record_key_r", "str", "the other record"),
        _c("decision", "str", "must_link | cannot_link"), _c("reason", "str", "why"),
        _c("decided_by", "str", "who decided"), _c("decided_at", "timestamp", "when")),
    # -- differentiate -------------------------------------------------------------------------
    "customer_value": _o(
        "differentiate", "history, CLV, potential, share of wallet, tier, segment per customer",
        _c(CUSTOMER_ID, "str", "the customer", True),
        _c(REVENUE, "float", "net revenue to as_of (returns deducted)"),
        _c(GROSS_MARGIN, "float", "revenue minus cost of goods"),
        _c(COST_TO_SERVE, "float", "contact costs (channel unit costs)"),
        _c(CONTRIBUTION, "float", "gross_margin minus cost_to_serve"),
        _c(ORDERS, "float", "orders (distinct order ids, else purchase days)"),
        _c(FIRST_PURCHASE, "timestamp", "first purchase"),
        _c(LAST_PURCHASE, "timestamp", "last purchase"),
        _c(REVENUE_12M, "float", "revenue in the 12 months to as_of"),
        _c(REVENUE_PREV_12M, "float", "revenue in the 12 months before those"),
        _c(REVENUE_BEFORE_12M, "float", "revenue before the last 12 months"),
        _c(GROSS_MARGIN_12M, "float", "gross margin in the 12 months to as_of"),
        _c(COST_TO_SERVE_12M, "float", "cost to serve in the 12 months to as_of"),
        _c(CONTRIBUTION_12M, "float", "gross_margin_12m minus cost_to_serve_12m (what the "
                                      "picket fence ranks by by default)"),
        _c(RETURNED_ORDERS, "float", "orders with a return"),
        _c(RETURNS_VALUE, "float", "value returned"),
        _c(CONTACTS, "float", "contacts on any channel"),
        _c(INBOUND_CONTACTS, "float", "contacts the customer started"),
        _c(COMPLAINTS, "float", "complaints"),
        _c(FREQUENCY, "float", "repeat purchase days (BG/NBD frequency)"),
        _c(RECENCY, "float", "weeks from first to last purchase"),
        _c(AGE_T, "float", "weeks from first purchase to as_of"),
        _c(MONETARY_VALUE, "float", "mean revenue of a repeat purchase day"),
        _c(P_ALIVE, "float", "probability the customer is still active (BG/NBD)"),
        _c(EXPECTED_PURCHASES, "float", "expected purchases over the CLV horizon"),
        _c(CLV, "float", "discounted expected margin over the CLV horizon"),
        _c(PROFILE, "str", "tenure band (the look-alike group with segment)"),
        _c(POTENTIAL, "float", "what a customer like this is worth at the group's upper quantile"),
        _c(SHARE_OF_WALLET, "float", "clv / potential, capped at 1"),
        _c(UNREALISED_POTENTIAL, "float", "potential minus clv, at least 0"),
        _c(POTENTIAL_BASIS, "str", "which look-alike group the potential came from"),
        _c(TIER, "str", "MVC, MGC, maintain or BZ"),
        _c(MIGRATOR, "bool", "near a tier edge"),
        _c(MIGRATOR_EDGE, "str", "the tier it could move into or out of"),
        _c(SEGMENT, "int", "needs segment (-1 = no purchases yet)"),
        _c(SEGMENT_NAME, "str", "needs segment name"),
        _c(IS_DECLINER, "bool", "on the decliners workshop list"),
        _c(IS_LOST_VALUABLE, "bool", "on the lost-valuable workshop list"),
        _c(IS_LOW_SHARE_HIGH_POTENTIAL, "bool", "on the low-share, high-potential list")),
    "segments": _o(
        "differentiate", "needs segment profiles and names",
        _c(SEGMENT, "int", "segment number", True), _c(SEGMENT_NAME, "str", "segment name"),
        _c("size", "int", "customers in it"), _c("share", "float", "share of customers"),
        extra="*", extra_meaning="mean of each needs feature (cat_*, chan_*, price_*, service_*, "
                                 "recency_*) in the segment"),
    "fence_assignment": _o(
        "differentiate", "customers inside the picket fence with their customer manager",
        _c(CUSTOMER_ID, "str", "the customer", True),
        _c(VALUE, "float", "the value the fence ranks by (fence.value: contribution_12m by "
                           "default, or clv)"),
        _c("value_basis", "str", "what value is: contribution_12m or clv"),
        _c(RANK, "int", "rank by that value, 1 = most valuable"),
        _c(MANAGER, "str", "customer manager (portfolios balanced by value)"),
        _c(TIER, "str", "tier from customer_value"), _c(SEGMENT_NAME, "str", "needs segment")),
    "clv_holdout": _o(
        "differentiate", "predicted against actual repeat purchases in the holdout, by frequency",
        _c("frequency_calibration", "str", "repeat purchases in the calibration period (bin)"),
        _c("customers", "int", "customers in the bin"),
        _c("predicted", "float", "mean predicted holdout purchases"),
        _c("actual", "float", "mean actual holdout purchases"),
        _c("predicted_total", "float", "sum predicted"), _c("actual_total", "float", "sum actual")),
    "client_position": _o(
        "differentiate", "the client's place on the differentiation matrix",
        _c("value_skew", "float", "Gini of customer value"),
        _c("needs_diversity", "float", "diversity of needs segments (empty when unknown)"),
        _c("skew_threshold", "float", "skew above which value is 'skewed'"),
        _c("diversity_threshold", "float", "diversity above which needs are 'diverse'"),
        _c("quadrant", "str", "matrix quadrant"), _c("label", "str", "its name"),
        _c("example", "str", "an example business there"), _c("emphasis", "str", "what to stress"),
        extra="*", extra_meaning="why a position is unknown, when it is"),
    # -- interact ------------------------------------------------------------------------------
    "contact_plan": _o(
        "interact", "next best action per customer, channel, reason, priority, value",
        _c(CUSTOMER_ID, "str", "the customer", True),
        _c(ACTION, "str", "next best action (leave_alone when none is worth it)"),
        _c(CHANNEL, "str", "consented outbound channel"),
        _c(REASON, "str", "why, in words a customer manager reads"),
        _c(PRIORITY, "int", "1 = first"),
        _c(EXPECTED_VALUE, "float", "expected value of the contact net of its cost"),
        _c(PLANNED_DATE, "timestamp", "date within the plan horizon, after quiet days"),
        _c(QUESTION, "str", "profile question to ask"), _c(QUESTION_2, "str", "a second one"),
        _c(TIER, "str", "tier the policy used"), _c(VALUE, "float", "customer value the plan used"),
        _c(CHANNEL_COST, "float", "unit cost of the channel")),
    "contact_breaches": _o(
        "interact", "customers contacted over their cap or in quiet days, in the history",
        _c(CUSTOMER_ID, "str", "the customer", True), _c(TIER, "str", "tier"),
        _c("cap", "int", "outbound contacts allowed per month"),
        _c("max_per_month", "int", "most outbound contacts in one month"),
        _c("worst_month", "timestamp", "that month"),
        _c("months_over_cap", "int", "months over the cap"),
        _c("contacts_over_cap", "int", "contacts above the cap"),
        _c("quiet_breaches", "int", "contacts in the quiet days after a complaint"),
        _c("last_breach", "timestamp", "latest breach")),
    "lost_valuable": _o(
        "interact", "valuable customers who stopped buying (win-back list)",
        _c(CUSTOMER_ID, "str", "the customer", True),
        _c(REVENUE_BEFORE_12M, "float", "revenue before the last 12 months"),
        _c(REVENUE_PREV_12M, "float", "revenue in the 12 months before the last 12"),
        _c("orders_before_12m", "int", "orders before the last 12 months"),
        _c(LAST_PURCHASE, "timestamp", "last purchase"), _c(RANK, "int", "1 = most valuable"),
        _c("value_threshold", "float", "revenue a customer needed to be on the list")),
    "repeat_complainers": _o(
        "interact", "customers who complained repeatedly",
        _c(CUSTOMER_ID, "str", "the customer", True), _c(COMPLAINTS, "int", "complaints"),
        _c("open_complaints", "int", "complaints not resolved"),
        _c("first_complaint", "timestamp", "first"), _c("last_complaint", "timestamp", "latest"),
        _c("topics", "str", "what about, ';'-separated"),
        _c("mean_satisfaction", "float", "mean satisfaction score where measured")),
    "channel_volumes": _o(
        "interact", "contacts and their cost per channel, direction and tier",
        _c(CHANNEL, "str", "channel"), _c(DIRECTION, "str", "inbound or outbound"),
        _c(TIER, "str", "tier"), _c(CONTACTS, "int", "contacts"),
        _c("customers", "int", "customers contacted"), _c(COST, "float", "cost of the contacts"),
        _c("unit_cost", "float", "cost per contact"),
        _c("automated", "bool", "a self-service or automated channel")),
    "response_rates": _o(
        "interact", "outbound contacts and responses per channel",
        _c(CHANNEL, "str", "channel"), _c(CONTACTS, "int", "outbound contacts"),
        _c("responses", "int", "responded or accepted"), _c("response_rate", "float", "share"),
        _c(COST, "float", "cost of the contacts"), _c("cost_per_response", "float", "cost / responses")),
    "profile_questions": _o(
        "interact", "the next profile questions to ask each customer",
        _c(CUSTOMER_ID, "str", "the customer", True),
        _c("missing", "int", "profile attributes still unknown"),
        _c("question_1", "str", "attribute to ask first"), _c("question_1_score", "float", "its score"),
        _c("question_1_text", "str", "the question"), _c("question_2", "str", "attribute to ask next"),
        _c("question_2_score", "float", "its score"), _c("question_2_text", "str", "the question")),
    # -- customize -----------------------------------------------------------------------------
    "recommendations": _o(
        "customize", "top-k products per customer with a reason",
        _c(CUSTOMER_ID, "str", "the customer", True), _c(RANK, "int", "1 = best"),
        _c(PRODUCT_ID, "str", "recommended product", True),
        _c(SCORE, "float", "item-item score"), _c(REASON, "str", "because you bought ..."),
        _c(REASON_PRODUCT_ID, "str", "the product bought that the reason names")),
    "recommendation_evaluation": _o(
        "customize", "every candidate recommender's validation and holdout figures, and which "
                     "one was chosen",
        _c("model", "str", "candidate recommender (popularity, item-knn, ease, ...)", True),
        extra="*", extra_meaning="per window (validation_, holdout_): precision_at_k, "
                                 "recall_at_k, coverage, lift over the baseline and its interval "
                                 "(k = customize.top_k); fit and scoring seconds; chosen; the "
                                 "baseline, customers and window dates"),
    "catalog_editions": _o(
        "customize", "product lists of the national, regional and segment catalog editions",
        _c("edition", "str", "edition name"), _c(RANK, "int", "position in the edition"),
        _c(PRODUCT_ID, "str", "product"), _c("buyers", "int", "buyers of it in the edition's group"),
        _c("customers", "float", "customers the edition goes to"),
        _c(REGION, "str", "region of a regional edition"),
        _c(SEGMENT_NAME, "str", "segment of a segment edition")),
    "edition_coverage": _o(
        "customize", "holdout purchases covered as editions are added",
        _c("editions", "int", "editions so far"), _c("added", "str", "edition added at this step"),
        _c("gain", "float", "coverage it added"), _c("coverage", "float", "coverage so far")),
    "tailored_messages": _o(
        "customize", "product, packaging, delivery and service message per customer",
        _c(CUSTOMER_ID, "str", "the customer", True), _c(TIER, "str", "tier"),
        _c(SEGMENT_NAME, "str", "needs segment"), _c("product", "str", "product message"),
        _c("packaging", "str", "packaging message"), _c("delivery", "str", "delivery message"),
        _c("service", "str", "service message")),
    "configurator_variety": _o(
        "customize", "modules, options and valid combinations per configurable product",
        _c(PRODUCT_ID, "str", "configurable product"), _c(NAME, "str", "its name"),
        _c("modules", "int", "modules"), _c("options", "int", "options"),
        _c("combinations", "int", "combinations of one option per module"),
        _c("valid", "int", "combinations the rules allow"), _c("rules", "int", "rules")),
    "configurations": _o(
        "customize", "every configuration a customer made (history)",
        _c("configuration_id", "str", "configuration"), _c(CUSTOMER_ID, "str", "the customer"),
        _c(PRODUCT_ID, "str", "base product"), _c("options", "str", "chosen option ids (JSON)"),
        _c(PRICE, "float", "price of the configuration"), _c(CREATED_AT, "timestamp", "when"),
        _c("status", "str", "saved, ordered, ...")),
}
"""Contracts of the tables stages write (the ingest tables are :data:`TABLES`)."""


def contract_of(table: str) -> OutputTable:
    """The contract of a stage output table; raises KeyError naming the known ones."""
    try:
        return OUTPUT_TABLES[table]
    except KeyError:
        raise KeyError(f"no contract for table {table!r}; expected one of "
                       f"{sorted(OUTPUT_TABLES)}") from None


def contract_problems(table: str, columns) -> list[str]:
    """What is wrong with a written table's column names against its contract (empty = ok)."""
    ct = contract_of(table)
    names = list(columns)
    out = []
    missing = [c for c in ct.names if c not in names]
    if missing:
        out.append(f"{table}: missing {missing}")
    extra = [c for c in names if c not in ct.names]
    if ct.extra != "*":
        extra = [c for c in extra if c not in ct.extra]
        if extra:
            out.append(f"{table}: columns not in its contract {extra}")
    order = [c for c in names if c in ct.names]
    if not missing and order != list(ct.names):
        out.append(f"{table}: columns in the order {order}, the contract says {list(ct.names)}")
    return out


STAGE_TABLES: dict[str, dict[str, str]] = {
    "ingest": {
        "customer_records": "customer records from every source system",
        "transactions": "order lines",
        "interactions": "contacts on every channel",
        "products": "the product catalogue",
        "components": "modules and options of configurable products",
        "component_rules": "compatibility rules between options",
        "saved_configurations": "configurations customers saved or ordered in the client's "
                                "own configurator",
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
    "customize": ("transactions", "products", "components", "component_rules",
                  "saved_configurations", "record_map",
                  "customers", "customer_value"),
}
"""Tables each stage reads (fingerprinted in the ledger when it finishes)."""


for _table, _ct in OUTPUT_TABLES.items():  # every contracted output is listed under its stage
    STAGE_TABLES.setdefault(_ct.stage, {}).setdefault(_table, _ct.meaning)


def columns_of(table: str) -> tuple[Column, ...]:
    """The canonical columns of an input table; raises KeyError naming the known tables."""
    try:
        return TABLES[table]
    except KeyError:
        raise KeyError(f"unknown canonical table {table!r}; expected one of {sorted(TABLES)}") from None


def ingest_markdown() -> list[str]:
    """The section of docs/data_model.md on mapping exports: derived columns and ingest rules."""
    return [
        "## Mapping an export", "",
        ("Each source in the client YAML reads one file or a glob of files (each file of a glob is "
        "checked on its own: a file that lacks a required mapped column is refused by name with the "
        "columns it does have, the others load; a missing optional column is a note). `columns` maps "
        "the client's column name to the canonical one; a canonical column the export does not have "
        "as such can be **derived**:"), "",
        "| derived value | YAML | gives |", "|---|---|---|",
        "| a constant | `product_id: {const: ALL}` | the same value on every row |",
        ("| the line number | `transaction_id: {line_number: true}` | the row's line in its file "
        "(`<file name>:<line>` when the path is a glob of several files) |"),
        ("| a concatenation | `street: {concat: [street_number, address_1], sep: \" \"}` | the client "
        "columns joined with `sep`, empty parts skipped |"), "",
        ("For example, a till-roll export with only a date and an amount, and a CRM export that keeps "
        "the house number apart from the street:"), "",
        "```yaml",
        "sources:",
        "  - name: till_rolls",
        "    path: exports/till_*.csv",
        "    table: transactions",
        "    system: pos",
        "    date_format: \"%d/%m/%Y %H:%M\"",
        "    decimal: \",\"",
        "    thousands: \".\"",
        "    columns:",
        "      Datum: date",
        "      Betrag: amount",
        "      transaction_id: {line_number: true}",
        "      product_id: {const: ALL}",
        "  - name: crm",
        "    path: exports/customers.xlsx",
        "    table: customer_records",
        "    system: crm",
        "    header_row: 2        # a title row above the header",
        "    skip_footer: 1       # a totals row",
        "    columns:",
        "      CustNo: record_id",
        "      street: {concat: [street_number, address_1], sep: \" \"}",
        "```", "",
        ("Values are read exactly as declared: `decimal` and `thousands` per source (a number that "
        "does not fit, such as `1,5` when the decimal mark is `.`, is quarantined with the reason "
        "\"does not match the declared number format\", never reinterpreted; the client currency's "
        "symbol or code around a number is accepted; `inf`, `nan` and values beyond a column's "
        "range are refused); `date_format` (or `date_formats` per column; ISO 8601 when empty) with "
        "no partial or impossible dates, and a date after `as_of` refused. CSV rows with too many "
        "or too few fields are quarantined with their true line (blank lines and quoted newlines "
        "counted), never shifted. Duplicates are decided among the rows that pass every other "
        "rule: the first wins and the later ones are quarantined naming the line of the one kept. "
        "`encoding` names the file's encoding (a decode error gives the line and byte offset). "
        "Every bad row is in the `quarantine` table with file, line (`row`), column, value and "
        "reason; re-ingesting a source replaces its rows and quarantine in one transaction."), ""]


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
    out += ingest_markdown()
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
    out += ["", "## Stage outputs", "",
            ("The tables a stage writes, column by column: the contract the stages after it "
            "read (a test checks every written table against it). Required here means the "
            "readers rely on it being filled."), ""]
    for table, ct in OUTPUT_TABLES.items():
        nb = {"identify": "01", "differentiate": "02", "interact": "03", "customize": "04"}
        out += [f"### {table}", "", (f"Written by `onetoone run {ct.stage}` and notebook "
                                     f"{nb[ct.stage]}_{ct.stage}: {ct.meaning}."), "",
                "| column | type | required | meaning |", "|---|---|---|---|"]
        out += [f"| {c.name} | {c.dtype} | {'yes' if c.required else ''} | {c.meaning} |"
                for c in ct.columns]
        if ct.extra:
            more = "any further columns" if ct.extra == "*" else "also " + ", ".join(ct.extra)
            out.append(f"| ... | | | {more}: {ct.extra_meaning} |")
        out.append("")
    out += ["## The run ledger", "",
            f"`{RUN_LEDGER}` has one row per stage run (written by the workspace, see "
            "docs/architecture.md): " + ", ".join(f"`{c}`" for c in RUN_LEDGER_COLUMNS) + ". "
            "`inputs` and `outputs` are JSON `{table: [rows, content hash]}`; `inputs` also "
            "names the upstream run ids. Upstream stages per stage: "
            + "; ".join(f"{s} <- {', '.join(u) or 'ingest'}" for s, u in UPSTREAM.items()) + ".",
            ""]
    return "\n".join(out).rstrip("\n") + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
