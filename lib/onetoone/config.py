"""ClientConfig: one YAML file per client, validated with pydantic.

Relative paths resolve from the YAML file's folder. A wrong config raises
:class:`ConfigError` with one line per problem, naming the key (``sources[2].format``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from . import columns as C


class ConfigError(ValueError):
    """A client config that cannot be used; ``problems`` lists one message per key."""

    def __init__(self, path: Path | str | None, problems: list[str]):
        self.path = str(path) if path else None
        self.problems = problems
        where = f"{path}: " if path else ""
        super().__init__(f"{where}{len(problems)} problem(s) in the client config:\n  - "
                         + "\n  - ".join(problems))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _check_date_format(fmt: str) -> None:
    """A strftime format DuckDB's strptime understands and that round-trips a timestamp."""
    import duckdb

    if "%" not in fmt:
        raise ValueError(f"invalid date format {fmt!r}: it has no % directive (e.g. %d/%m/%Y)")
    try:
        duckdb.execute("SELECT strptime(strftime(TIMESTAMP '2024-11-23 13:45:56', $1), $1)",
                       [fmt]).fetchall()
    except duckdb.Error as exc:
        msg = str(exc).split("Error: ", 1)[-1].split("\n")[0]
        raise ValueError(f"invalid date format {fmt!r}: {msg}") from None


class Derived(_Strict):
    """A canonical column the export does not have as such, derived when it is read.

    Exactly one of: ``const`` (the same value on every row), ``line_number`` (the row's line in
    its file; ``<file name>:<line>`` when the source is a glob of several files), ``concat``
    (client columns joined with ``sep``, empty parts skipped).
    """

    const: str | int | float | None = None
    line_number: bool = False
    concat: list[str] | None = None
    sep: str = " "

    @model_validator(mode="after")
    def _one_kind(self) -> Derived:
        kinds = [k for k, on in (("const", self.const is not None), ("line_number", self.line_number),
                                 ("concat", self.concat is not None)) if on]
        if len(kinds) != 1:
            raise ValueError("a derived column needs exactly one of const, line_number, concat; "
                             f"found {kinds or 'none'}")
        if self.concat is not None and len(self.concat) < 1:
            raise ValueError("concat needs a list of client column names")
        return self


