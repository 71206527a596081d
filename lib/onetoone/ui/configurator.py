"""The configurator widget: look up a customer, get a proposed configuration (last one, or
the segment's favourite), change options with a live price, save; an invalid choice is refused
with the rule it breaks. It opens the workspace only for a lookup or a save, so it keeps working
after the notebook has closed its session.
"""

from __future__ import annotations

import html
from pathlib import Path

import ipywidgets as widgets
import pandas as pd

from .. import columns as C
from ..customize.configurator import (
    Configurator,
    InvalidConfiguration,
    configuration_history,
    propose_configuration,
    save_configuration,
)
from ..workspace import Workspace
from . import theme
from .theme import PALETTE

__all__ = ["ConfiguratorWidget"]


class ConfiguratorWidget(widgets.VBox):
    """Configure a product for a looked-up customer; remembered in ``configurations``.

    Parameters
    ----------
    configurator : Configurator
        Built from the workspace's products, components and rules.
    workspace : str or Path or ClientConfig
        The workspace file (or the client config that names it); opened only for a lookup or
        a save, so the widget keeps working after the notebook closed its session.
    profile : DataFrame, optional
        ``customer_id, tier, segment, segment_name, first_name`` (from
        :func:`onetoone.customize.profile.customer_profile`): the segment used for proposals.
    """

    def __init__(self, configurator: Configurator, workspace, profile: pd.DataFrame | None = None,
                 customer_id: str = ""):
        self.configurator = configurator
        self.path = Path(getattr(workspace, "workspace_path", workspace))
        self.profile = (profile.set_index(profile[C.CUSTOMER_ID].astype(str))
                        if profile is not None else None)
        seg_col = "segment"
        self.segment_of = (self.profile[seg_col].to_dict() if self.profile is not None
                           and seg_col in self.profile else {})
        self.segment_names = ({} if self.profile is None or "segment_name" not in self.profile
                              else dict(zip(self.profile[seg_col], self.profile["segment_name"], strict=False)))
        self.customer = widgets.Text(value=customer_id, description="Customer",
                                     placeholder="customer id")
        self.lookup = widgets.Button(description="Look up", icon="search")
        prods = configurator.configurable_products()
        self.product = widgets.Dropdown(options=[(configurator.name(p), p) for p in prods],
                                        description="Product")
        self.who = widgets.HTML()
        self.modules_box = widgets.VBox()
        self.price = widgets.HTML()
        self.status = widgets.HTML()
        self.save = widgets.Button(description="Save configuration", button_style="primary",
                                   icon="save")
        self.history = widgets.HTML()
        self._dropdowns: dict[str, widgets.Dropdown] = {}
        self.add_class("onetoone-configurator")
        self.lookup.on_click(lambda _: self.look_up())
        self.save.on_click(lambda _: self.save_current())
        self.product.observe(lambda ch: self._build_modules(), names="value")
        super().__init__([widgets.HBox([self.customer, self.lookup]), self.who, self.product,
                          self.modules_box, self.price, widgets.HBox([self.save]), self.status,
                          self.history])
        self._build_modules()
        if customer_id:
            self.look_up()

    # -- state ----------------------------------------------------------------------------------
    @property
    def options(self) -> dict[str, str]:
        return {m: d.value for m, d in self._dropdowns.items()}

    def _build_modules(self, chosen: dict | None = None) -> None:
        p = self.product.value
        if p is None:
            self.modules_box.children = []
            return
        chosen = chosen or self.configurator.defaults(p)
        self._dropdowns = {}
        for m, g in self.configurator.modules(p).items():
            labels = [(f"{n} (+{theme.number(float(pr), decimals=0)})" if pr else str(n), o)
                      for o, n, pr in zip(g[C.OPTION_ID], g.get(C.OPTION_NAME, g[C.OPTION_ID]),
                                          g[C.PRICE], strict=True)]
            d = widgets.Dropdown(options=labels, value=chosen.get(m, labels[0][1]),
                                 description=m)
            d.observe(lambda ch: self._reprice(), names="value")
            self._dropdowns[m] = d
        self.modules_box.children = list(self._dropdowns.values())
        self._reprice()

    def _reprice(self) -> None:
        try:
            pc = self.configurator.price(self.product.value, self.options, fill_defaults=False)
        except InvalidConfiguration as exc:
            self.price.value = (f"<b style='color:{PALETTE['bad']}'>Not possible:</b> "
                                f"{html.escape(exc.rule)}")
            self.save.disabled = True
            return
        self.save.disabled = False
        self.price.value = f"<b>Price: {theme.number(pc.price, decimals=2)}</b>"

    # -- actions --------------------------------------------------------------------------------
    def look_up(self) -> None:
        """Show who the customer is, their history, and propose a configuration."""
        cid = self.customer.value.strip()
        if not cid:
            self.status.value = "Enter a customer id."
            return
        with Workspace(self.path) as ws:
            everyone = configuration_history(ws)
        known = self.profile is not None and cid in self.profile.index
        if self.profile is not None and not known:
            self.who.value = f"<i>{html.escape(cid)} is not a known customer.</i>"
        elif known:
            r = self.profile.loc[cid]
            self.who.value = (f"<b>{html.escape(str(r.get(C.FIRST_NAME) or cid))}</b>: tier "
                              f"{html.escape(str(r.get('tier')))}, "
                              f"{html.escape(str(r.get('segment_name')))}")
        proposal = propose_configuration(self.configurator, everyone, cid, None,
                                         segment_of=self.segment_of,
                                         segment_names=self.segment_names)
        if proposal is None:
            proposal = propose_configuration(self.configurator, everyone, cid, self.product.value)
        self.product.unobserve_all("value")
        self.product.value = proposal.configuration.product_id
        self.product.observe(lambda ch: self._build_modules(), names="value")
        self._build_modules(proposal.configuration.options)
        self.status.value = f"Proposed: {html.escape(proposal.reason)}."
        self._show_history(everyone[everyone[C.CUSTOMER_ID].astype(str) == cid])

    def save_current(self, status: str = "saved") -> bool:
        """Validate and append the current configuration; False (with the rule) if refused."""
        cid = self.customer.value.strip()
        if not cid:
            self.status.value = "Look up a customer first."
            return False
        try:
            with Workspace(self.path) as ws:
                pc = save_configuration(ws, self.configurator, cid, self.product.value,
                                        self.options, status=status)
                mine = configuration_history(ws, cid)
        except InvalidConfiguration as exc:
            self.status.value = (f"<b style='color:{PALETTE['bad']}'>Refused:</b> breaks rule "
                                 f"{html.escape(exc.rule)}")
            return False
        self.status.value = (f"Saved {html.escape(self.configurator.name(pc.product_id))} at "
                             f"{theme.number(pc.price, decimals=2)}; proposed next time.")
        self._show_history(mine)
        return True

    def _show_history(self, mine: pd.DataFrame) -> None:
        if not len(mine):
            self.history.value = "<i>No configurations saved yet.</i>"
            return
        rows = "".join(
            f"<tr><td>{pd.Timestamp(r[C.CREATED_AT]):%Y-%m-%d %H:%M}</td>"
            f"<td>{html.escape(self.configurator.name(r[C.PRODUCT_ID]))}</td>"
            f"<td style='text-align:right'>{theme.number(float(r[C.PRICE]), decimals=2)}</td>"
            f"<td>{html.escape(str(r['status']))}</td></tr>"
            for _, r in mine.sort_values(C.CREATED_AT, ascending=False).head(10).iterrows())
        self.history.value = ("<table><tr><th>when</th><th>product</th><th>price</th>"
                              f"<th>status</th></tr>{rows}</table>")
