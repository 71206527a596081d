"""Mass customization: configurable products from modular components, remembered per customer.

- :class:`Configurator` reads the canonical ``products``, ``components`` and
  ``component_rules`` tables: :meth:`~Configurator.validate` (one option per module, known
  options, ``requires`` / ``excludes`` rules; an invalid configuration raises
  :class:`InvalidConfiguration` naming the rule it breaks), :meth:`~Configurator.price`
  (base price + options) and :meth:`~Configurator.variety` (how many distinct products a few
  modules make).
- :func:`save_configuration` appends to the workspace table ``configurations`` (append-only
  history: ``configuration_id, customer_id, product_id, options`` (JSON module -> option id),
  ``price, created_at, status``); :func:`configuration_history` reads it back.
- :func:`propose_configuration` proposes one next time: the customer's last configuration,
  else the most common configuration in their segment, else overall, else the defaults.
"""

from __future__ import annotations

import itertools
import json
import uuid
from dataclasses import dataclass, field

import ibis
import pandas as pd

from .. import columns as C

__all__ = [
    "CONFIGURATIONS",
    "SAVED_CONFIGURATIONS",
    "Configurator",
    "InvalidConfiguration",
    "PricedConfiguration",
    "Proposal",
    "configuration_history",
    "configuration_summary",
    "empty_history",
    "parse_options",
    "propose_configuration",
    "save_configuration",
]

CONFIGURATIONS = "configurations"
CONFIGURATION_ID = "configuration_id"
OPTIONS = "options"
STATUS = "status"
HISTORY_COLUMNS = (CONFIGURATION_ID, C.CUSTOMER_ID, C.PRODUCT_ID, OPTIONS, C.PRICE, C.CREATED_AT,
                   STATUS)
STATUSES = ("saved", "ordered", "abandoned")


class InvalidConfiguration(ValueError):
    """A configuration that breaks a rule.

    Attributes
    ----------
    rule : str
        The rule broken, e.g. ``"HF1-LEG3 requires HF1-SIZ2"``, ``"one option per module
        'size'"``, ``"unknown option 'X'"``.
    kind : str
        ``unknown_product``, ``not_configurable``, ``unknown_option``, ``one_per_module``,
        ``missing_module``, ``requires`` or ``excludes``.
    """

    def __init__(self, product_id: str, kind: str, rule: str, detail: str = ""):
        self.product_id, self.kind, self.rule = product_id, kind, rule
        super().__init__(f"configuration of {product_id} refused: breaks rule '{rule}'"
                         + (f" ({detail})" if detail else ""))


@dataclass(frozen=True)
class PricedConfiguration:
    """A valid configuration with its price (base + options) and cost."""

    product_id: str
    options: dict  # module -> option id
    base_price: float
    price: float
    cost: float | None
    lines: tuple = field(default=())  # (module, option_id, option_name, price)

    def options_json(self) -> str:
        return json.dumps(self.options, sort_keys=True)

    def table(self) -> pd.DataFrame:
        """The price build-up: base, one row per module's option, total."""
        rows = [("base", self.product_id, "base price", self.base_price)]
        rows += list(self.lines)
        rows.append(("total", "", "", self.price))
        return pd.DataFrame(rows, columns=[C.MODULE, C.OPTION_ID, C.OPTION_NAME, C.PRICE])


@dataclass(frozen=True)
class Proposal:
    """A configuration proposed to a customer, and why."""

    customer_id: str
    configuration: PricedConfiguration
    source: str  # last | segment | overall | default
    reason: str