class Source(_Strict):
    """One export file (or glob of files) mapped onto a canonical table."""

    name: str = Field(description="a short name for this source, used in reports")
    path: str = Field(description="file path or glob, relative to the config file")
    table: Literal["customer_records", "transactions", "interactions", "products", "components",
                   "component_rules", "saved_configurations"]
    system: str | None = Field(None, description="source system name (crm, web, loyalty, ...)")
    format: Literal["csv", "parquet", "excel"] | None = None
    delimiter: str = ","
    encoding: str = "utf-8"
    decimal: str = "."
    thousands: str | None = Field(None, description="thousands separator ('.', ',', ' ', \"'\" "
                                                    "or none); numbers must match exactly")
    date_format: str | None = Field(None, description="strftime format; ISO 8601 when empty")
    date_formats: dict[str, str] = Field(
        default_factory=dict, description="per canonical column, a strftime format that "
                                          "overrides date_format")
    sheet: str | int | None = None
    header_row: int = Field(1, ge=1, le=10_000, description="Excel: the row (1-based) that holds "
                                                          "the column names")
    skip_rows: int = Field(0, ge=0, le=10_000, description="CSV: lines to skip before the header; "
                                                         "Excel: rows to skip after the header")
    skip_footer: int = Field(0, ge=0, le=10_000, description="Excel: rows at the end that are not "
                                                           "data (totals, notes)")
    columns: dict[str, str | Derived] = Field(
        default_factory=dict,
        description="client column name -> canonical column name; or canonical column name -> "
                    "a derived value ({const: X}, {line_number: true}, {concat: [a, b], sep: ' '})")
    values: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="per canonical column, client value -> canonical value (e.g. channels)")
    unique: bool = Field(False, description="customer_records: the source holds each customer at "
                                            "most once, so Identify never merges two of its records "
                                            "(a must-link still does)")
    true_values: list[str] = Field(default_factory=lambda: ["1", "true", "yes", "y", "t", "x"])
    false_values: list[str] = Field(default_factory=lambda: ["0", "false", "no", "n", "f", ""])

    @field_validator("delimiter")
    @classmethod
    def _one_char(cls, v: str) -> str:
        if v in ("\\t", "tab"):
            return "\t"
        if len(v) != 1:
            raise ValueError(f"expected a single character, found {v!r}")
        return v

    @field_validator("decimal")
    @classmethod
    def _decimal(cls, v: str) -> str:
        if v not in (".", ","):
            raise ValueError(f"expected '.' or ',', found {v!r}")
        return v

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, v: str) -> str:
        import codecs

        try:
            codecs.lookup(v)
        except LookupError:
            raise ValueError(f"unknown encoding {v!r}; expected a Python codec name such as "
                             "utf-8, utf-16, latin-1 or cp1252") from None
        return v

    @field_validator("thousands")
    @classmethod
    def _thousands(cls, v: str | None) -> str | None:
        if v in (None, ""):
            return None
        if v == "space":
            return " "
        if v not in (".", ",", " ", "'", "\u00a0", "\u202f"):
            raise ValueError(f"expected '.', ',', ' ', \"'\" or none, found {v!r}")
        return v

    @field_validator("date_format")
    @classmethod
    def _date_format(cls, v: str | None) -> str | None:
        if v is not None:
            _check_date_format(v)
        return v

    @field_validator("date_formats")
    @classmethod
    def _date_formats(cls, v: dict[str, str]) -> dict[str, str]:
        for fmt in v.values():
            _check_date_format(fmt)
        return v

    @field_validator("columns")
    @classmethod
    def _known_columns(cls, v: dict[str, str], info) -> dict[str, str]:
        table = info.data.get("table")
        if table is None:  # the table itself is wrong; that is reported on its own key
            return v
        known = {c.name for c in C.columns_of(table)}
        targets = [k if isinstance(t, Derived) else t for k, t in v.items()]
        bad = sorted(set(targets) - known)
        if bad:
            raise ValueError(f"maps onto {bad}, which table {table!r} does not have; "
                             f"expected some of {sorted(known)}")
        dup = sorted({t for t in targets if targets.count(t) > 1})
        if dup:
            by = {t: [k for k, x in v.items() if (k if isinstance(x, Derived) else x) == t]
                  for t in dup}
            raise ValueError("two source columns are mapped onto one canonical column: "
                             + "; ".join(f"{by[t]} -> {t}" for t in dup))
        trimmed = [k.replace("\ufeff", "").strip() for k, x in v.items() if not isinstance(x, Derived)]
        clash = sorted({t for t in trimmed if trimmed.count(t) > 1})
        if clash:
            raise ValueError(f"source column names {clash} appear twice once spaces are trimmed")
        return v

    @field_validator("values", "date_formats")
    @classmethod
    def _known_targets(cls, v: dict, info) -> dict:
        table = info.data.get("table")
        if table is None:
            return v
        known = {c.name for c in C.columns_of(table)}
        bad = sorted(set(v) - known)
        if bad:
            raise ValueError(f"names {bad}, which table {table!r} does not have; the keys are "
                             f"canonical columns, expected some of {sorted(known)}")
        return v

    @model_validator(mode="after")
    def _check(self) -> Source:
        if self.table in C.LINKED_TABLES and not self.system:
            raise ValueError(f"a {self.table} source needs `system` (the source system name)")
        return self

    @property
    def mapped(self) -> dict[str, str]:
        """Client column name -> canonical column name (derived columns left out)."""
        return {k: v for k, v in self.columns.items() if isinstance(v, str)}

    @property
    def derived(self) -> dict[str, Derived]:
        """Canonical column name -> how it is derived."""
        return {k: v for k, v in self.columns.items() if isinstance(v, Derived)}

    def resolved_format(self) -> str:
        if self.format:
            return self.format
        p = self.path.lower()
        if p.endswith((".parquet", ".pq")):
            return "parquet"
        if p.endswith((".xlsx", ".xlsm", ".xls")):
            return "excel"
        return "csv"


