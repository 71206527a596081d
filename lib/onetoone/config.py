"""ClientConfig: one YAML file per client, validated with pydantic.

Relative paths resolve from the YAML file's folder. A wrong config raises
:class:`ConfigError` with one line per problem, naming the key (``sources[2].format``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

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


class Source(_Strict):
    """One export file (or glob of files) mapped onto a canonical table."""

    name: str = Field(description="a short name for this source, used in reports")
    path: str = Field(description="file path or glob, relative to the config file")
    table: Literal["customer_records", "transactions", "interactions", "products", "components",
                   "component_rules"]
    system: str | None = Field(None, description="source system name (crm, web, loyalty, ...)")
    format: Literal["csv", "parquet", "excel"] | None = None
    delimiter: str = ","
    encoding: str = "utf-8"
    decimal: str = "."
    date_format: str | None = Field(None, description="strftime format; ISO 8601 when empty")
    sheet: str | int | None = None
    columns: dict[str, str] = Field(default_factory=dict,
                                    description="client column name -> canonical column name")
    values: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="per canonical column, client value -> canonical value (e.g. channels)")
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
            raise ValueError(f"unknown encoding {v!r}") from None
        return v

    @field_validator("columns")
    @classmethod
    def _known_columns(cls, v: dict[str, str], info) -> dict[str, str]:
        table = info.data.get("table")
        if table is None:  # the table itself is wrong; that is reported on its own key
            return v
        known = {c.name for c in C.columns_of(table)}
        bad = sorted(set(v.values()) - known)
        if bad:
            raise ValueError(f"maps onto {bad}, which table {table!r} does not have; "
                             f"expected some of {sorted(known)}")
        return v

    @model_validator(mode="after")
    def _check(self) -> "Source":
        if self.table in C.LINKED_TABLES and not self.system:
            raise ValueError(f"a {self.table} source needs `system` (the source system name)")
        return self

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


class Identify(_Strict):
    threshold_probability: float = Field(0.95, gt=0, lt=1)
    review_band: tuple[float, float] = (0.5, 0.95)
    survivorship: dict[str, Literal["most_recent", "most_frequent", "source_priority"]] = Field(
        default_factory=dict, description="per golden-record field; most_recent when absent")
    source_priority: list[str] = Field(default_factory=list)
    max_comparisons: int = Field(50_000_000, gt=0)
    household_guard: bool = Field(
        True, description="pairs whose given names differ with no phone or birth date in "
                          "common go to review instead of merging")


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


class Survey(_Strict):
    db_url: str | None = Field(None, description="SQLAlchemy URL; SQLite beside the config when empty")


class ClientConfig(_Strict):
    """Everything the workbook knows about one client."""

    client: str
    as_of: dt.date = Field(description="the analysis date; later-dated rows are quarantined")
    currency: str = "EUR"
    country: str = Field("GB", description="default country for phone numbers and addresses")
    workspace: str | None = Field(None, description="DuckDB file; <config stem>.duckdb beside it")
    sources: list[Source]
    channel_costs: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_CHANNEL_COSTS))
    tiers: Tiers = Field(default_factory=Tiers)
    fence: Fence = Field(default_factory=Fence)
    clv: Clv = Field(default_factory=Clv)
    identify: Identify = Field(default_factory=Identify)
    contact_policy: ContactPolicy = Field(default_factory=ContactPolicy)
    survey: Survey = Field(default_factory=Survey)
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
    def _unique_sources(self) -> "ClientConfig":
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
        if self.workspace:
            return self.resolve(self.workspace)
        stem = self.config_path.stem if self.config_path else "client"
        return self.base_dir / f"{stem}.duckdb"

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


def load_config(path: str | Path) -> ClientConfig:
    """Read and validate a client YAML; raise ConfigError listing every problem by key."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(path, [f"config file not found: {path}"])
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(path, [f"not valid YAML: {exc}"]) from None
    if not isinstance(raw, dict):
        raise ConfigError(path, ["expected a mapping of keys at the top level"])
    try:
        cfg = ClientConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(path, _format_errors(exc)) from None
    cfg.base_dir = path.resolve().parent
    cfg.config_path = path.resolve()
    return cfg