class Configurator:
    """Validate and price configurations of the configurable products.

    Parameters
    ----------
    products, components, rules : DataFrame
        Canonical ``products``, ``components`` and ``component_rules`` tables.
    """

    def __init__(self, products: pd.DataFrame, components: pd.DataFrame,
                 rules: pd.DataFrame | None = None, *, product_id: str = C.PRODUCT_ID,
                 module: str = C.MODULE, option_id: str = C.OPTION_ID,
                 option_name: str = C.OPTION_NAME, price: str = C.PRICE,
                 unit_cost: str = C.UNIT_COST, is_default: str = C.IS_DEFAULT,
                 rule: str = C.RULE, other_option_id: str = C.OTHER_OPTION_ID,
                 configurable: str = C.CONFIGURABLE, name: str = C.NAME):
        self.products = products.set_index(products[product_id].astype(str))
        comp = components.copy()
        comp[product_id] = comp[product_id].astype(str)
        comp[option_id] = comp[option_id].astype(str)
        self._cols = {"product_id": product_id, "module": module, "option_id": option_id,
                          "option_name": option_name, "price": price, "unit_cost": unit_cost,
                          "is_default": is_default, "name": name, "configurable": configurable}
        self.components = comp
        self.rules = (rules.copy() if rules is not None else
                      pd.DataFrame(columns=[product_id, option_id, rule, other_option_id]))
        self._rule_col, self._other_col = rule, other_option_id
        self._by_product = {p: g for p, g in comp.groupby(product_id, sort=False)}
        self._rules_by_product = {p: g for p, g in self.rules.groupby(product_id, sort=False)}

    # -- catalogue ----------------------------------------------------------------------------
    def configurable_products(self) -> list[str]:
        """Products that have components, in catalogue order."""
        return [p for p in self.products.index if p in self._by_product]

    def name(self, product_id: str) -> str:
        n = self._cols["name"]
        if product_id in self.products.index and n in self.products.columns:
            return str(self.products.at[product_id, n])
        return str(product_id)

    def modules(self, product_id: str) -> dict[str, pd.DataFrame]:
        """module -> its options (rows of ``components``), in file order."""
        comp = self._components(product_id)
        return {m: g for m, g in comp.groupby(self._cols["module"], sort=False)}

    def defaults(self, product_id: str) -> dict[str, str]:
        """The default option of each module (the first option when none is flagged)."""
        out = {}
        c = self._cols
        for m, g in self.modules(product_id).items():
            flag = g[c["is_default"]].fillna(False).astype(bool) if c["is_default"] in g else None
            row = g[flag].iloc[0] if flag is not None and flag.any() else g.iloc[0]
            out[m] = str(row[c["option_id"]])
        return out

    def _components(self, product_id: str) -> pd.DataFrame:
        product_id = str(product_id)
        if product_id not in self._by_product:
            if product_id not in self.products.index:
                raise InvalidConfiguration(product_id, "unknown_product",
                                           f"product {product_id!r} is in the catalogue",
                                           f"found no such product among {len(self.products)}")
            raise InvalidConfiguration(product_id, "not_configurable",
                                       f"product {product_id!r} is configurable",
                                       "it has no components")
        return self._by_product[product_id]

    # -- validation and price -----------------------------------------------------------------
    def validate(self, product_id: str, options, *, fill_defaults: bool = True) -> dict[str, str]:
        """Check a configuration; return it as ``{module: option_id}``.

        Parameters
        ----------
        options : dict or iterable
            ``{module: option_id}`` or a list of option ids.
        fill_defaults : bool
            Modules left out take their default option; when False a missing module is an error.

        Raises
        ------
        InvalidConfiguration
            Naming the first rule broken: unknown option, two options in one module, a missing
            module, or a ``requires`` / ``excludes`` rule.
        """
        product_id = str(product_id)
        comp = self._components(product_id)
        c = self._cols
        module_of = dict(zip(comp[c["option_id"]], comp[c["module"]]))
        chosen = list(options.values()) if isinstance(options, dict) else list(options)
        if isinstance(options, dict):
            for m, o in options.items():
                if str(o) in module_of and module_of[str(o)] != m:
                    raise InvalidConfiguration(product_id, "unknown_option",
                                               f"option {o!r} belongs to module "
                                               f"{module_of[str(o)]!r}", f"given for {m!r}")
        picked: dict[str, str] = {}
        for o in map(str, chosen):
            if o not in module_of:
                raise InvalidConfiguration(product_id, "unknown_option",
                                           f"unknown option {o!r}",
                                           f"options of {product_id} are {sorted(module_of)}")
            m = module_of[o]
            if m in picked and picked[m] != o:
                raise InvalidConfiguration(product_id, "one_per_module",
                                           f"one option per module {m!r}",
                                           f"found {picked[m]!r} and {o!r}")
            picked[m] = o
        for m, d in self.defaults(product_id).items():
            if m not in picked:
                if not fill_defaults:
                    raise InvalidConfiguration(product_id, "missing_module",
                                               f"one option per module {m!r}", "none chosen")
                picked[m] = d
        chosen_set = set(picked.values())
        rules = self._rules_by_product.get(product_id)
        if rules is not None:
            for a, r, b in zip(rules[c["option_id"]].astype(str), rules[self._rule_col],
                               rules[self._other_col].astype(str)):
                if a not in chosen_set:
                    continue
                if r == "requires" and b not in chosen_set:
                    raise InvalidConfiguration(product_id, "requires", f"{a} requires {b}",
                                               f"{self._opt_name(product_id, a)} needs "
                                               f"{self._opt_name(product_id, b)}")
                if r == "excludes" and b in chosen_set:
                    raise InvalidConfiguration(product_id, "excludes", f"{a} excludes {b}",
                                               f"{self._opt_name(product_id, a)} cannot go with "
                                               f"{self._opt_name(product_id, b)}")
        order = list(self.modules(product_id))
        return {m: picked[m] for m in order}

    def _opt_name(self, product_id: str, option: str) -> str:
        comp = self._by_product[product_id]
        c = self._cols
        row = comp[comp[c["option_id"]] == option]
        if len(row) and c["option_name"] in comp:
            return f"{row[c['module']].iat[0]} '{row[c['option_name']].iat[0]}'"
        return option

    def check(self, product_id: str, options, *, fill_defaults: bool = True) -> str | None:
        """The message of the first rule a configuration breaks, or None when it is valid."""
        try:
            self.validate(product_id, options, fill_defaults=fill_defaults)
            return None
        except InvalidConfiguration as exc:
            return str(exc)

    def is_valid(self, product_id: str, options) -> bool:
        try:
            self.validate(product_id, options, fill_defaults=False)
            return True
        except InvalidConfiguration:
            return False

    def price(self, product_id: str, options, *, fill_defaults: bool = True) -> PricedConfiguration:
        """Validate, then price: the product's base price plus each chosen option's price."""
        c = self._cols
        picked = self.validate(product_id, options, fill_defaults=fill_defaults)
        comp = self._by_product[str(product_id)].set_index(c["option_id"])
        base = float(self.products.at[str(product_id), c["price"]]) \
            if c["price"] in self.products.columns else 0.0
        base_cost = (float(self.products.at[str(product_id), c["unit_cost"]])
                     if c["unit_cost"] in self.products.columns else None)
        lines, add, add_cost = [], 0.0, 0.0
        for m, o in picked.items():
            p = float(comp.at[o, c["price"]])
            add += p
            if c["unit_cost"] in comp.columns and pd.notna(comp.at[o, c["unit_cost"]]):
                add_cost += float(comp.at[o, c["unit_cost"]])
            name = comp.at[o, c["option_name"]] if c["option_name"] in comp.columns else o
            lines.append((m, o, str(name), p))
        cost = None if base_cost is None or pd.isna(base_cost) else round(base_cost + add_cost, 2)
        return PricedConfiguration(str(product_id), picked, base, round(base + add, 2), cost,
                                   tuple(lines))

    # -- variety ------------------------------------------------------------------------------
    def count_valid(self, product_id: str, limit: int = 2_000_000) -> int:
        """Distinct valid configurations of one product (enumerated; up to ``limit``)."""
        mods = self.modules(product_id)
        opts = [list(g[self._cols["option_id"]].astype(str)) for g in mods.values()]
        total = 1
        for o in opts:
            total *= len(o)
        if total > limit:
            raise ValueError(f"{product_id}: {total:,} combinations exceed limit={limit:,}")
        rules = self._rules_by_product.get(str(product_id))
        checks = [] if rules is None else list(zip(
            rules[self._cols["option_id"]].astype(str), rules[self._rule_col],
            rules[self._other_col].astype(str)))
        n = 0
        for combo in itertools.product(*opts):
            chosen = set(combo)
            n += all(a not in chosen or ((b in chosen) == (r == "requires"))
                     for a, r, b in checks)
        return n

    def conflicts(self) -> pd.DataFrame:
        """Rules that contradict each other: an option that both requires and excludes another.

        Such an option can never be chosen. Returns ``product_id, option_id, other_option_id``.
        """
        c = self._cols
        r = self.rules[[c["product_id"], c["option_id"], self._rule_col, self._other_col]]
        req = r[r[self._rule_col] == "requires"]
        exc = r[r[self._rule_col] == "excludes"]
        both = req.merge(exc, on=[c["product_id"], c["option_id"], self._other_col])
        return both[[c["product_id"], c["option_id"], self._other_col]].reset_index(drop=True)

    def variety(self) -> pd.DataFrame:
        """Per configurable product: modules, options, combinations and valid products.

        Returns ``product_id, name, modules, options, combinations, valid, rules``, where
        ``combinations`` is the product of the option counts and ``valid`` those that satisfy
        every rule: how many distinct products a handful of modules make.
        """
        rows = []
        for p in self.configurable_products():
            mods = self.modules(p)
            combos = 1
            for g in mods.values():
                combos *= len(g)
            rules = self._rules_by_product.get(p)
            rows.append({C.PRODUCT_ID: p, C.NAME: self.name(p), "modules": len(mods),
                         "options": int(sum(len(g) for g in mods.values())),
                         "combinations": combos, "valid": self.count_valid(p),
                         "rules": 0 if rules is None else len(rules)})
        return pd.DataFrame(rows)


