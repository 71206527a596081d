"""Client config: validation names every problem by key; relative paths resolve from the YAML."""

from __future__ import annotations

import textwrap

import pytest

from onetoone.config import ConfigError, load_config


def write(tmp_path, text):
    p = tmp_path / "client.yaml"
    p.write_text(textwrap.dedent(text), encoding="utf-8")
    return p


def test_minimal_config_defaults_and_paths(tmp_path):
    cfg = load_config(write(tmp_path, """
        client: Acme
        as_of: 2026-06-30
        sources:
          - {name: tx, path: exports/tx.csv, table: transactions, system: pos}
    """))
    assert cfg.currency == "EUR" and cfg.fence.portfolio_size == 250
    assert cfg.resolve(cfg.sources[0].path) == tmp_path / "exports" / "tx.csv"
    assert cfg.workspace_path == tmp_path / "client.duckdb"
    assert cfg.channel_costs["sales_rep"] > cfg.channel_costs["email"]
    assert cfg.survey_db_url.startswith("sqlite:///") and cfg.survey_db_url.endswith("client_survey.sqlite")


def test_every_problem_is_reported_by_key(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, """
            client: Acme
            as_of: not-a-date
            currency: euros
            sources:
              - {name: tx, path: tx.csv, table: orders, system: pos}
              - {name: crm, path: crm.csv, table: customer_records, delimiter: ";;",
                 columns: {Nr: customer_number}}
            channel_costs: {web: 0.1, pigeon: 3}
            fence: {portfolio_size: 0}
            tiers: {mvc_shar: 0.1}
        """))
    problems = err.value.problems
    keys = [p.split(":")[0] for p in problems]
    for key in ["as_of", "currency", "sources[0].table", "sources[1].delimiter", "sources[1].columns",
                "channel_costs", "fence.portfolio_size", "tiers.mvc_shar"]:
        assert key in keys, (key, problems)
    assert any("customer_number" in p for p in problems)
    assert any("pigeon" in p for p in problems)
    assert "client.yaml" in str(err.value)


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(write(tmp_path, "client: [unclosed\n"))
    with pytest.raises(ConfigError, match="sources: required key is missing"):
        load_config(write(tmp_path, "client: A\nas_of: 2026-01-01\n"))