class Tiers(_Strict):
    """Tier thresholds: shares of customers ranked by actual / unrealised value."""

    mvc_share: float = Field(0.05, gt=0, lt=1, description="top share by actual value = MVC")
    mgc_share: float = Field(0.15, gt=0, lt=1, description="top share by unrealised potential")
    bz_max_contribution: float = Field(0.0, description="contribution at or below this = BZ")
    migrator_band: float = Field(0.1, ge=0, lt=1, description="relative distance to a tier edge")


FENCE_VALUES = ("contribution_12m", "clv")
"""What the picket fence can rank customers by (``fence.value``)."""


class Fence(_Strict):
    """Picket-fence economics.

    Costs are yearly; the uplifts are shares of the yearly value named by ``value``, which is
    a margin: ``contribution_12m`` (gross margin less cost to serve over the last 12 months)
    or ``clv`` (discounted expected margin over the CLV horizon, taken per year).
    """

    value: Literal["contribution_12m", "clv"] = Field(
        "contribution_12m", description="what the fence ranks and values customers by: "
        "contribution_12m (last 12 months' margin less cost to serve) or clv (discounted "
        "lifetime margin over the CLV horizon, per year)")
    portfolio_size: int = Field(250, gt=0, description="customers one customer manager handles")
    manager_cost: float = Field(65000.0, ge=0, description="yearly cost of a customer manager")
    it_cost_per_customer: float = Field(40.0, ge=0, description="yearly IT cost per managed customer")
    retention_uplift: float = Field(0.05, ge=0, le=1, description="share of value kept by managing")
    growth_uplift: float = Field(0.03, ge=0, le=1, description="extra value from managing")
    it_cost_halving_months: float = Field(18.0, gt=0, description="months for IT cost to halve")
    projection_years: float = Field(5.0, gt=0, le=20)


class Clv(_Strict):
    horizon_months: int = Field(36, gt=0, le=240)
    annual_discount_rate: float = Field(0.10, ge=0, lt=1)
    holdout_months: int = Field(6, ge=0, le=36)


MATCH_KEYS = ("first_name", "last_name", "email", "phone", "postcode", "street", "city",
              "region", "birth_date", "house_number", "address_line2", "national_id",
              "account_number", "loyalty_number", "card_number", "name_key", "birth_year")
"""What a blocking rule or training session may require equal: a canonical column (compared in
its normalised form), ``name_key`` (the initials of the given and family name, in either
order) or ``birth_year``."""

COMPARISON_NAMES = ("first_name", "last_name", "birth_date", "email", "phone", "national_id",
                    "account_number", "loyalty_number", "card_number", "address", "house_number",
                    "address_line2", "city", "region")
"""Comparisons Identify knows (``address`` is postcode with street)."""


def _keys_rule(v, special: tuple[str, ...] = ()):
    if isinstance(v, str) and v in special:
        return v
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, list) or not v or not all(isinstance(k, str) for k in v):
        raise ValueError(f"expected a list of keys such as [last_name, birth_date]"
                         f"{' or ' + repr(special[0]) if special else ''}; found {v!r}")
    bad = [k for k in v if k not in MATCH_KEYS]
    if bad:
        raise ValueError(f"unknown key(s) {bad} in {v!r}; expected some of {list(MATCH_KEYS)}")
    return list(v)


def _comparison_name(v):
    if v not in COMPARISON_NAMES:
        raise ValueError(f"unknown comparison {v!r}; expected one of {list(COMPARISON_NAMES)}")
    return v


BlockingRuleSpec = Annotated[Any, AfterValidator(lambda v: _keys_rule(v, ("swapped_names",)))]
TrainingSpec = Annotated[Any, AfterValidator(_keys_rule)]
ComparisonSpec = Annotated[Any, AfterValidator(_comparison_name)]