# -- history in the workspace ----------------------------------------------------------------
def empty_history() -> pd.DataFrame:
    """An empty ``configurations`` table with its columns and types."""
    return pd.DataFrame({CONFIGURATION_ID: pd.Series(dtype=str), C.CUSTOMER_ID: pd.Series(dtype=str),
                         C.PRODUCT_ID: pd.Series(dtype=str), OPTIONS: pd.Series(dtype=str),
                         C.PRICE: pd.Series(dtype=float),
                         C.CREATED_AT: pd.Series(dtype="datetime64[us]"),
                         STATUS: pd.Series(dtype=str)})


def save_configuration(ws, configurator: Configurator, customer_id: str, product_id: str,
                       options, *, status: str = "saved", created_at=None) -> PricedConfiguration:
    """Validate, price and append one configuration to the workspace's ``configurations``.

    Nothing is overwritten: each save is a new row, so the table is the customer's history.
    An invalid configuration raises :class:`InvalidConfiguration` and writes nothing.
    """
    if status not in STATUSES:
        raise ValueError(f"status: expected one of {STATUSES}, found {status!r}")
    if customer_id is None or str(customer_id) == "":
        raise ValueError("customer_id: expected a customer id, found an empty value")
    priced = configurator.price(product_id, options)
    row = empty_history()
    row.loc[0] = [uuid.uuid4().hex, str(customer_id), priced.product_id, priced.options_json(),
                  priced.price, pd.Timestamp(created_at or pd.Timestamp.now()).floor("us"),
                  status]
    row[C.CREATED_AT] = row[C.CREATED_AT].astype("datetime64[us]")
    row[C.PRICE] = row[C.PRICE].astype(float)
    ws.append(CONFIGURATIONS, row)
    return priced


