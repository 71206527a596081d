"""The configurator widget: product, options and price agree; no save for an unknown customer;
a failed save says why."""

from __future__ import annotations

import subprocess
import sys
import time

import pandas as pd
import pytest

from onetoone import columns as C
from onetoone.customize.configurator import Configurator, save_configuration
from onetoone.ui.configurator import ConfiguratorWidget
from onetoone.workspace import Workspace


@pytest.fixture
def two_products():
    products = pd.DataFrame({C.PRODUCT_ID: ["S", "B"], C.NAME: ["Sofa", "Bed"],
                             C.PRICE: [900.0, 700.0], C.UNIT_COST: [500.0, 400.0],
                             C.CONFIGURABLE: [True, True]})
    components = pd.DataFrame({
        C.PRODUCT_ID: ["S", "S", "B", "B"], C.MODULE: ["size", "size", "frame", "frame"],
        C.OPTION_ID: ["S2", "S3", "PINE", "OAK"],
        C.OPTION_NAME: ["2-seater", "3-seater", "Pine", "Oak"],
        C.PRICE: [0.0, 250.0, 0.0, 150.0], C.UNIT_COST: [0.0, 140.0, 0.0, 80.0],
        C.IS_DEFAULT: [True, False, True, False]})
    rules = pd.DataFrame({C.PRODUCT_ID: pd.Series([], dtype=str),
                          C.OPTION_ID: pd.Series([], dtype=str),
                          C.RULE: pd.Series([], dtype=str),
                          C.OTHER_OPTION_ID: pd.Series([], dtype=str)})
    return Configurator(products, components, rules)


def _profile(*ids):
    return pd.DataFrame({C.CUSTOMER_ID: list(ids), "tier": ["MVC"] * len(ids),
                         "segment": [1] * len(ids), "segment_name": ["Home makers"] * len(ids),
                         C.FIRST_NAME: ["Ann"] * len(ids)})


def test_look_up_shows_the_proposed_product_with_its_options_and_price(two_products, tmp_path):
    path = tmp_path / "ws.duckdb"
    with Workspace(path) as ws:
        save_configuration(ws, two_products, "c1", "B", {"frame": "OAK"})
    w = ConfiguratorWidget(two_products, path, _profile("c1", "c2"))
    assert w.product.value == "S"
    w.customer.value = "c1"
    w.look_up()
    # the box the user sees (its index and label), the options and the price are all the Bed's
    assert w.product.value == "B" and w.product.label == "Bed"
    assert w.product.index == [p for _, p in w.product.options].index("B")
    assert w.options == {"frame": "OAK"}
    assert "850.00" in w.price.value and "Bed" in w.price.value
    assert not w.save.disabled
    # changing the product by hand still rebuilds the options (the observer survives)
    w.product.value = "S"
    assert set(w.options) == {"size"} and "900.00" in w.price.value


def test_no_save_for_an_unknown_customer(two_products, tmp_path):
    path = tmp_path / "ws.duckdb"
    Workspace(path).close()
    w = ConfiguratorWidget(two_products, path, _profile("c1"), customer_id="nobody")
    assert "not a known customer" in w.who.value
    assert w.save.disabled and not w.save_current()
    assert "look up a known customer" in w.status.value
    # a known customer, then another id typed without Look up: no save for either id
    w.customer.value = "c1"
    w.look_up()
    assert not w.save.disabled
    w.customer.value = "c9"
    assert w.save.disabled and not w.save_current()
    with Workspace(path, read_only=True) as ws:
        assert not ws.has("configurations") or len(ws.read("configurations")) == 0


def test_a_failed_save_says_why(two_products, tmp_path):
    path = tmp_path / "ws.duckdb"
    Workspace(path).close()
    w = ConfiguratorWidget(two_products, path, _profile("c1"), customer_id="c1")
    holder = subprocess.Popen([sys.executable, "-c",
                               ("import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('open', flush=True); time.sleep(60)"), str(path)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        t0 = time.perf_counter()
        assert not w.save_current()
        assert time.perf_counter() - t0 < 10
    finally:
        holder.kill()
        holder.wait()
    assert "Not saved" in w.status.value and "lock" in w.status.value.lower()
    assert w.save_current() and "Saved Sofa for c1" in w.status.value