class Identify(_Strict):
    """Identify: thresholds, survivorship, and (optionally) the linkage model's choices. Left
    empty, blocking rules, comparisons and training sessions are chosen from the columns the
    client's records fill."""

    threshold_probability: float = Field(
        0.95, gt=0, lt=1, description="pairs at or above this match probability are merged")
    review_band: tuple[float, float] = Field(
        (0.5, 0.95), description="pairs with a match probability in [low, high) go to "
                                 "clerical review")
    survivorship: dict[str, Literal["most_recent", "most_frequent", "source_priority"]] = Field(
        default_factory=dict, description="per golden-record field; most_recent when absent")
    source_priority: list[str] = Field(default_factory=list)
    max_comparisons: int = Field(50_000_000, gt=0)
    max_pairs_per_record: float = Field(
        5.0, gt=0, description="a chosen blocking rule that alone would make more pairs than "
                               "this per record, while all together make over 2 million, is "
                               "tightened with the birth year, region or city, or left out")
    household_guard: bool = Field(
        True, description="pairs whose given names differ with no phone or birth date in "
                          "common go to review instead of merging")
    blocking_rules: list[BlockingRuleSpec] | None = Field(
        None, description="each rule a list of keys that must be equal (e.g. [last_name, "
                          "birth_date]) or 'swapped_names'; chosen from the data when empty")
    comparisons: list[ComparisonSpec] | None = Field(
        None, description="the fields the model compares; every filled one when empty")
    training: list[TrainingSpec] | None = Field(
        None, description="blocking keys of the expectation-maximisation sessions that train m; "
                          "chosen so that every comparison is trained when empty")
    min_fill_rate: float = Field(0.01, ge=0, lt=1,
                                 description="a column filled on fewer records is not used")