SAVED_CONFIGURATIONS = "saved_configurations"
"""The canonical input table: configurations exported from the client's own systems."""


def parse_options(text) -> dict | list:
    """Options as stored: a JSON object (module -> option id), a JSON list, or option ids
    separated by ``;`` (the canonical export format)."""
    if isinstance(text, (dict, list)):
        return text
    t = str(text).strip()
    if t.startswith(("{", "[")):
        return json.loads(t)
    return [o.strip() for o in t.split(";") if o.strip()]


def _options_key(text) -> str:
    """A format-free key of a configuration's options (sorted option ids)."""
    try:
        o = parse_options(text)
    except ValueError:
        return str(text)
    ids = o.values() if isinstance(o, dict) else o
    return ";".join(sorted(map(str, ids)))


def _imported_history(ws, customer_id: str | None = None) -> pd.DataFrame:
    """The client's exported configurations (``saved_configurations``) as history rows (of
    one customer when given: the engine filters, only their rows are fetched)."""
    from ..customers import with_customer_id

    t = with_customer_id(ws, SAVED_CONFIGURATIONS)
    if customer_id is not None:
        t = t.filter(t[C.CUSTOMER_ID].cast("string") == str(customer_id))
    cols = t.columns
    df = t.select(
        t[CONFIGURATION_ID].cast("string").name(CONFIGURATION_ID),
        t[C.CUSTOMER_ID].cast("string").name(C.CUSTOMER_ID),
        t[C.PRODUCT_ID].cast("string").name(C.PRODUCT_ID),
        t[OPTIONS].cast("string").name(OPTIONS),
        (t[C.PRICE] if C.PRICE in cols else ibis.null().cast("float64")).cast("float64").name(C.PRICE),
        t[C.CREATED_AT].cast("timestamp").name(C.CREATED_AT),
        (t[STATUS].fill_null("saved") if STATUS in cols else ibis.literal("saved"))
        .cast("string").name(STATUS),
    ).filter(t[C.CUSTOMER_ID].notnull()).to_pandas()
    df[C.CREATED_AT] = df[C.CREATED_AT].astype("datetime64[us]")
    return df


