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

    def static_view(self) -> list:
        """What a report shows: the customer, the product and options chosen, price and check."""
        return [self.who, self.product, self.modules_box, self.price, self.status, self.history]

    def __init__(self, configurator: Configurator, workspace, profile: pd.DataFrame | None = None,
                 customer_id: str = ""):
        self.configurator = configurator
        self.path = Path(getattr(workspace, "workspace_path", workspace))
        self.profile = (profile.set_index(profile[C.CUSTOMER_ID].astype(str))
                        if profile is not None else None)
        seg_col = C.SEGMENT
        self.segment_of = (self.profile[seg_col].to_dict() if self.profile is not None
                           and seg_col in self.profile else {})
        self.segment_names = ({} if self.profile is None or C.SEGMENT_NAME not in self.profile
                              else dict(zip(self.profile[seg_col], self.profile[C.SEGMENT_NAME],
                                            strict=False)))
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
                                   icon="save", disabled=True)
        self.history = widgets.HTML()
        self._dropdowns: dict[str, widgets.Dropdown] = {}
        self._building = False
        self.looked_up: str | None = None  # the customer the configuration is for
        self._valid = False
        self.add_class("onetoone-configurator")
        for w, name in ((self.customer, "customer"), (self.lookup, "lookup"),
                        (self.product, "product"), (self.price, "price"), (self.save, "save"),
                        (self.status, "status"), (self.who, "who")):
            w.add_class(f"configurator-{name}")
        self.lookup.on_click(lambda _: self.look_up())
        self.save.on_click(lambda _: self.save_current())
        self.product.observe(self._on_product, names="value")
        self.customer.observe(self._on_customer, names="value")
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

    def _on_product(self, change) -> None:
        if not self._building:
            self._build_modules()

    def _on_customer(self, change) -> None:
        # a different id in the box: the configuration on screen is not theirs until Look up
        if change["new"].strip() != (self.looked_up or ""):
            self.looked_up = None
            self._refresh_save()

    def _refresh_save(self) -> None:
        self.save.disabled = not (self._valid and self.looked_up)

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
            self._valid = False
            self._refresh_save()
            return
        self._valid = True
        self._refresh_save()
        name = html.escape(self.configurator.name(pc.product_id))
        self.price.value = (f"<b>Price: <span class='configurator-amount'>"
                            f"{theme.number(pc.price, decimals=2)}</span></b> for "
                            f"<span class='configurator-product-name'>{name}</span>")

    def _fail(self, what: str, exc: Exception) -> None:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "lock" in reason.lower():
            reason = ("the workspace is locked by another process (a notebook or a run "
                      f"holding it open): {reason}")
        self.status.value = (f"<b style='color:{PALETTE['bad']}'>{html.escape(what)}:</b> "
                             f"{html.escape(reason)}")

    # -- actions --------------------------------------------------------------------------------
    def look_up(self) -> None:
        """Show who the customer is, their history, and propose a configuration."""
        cid = self.customer.value.strip()
        self.looked_up = None
        self._refresh_save()
        if not cid:
            self.status.value = "Enter a customer id."
            return
        known = self.profile is None or cid in self.profile.index
        if not known:
            self.who.value = (f"<i>{html.escape(cid)} is not a known customer: check the id "
                              f"(Identify's lookup finds customers by name, email or phone). "
                              f"Nothing can be saved for them.</i>")
            self.status.value = ""
            self.history.value = ""
            return
        try:
            with Workspace(self.path, read_only=True) as ws:
                everyone = configuration_history(ws)
        except Exception as exc:  # noqa: BLE001 - any failure to open is shown, not raised
            self._fail("Could not look up", exc)
            return
        if self.profile is not None:
            r = self.profile.loc[cid]
            self.who.value = (f"<b>{html.escape(str(r.get(C.FIRST_NAME) or cid))}</b>: tier "
                              f"{html.escape(str(r.get('tier')))}, "
                              f"{html.escape(str(r.get('segment_name')))}")
        else:
            self.who.value = f"<b>{html.escape(cid)}</b>"
        proposal = propose_configuration(self.configurator, everyone, cid, None,
                                         segment_of=self.segment_of,
                                         segment_names=self.segment_names)
        if proposal is None:
            proposal = propose_configuration(self.configurator, everyone, cid, self.product.value)
        self._building = True
        try:
            self.product.value = proposal.configuration.product_id
        finally:
            self._building = False
        self._build_modules(proposal.configuration.options)
        self.looked_up = cid
        self._refresh_save()
        self.status.value = f"Proposed: {html.escape(proposal.reason)}."
        self._show_history(everyone[everyone[C.CUSTOMER_ID].astype(str) == cid])

    def save_current(self, status: str = "saved") -> bool:
        """Validate and append the current configuration; False (with the reason) if not saved.

        Only for the customer last looked up and known; a refused configuration names the rule
        it breaks; a workspace that cannot be written (locked by another process, read-only)
        says so in the widget.
        """
        cid = self.looked_up
        if not cid:
            self.status.value = ("Not saved: look up a known customer first "
                                 "(the configuration is for the customer looked up).")
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
        except Exception as exc:  # noqa: BLE001 - a failed save is shown, never silent
            self._fail("Not saved", exc)
            return False
        self.status.value = (f"Saved {html.escape(self.configurator.name(pc.product_id))} for "
                             f"{html.escape(cid)} at {theme.number(pc.price, decimals=2)}; "
                             f"proposed next time.")
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