class ContactPolicy(_Strict):
    caps_per_month: dict[str, int] = Field(
        default_factory=lambda: {"MVC": 4, "MGC": 4, "maintain": 2, "BZ": 1},
        description="outbound contacts allowed per customer per month, by tier")
    quiet_days_after_complaint: int = Field(14, ge=0)
    channels_by_tier: dict[str, list[str]] = Field(
        default_factory=lambda: {"MVC": ["call_centre"], "MGC": ["email", "mail", "call_centre"],
                                 "maintain": ["email", "sms", "mail"], "BZ": ["email", "sms"]},
        description="outbound channels that suit each tier; the plan takes the cheapest "
                    "consented one (any consented channel when none of these is)")
    channels_by_action: dict[str, list[str]] = Field(
        default_factory=lambda: {"win_back": ["call_centre"]},
        description="actions that want particular channels whatever the tier "
                    "(a lost valuable customer gets a call)")
    plan_horizon_days: int = Field(30, gt=0, le=366,
                                   description="planned contacts fall within this many days "
                                               "after as_of")

    @field_validator("channels_by_tier", "channels_by_action")
    @classmethod
    def _outbound_channels(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        bad = sorted({ch for chs in v.values() for ch in chs} - set(C.CONSENT_CHANNELS))
        if bad:
            raise ValueError(f"channel(s) {bad} cannot be planned: only channels with a consent "
                             f"column can, expected some of {sorted(C.CONSENT_CHANNELS)}")
        return v


class Pilot(_Strict):
    """A pilot group whose results are compared against a matched control group."""

    path: str = Field(description="CSV with a customer_id or record_key column, relative to the config")
    start: dt.date = Field(description="when the pilot treatment began")
    name: str = "pilot"


class Customize(_Strict):
    """Customize: which recommenders compete, the repeat rule, the smallest usable catalogue."""

    candidates: list[str] = Field(
        default_factory=lambda: ["popularity", "segment popularity", "item-knn", "ease", "als"],
        description="recommenders compared on the validation window (also 'bpr'); the "
                    "chosen one writes recommendations")
    validation_months: int = Field(0, ge=0, le=36, description="validation window before the "
                                   "holdout (0: as long as the holdout)")
    repeat: Literal["data", "never", "always"] = Field(
        "data", description="may owned products be suggested again: derived from the data "
                            "(consumable categories), never, or always")
    repeat_threshold: float = Field(0.25, ge=0, le=1, description="share of customer-product "
                                    "pairs bought on 2+ orders that makes a category consumable")
    repeat_categories: list[str] = Field(default_factory=list,
                                         description="categories that are consumable whatever "
                                                     "the data says")
    min_products: int = Field(5, ge=2, description="fewer distinct products than this: no "
                              "recommendations and no recommendation metrics")
    top_k: int = Field(10, ge=1, le=100, description="suggestions per customer")
    bootstrap_resamples: int = Field(2000, ge=100, description="resamples of the paired "
                                     "bootstrap behind each lift interval")
    ease_lambda: float = Field(250.0, gt=0, description="EASE ridge penalty")
    ease_max_products: int = Field(3000, ge=10, description="most bought products EASE inverts")


class WorkshopLists(_Strict):
    """Thresholds behind the workshop lists, the potential estimate and the retain rule: each
    one a workshop may question, so each is the client's to set. The lists' sizes are the
    ``*_top_share`` fields (a share of the customers ranked by the list's value)."""

    decliner_top_share: float = Field(
        0.2, gt=0, le=1, description="decliners come from this top share of customers by the "
                                     "previous 12 months' revenue")
    decliner_ratio: float = Field(
        0.5, ge=0, lt=1, description="a decliner's last 12 months' revenue is at most this share "
                                     "of the 12 months before (also the retain rule's ratio)")
    decliner_include_lapsed: bool = Field(
        False, description="list customers with no revenue at all in the last 12 months as "
                           "decliners too (by default they belong on the lost-valuable list)")
    lost_top_share: float = Field(
        0.2, gt=0, lt=1, description="lost valuable customers come from this top share by revenue "
                                     "before the last 12 months")
    lost_window_months: int = Field(
        12, ge=1, le=60, description="months without a purchase after which a valuable customer "
                                     "counts as lost")
    lost_min_orders: int = Field(
        2, ge=1, description="orders a lost customer must have placed (a one-off large basket "
                             "is not a regular customer lost)")
    low_share_max: float = Field(
        0.25, ge=0, le=1, description="share of wallet at or below which a customer is low-share")
    low_share_top_share: float = Field(
        0.2, gt=0, le=1, description="low-share customers listed come from this top share by "
                                     "unrealised potential")
    potential_percentile: float = Field(
        0.8, ge=0.5, le=1, description="a customer's potential is this percentile of value among "
                                       "look-alikes (needs segment x tenure band)")
    potential_min_group: int = Field(
        30, ge=1, description="a look-alike group smaller than this uses the next broader group")
    at_risk_p_alive: float = Field(
        0.5, ge=0, le=1, description="a most valuable customer whose probability of being alive "
                                     "is below this gets a retain contact")
    repeat_complaints: int = Field(
        3, ge=1, description="complaints that put a customer on the repeat-complainers list")

    def decliners(self) -> dict:
        """Keyword arguments of :func:`onetoone.differentiate.lists.decliners`."""
        return {"top_share": self.decliner_top_share, "ratio": self.decliner_ratio,
                "include_lapsed": self.decliner_include_lapsed}

    def lost_valuable(self) -> dict:
        """Keyword arguments of :func:`onetoone.differentiate.lists.lost_valuable`."""
        return {"top_share": self.lost_top_share, "months": self.lost_window_months,
                "min_orders": self.lost_min_orders}

    def low_share_high_potential(self) -> dict:
        """Keyword arguments of :func:`onetoone.differentiate.lists.low_share_high_potential`."""
        return {"max_share": self.low_share_max, "top_share": self.low_share_top_share}

    def potential(self) -> dict:
        """Keyword arguments of :func:`onetoone.differentiate.potential.potential_value`."""
        return {"percentile": self.potential_percentile, "min_group": self.potential_min_group}


class Engine(_Strict):
    """Where the client's tables live and the work runs: DuckDB on this machine (the default)
    or Spark (local mode, or the cluster the client already runs). ``engine: spark`` alone is
    enough for local Spark; the other keys name a cluster's master, warehouse and checkpoint."""

    name: Literal["duckdb", "spark"] = "duckdb"
    master: str = Field("local[*]", description="Spark master URL (local[*], yarn, spark://host:7077)")
    warehouse: str | None = Field(
        None, description="folder of the Spark workspace's Parquet tables; <config stem>.spark")
    checkpoint: str | None = Field(
        None, description="Spark checkpoint folder (splink's clustering); <warehouse>/_checkpoints")
    driver_memory: str = Field("4g", description="spark.driver.memory for a session started here")
    shuffle_partitions: int = Field(
        8, ge=1, le=100_000, description="spark.sql.shuffle.partitions for a session started here")
    conf: dict[str, str] = Field(default_factory=dict,
                                 description="any other Spark settings, by their Spark names")
    use_active_session: bool = Field(
        True, description="reuse the SparkSession already running (a notebook on a cluster)")

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, v: Any) -> Any:
        return {"name": v} if isinstance(v, str) else v

    @field_validator("driver_memory")
    @classmethod
    def _memory(cls, v: str) -> str:
        import re

        if not re.fullmatch(r"\d+[kmgt]?", v.strip().lower()):
            raise ValueError(f"expected a JVM memory size such as 4g or 512m, found {v!r}")
        return v.strip().lower()