def configuration_history(ws, customer_id: str | None = None) -> pd.DataFrame:
    """Every configuration remembered, oldest first (of one customer when given).

    Two sources, one history: the configurations exported from the client's systems
    (canonical table ``saved_configurations``, customers resolved through Identify's
    record map) and those saved in the workbook (``configurations``, append-only).
    """
    parts = []
    if ws.has(SAVED_CONFIGURATIONS):
        parts.append(_imported_history(ws, customer_id))
    if ws.has(CONFIGURATIONS):
        t = ws.table(CONFIGURATIONS).select(list(HISTORY_COLUMNS))
        if customer_id is not None:
            t = t.filter(t[C.CUSTOMER_ID].cast("string") == str(customer_id))
        parts.append(t.to_pandas())
    parts = [p for p in parts if len(p)]
    if not parts:
        return empty_history()
    h = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    h[C.CREATED_AT] = pd.to_datetime(h[C.CREATED_AT]).astype("datetime64[us]")
    if customer_id is not None:
        h = h[h[C.CUSTOMER_ID].astype(str) == str(customer_id)]
    return h.sort_values([C.CREATED_AT, CONFIGURATION_ID], kind="stable").reset_index(drop=True)


def configuration_summary(history: pd.DataFrame) -> dict:
    """How many customers have a configuration remembered and how often they re-order it.

    Returns ``configurations``, ``customers`` (with at least one), ``ordered_customers``
    (with an ordered configuration), ``reorder_customers`` (ordered the same configuration,
    same product and options, on two or more occasions), ``reorder_share`` (of
    ``ordered_customers``) and ``orders_per_configuration`` (mean orders of each ordered
    configuration).
    """
    if not len(history):
        return {"configurations": 0, "customers": 0, "ordered_customers": 0,
                "reorder_customers": 0, "reorder_share": float("nan"),
                "orders_per_configuration": float("nan")}
    h = history.assign(_key=history[C.PRODUCT_ID].astype(str) + "|"
                       + history[OPTIONS].map(_options_key))
    o = h[h[STATUS] == "ordered"]
    per = o.groupby([C.CUSTOMER_ID, "_key"]).size()
    again = per[per >= 2].reset_index()[C.CUSTOMER_ID].nunique()
    n_ord = o[C.CUSTOMER_ID].nunique()
    return {"configurations": len(h), "customers": int(h[C.CUSTOMER_ID].nunique()),
            "ordered_customers": int(n_ord), "reorder_customers": int(again),
            "reorder_share": again / n_ord if n_ord else float("nan"),
            "orders_per_configuration": float(per.mean()) if len(per) else float("nan")}


def propose_configuration(configurator: Configurator, history: pd.DataFrame, customer_id: str,
                          product_id: str | None = None, *, segment_of: dict | None = None,
                          segment_names: dict | None = None) -> Proposal | None:
    """Propose a configuration to a customer from their history and their segment.

    Order of preference: the customer's last configuration (of ``product_id`` when given);
    the most common configuration among customers of the same segment; the most common
    overall; the product's default configuration. A remembered configuration that the rules
    no longer allow is skipped. Returns None when no ``product_id`` is given and nobody has
    configured anything yet.

    Parameters
    ----------
    history : DataFrame
        The ``configurations`` table (all customers).
    segment_of : dict, optional
        customer_id -> segment (Differentiate's ``customer_value.segment``); one segment
        for everybody when absent.
    """
    customer_id = str(customer_id)
    h = history
    if product_id is not None:
        h = h[h[C.PRODUCT_ID].astype(str) == str(product_id)]
    h = h[h[STATUS] != "abandoned"] if STATUS in h else h

    def _ok(row) -> PricedConfiguration | None:
        try:
            return configurator.price(row[C.PRODUCT_ID], parse_options(row[OPTIONS]))
        except (InvalidConfiguration, ValueError, TypeError):
            return None

    mine = h[h[C.CUSTOMER_ID].astype(str) == customer_id].sort_values(C.CREATED_AT)
    for _, row in mine.iloc[::-1].iterrows():
        pc = _ok(row)
        if pc is not None:
            when = pd.Timestamp(row[C.CREATED_AT]).strftime("%d %b %Y")
            return Proposal(customer_id, pc, "last", f"your last configuration ({when})")
    segment_of = segment_of or {}
    seg = segment_of.get(customer_id)
    groups = []
    if seg is not None and len(h):
        same = h[h[C.CUSTOMER_ID].astype(str).map(segment_of) == seg]
        label = (segment_names or {}).get(seg, f"segment {seg}")
        groups.append((C.SEGMENT, same, f"most chosen by customers in {label}"))
    groups.append(("overall", h, "most chosen by all customers"))
    for source, g, why in groups:
        if not len(g):
            continue
        g = g.assign(_key=g[OPTIONS].map(_options_key))
        first = g.drop_duplicates([C.PRODUCT_ID, "_key"]).set_index([C.PRODUCT_ID, "_key"])[OPTIONS]
        counts = g.groupby([C.PRODUCT_ID, "_key"]).size().sort_values(ascending=False,
                                                                       kind="stable")
        for (pid, key), n in counts.items():
            opts = first.loc[(pid, key)]
            pc = _ok({C.PRODUCT_ID: pid, OPTIONS: opts})
            if pc is not None:
                return Proposal(customer_id, pc, source, f"{why} ({n} time{'s' * (n != 1)})")
    if product_id is None:
        return None
    return Proposal(customer_id, configurator.price(product_id, {}), "default",
                    "the standard configuration")