class Survey(_Strict):
    db_url: str | None = Field(None, description="SQLAlchemy URL; SQLite beside the config when empty")


class ClientConfig(_Strict):
    """Everything the workbook knows about one client."""

    client: str
    as_of: dt.date = Field(description="the analysis date; later-dated rows are quarantined")
    currency: str = "EUR"
    country: str = Field("GB", description="default country for phone numbers and addresses")
    workspace: str | None = Field(
        None, description="DuckDB file (<config stem>.duckdb beside it); on Spark, the warehouse folder")
    engine: Engine = Field(default_factory=Engine, description="duckdb (default) or spark")
    sources: list[Source]
    channel_costs: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_CHANNEL_COSTS))
    tiers: Tiers = Field(default_factory=Tiers)
    fence: Fence = Field(default_factory=Fence)
    clv: Clv = Field(default_factory=Clv)
    identify: Identify = Field(default_factory=Identify)
    contact_policy: ContactPolicy = Field(default_factory=ContactPolicy)
    survey: Survey = Field(default_factory=Survey)
    customize: Customize = Field(default_factory=Customize)
    lists: WorkshopLists = Field(default_factory=WorkshopLists,
                                 description="thresholds of the workshop lists and potential")
    pilot: Pilot | None = Field(None, description="a pilot group to compare with a matched control")
    measure_period: Literal["M", "Q", "H", "Y"] = Field("Q", description="scorecard period")
    measure_periods: int = Field(4, ge=1, le=24, description="scorecard periods back from as_of")

    # set by load(), not by the YAML
    base_dir: Path = Field(default=Path("."), exclude=True)
    config_path: Path | None = Field(default=None, exclude=True)

    @field_validator("currency")
    @classmethod
    def _currency(cls, v: str) -> str:
        if len(v) != 3 or not v.isalpha():
            raise ValueError(f"expected a 3-letter ISO currency code, found {v!r}")
        return v.upper()

    @field_validator("channel_costs")
    @classmethod
    def _costs(cls, v: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(v) - set(C.CHANNELS))
        if unknown:
            raise ValueError(f"unknown channel(s) {unknown}; expected some of {list(C.CHANNELS)}")
        neg = [k for k, x in v.items() if x < 0]
        if neg:
            raise ValueError(f"costs must be >= 0; negative for {neg}")
        return {**DEFAULT_CHANNEL_COSTS, **v}

    @model_validator(mode="after")
    def _unique_sources(self) -> ClientConfig:
        names = [s.name for s in self.sources]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"source names must be unique; repeated: {dup}")
        return self

    # -- paths ----------------------------------------------------------------------------
    def resolve(self, path: str | Path) -> Path:
        p = Path(path).expanduser()
        return p if p.is_absolute() else (self.base_dir / p)

    @property
    def workspace_path(self) -> Path:
        """The DuckDB file, or on Spark the warehouse folder holding the Parquet tables."""
        stem = self.config_path.stem if self.config_path else "client"
        if self.engine.name == "spark":
            where = self.engine.warehouse or self.workspace
            return self.resolve(where) if where else self.base_dir / f"{stem}.spark"
        if self.workspace:
            return self.resolve(self.workspace)
        return self.base_dir / f"{stem}.duckdb"

    @property
    def checkpoint_path(self) -> Path:
        """Spark's checkpoint folder (splink's connected components write there)."""
        if self.engine.checkpoint:
            return self.resolve(self.engine.checkpoint)
        return self.workspace_path / "_checkpoints"

    @property
    def survey_db_url(self) -> str:
        import os

        if os.environ.get("ONETOONE_DB_URL"):
            return os.environ["ONETOONE_DB_URL"]
        if self.survey.db_url:
            return self.survey.db_url
        stem = self.config_path.stem if self.config_path else "client"
        return f"sqlite:///{(self.base_dir / f'{stem}_survey.sqlite').resolve()}"

    def source(self, name: str) -> Source:
        for s in self.sources:
            if s.name == name:
                return s
        raise KeyError(f"no source named {name!r}; the config has {[s.name for s in self.sources]}")


DEFAULT_CHANNEL_COSTS: dict[str, float] = {
    "web": 0.10, "email": 0.05, "sms": 0.08, "call_centre": 6.50, "store": 4.00,
    "sales_rep": 45.00, "mail": 1.20,
}
"""Cost per contact by channel when the client config gives none (currency units)."""


def _format_errors(exc: ValidationError) -> list[str]:
    out = []
    for e in exc.errors():
        key = ""
        for part in e["loc"]:
            key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling)"
        elif e["type"] == "missing":
            msg = "required key is missing"
        found = e.get("input")
        if (e["type"] not in ("missing", "extra_forbidden") and not isinstance(found, (dict, list))
                and "found" not in msg):
            msg += f" (found {found!r})"
        out.append(f"{key or '<top level>'}: {msg}")
    return out


class _YamlLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys and leaves dates as text for pydantic to check
    (PyYAML's own date constructor raises a bare ValueError on ``2026-06-31``)."""


_YamlLoader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag not in ("tag:yaml.org,2002:timestamp",
                                                  "tag:yaml.org,2002:bool")]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
# booleans as YAML 1.2 has them: true/false only, so a client column called No, Yes, On or Off
# stays a name (YAML 1.1 would read it as a boolean)
_YamlLoader.add_implicit_resolver("tag:yaml.org,2002:bool",
                                  __import__("re").compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                                  list("tTfF"))


def _mapping_no_duplicates(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False):
    loader.flatten_mapping(node)
    seen: dict = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first on line {seen[key] + 1})",
                key_node.start_mark)
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_YamlLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_no_duplicates)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    what = getattr(exc, "problem", None) or str(exc)
    return f"not valid YAML: {where}{what}"


def read_yaml(path: str | Path) -> object:
    """The YAML file's content; ConfigError (not a traceback) for every way it can be unreadable."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(path, [f"{path} is a folder; expected a client YAML file"])
    if not path.exists():
        raise ConfigError(path, [f"config file not found: {path}"])
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        problem = (f"not UTF-8: byte {exc.start} (line {line}) is "
                   f"{data[exc.start:exc.start + 1]!r}; save the YAML as UTF-8")
        raise ConfigError(path, [problem]) from None
    try:
        return yaml.load(text, Loader=_YamlLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ConfigError(path, [_yaml_problem(exc)]) from None


def _path_problems(cfg: ClientConfig) -> list[str]:
    out = []
    for i, s in enumerate(cfg.sources):
        if any(ch in s.path for ch in "*?["):
            continue
        p = cfg.resolve(s.path)
        if p.is_dir():
            out.append(f"sources[{i}].path: {p} is a folder; expected a file or a glob such as "
                       f"{s.path.rstrip('/')}/*.csv")
    return out


def load_config(path: str | Path) -> ClientConfig:
    """Read and validate a client YAML; raise ConfigError listing every problem by key."""
    path = Path(path)
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError(path, ["expected a mapping of keys at the top level"])
    try:
        cfg = ClientConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(path, _format_errors(exc)) from None
    cfg.base_dir = path.resolve().parent
    cfg.config_path = path.resolve()
    problems = _path_problems(cfg)
    if problems:
        raise ConfigError(path, problems)
    return cfg
