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


def test_yaml_problems_are_messages_naming_the_key(tmp_path):
    p = tmp_path / "client.yaml"
    p.write_text("client: A\nas_of: 2026-01-01\nclient: B\nsources: []\n")
    with pytest.raises(ConfigError, match=r"line 3, column 1: duplicate key 'client' \(first on line 1\)"):
        load_config(p)
    p.write_bytes("client: Müller\nas_of: 2026-01-01\nsources: []\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=r"not UTF-8: byte 9 \(line 1\)"):
        load_config(p)
    with pytest.raises(ConfigError, match="is a folder; expected a client YAML file"):
        load_config(tmp_path)


def test_source_problems_name_the_key(tmp_path):
    (tmp_path / "exports").mkdir()
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, """
            client: Acme
            as_of: 2026-06-31
            household: {size: 1e30}
            sources:
              - {name: a, path: a.csv, table: transactions, system: pos, encoding: klingon,
                 date_format: "%d/%m/%Q", columns: {Net: amount, Gross: amount}}
              - {name: b, path: b.csv, table: transactions, system: pos, thousands: "_",
                 date_format: "dd/mm/yyyy", columns: {product_id: {const: ALL, line_number: true}}}
        """))
    problems = "\n".join(err.value.problems)
    assert ("as_of: Input should be a valid date or datetime, day value is outside expected range "
            "(found '2026-06-31')") in problems
    assert "sources[0].encoding: unknown encoding 'klingon'" in problems
    assert "sources[0].date_format: invalid date format '%d/%m/%Q'" in problems
    assert ("sources[0].columns: two source columns are mapped onto one canonical column: "
            "['Net', 'Gross'] -> amount") in problems
    assert "sources[1].thousands: expected" in problems
    assert "sources[1].date_format: invalid date format 'dd/mm/yyyy': it has no % directive" in problems
    assert "exactly one of const, line_number, concat" in problems
    assert "household: unknown key" in problems
    with pytest.raises(ConfigError, match=r"sources\[0\].path: .*exports is a folder; expected a file "
                                          r"or a glob such as exports/\*.csv"):
        load_config(write(tmp_path, """
            client: Acme
            as_of: 2026-06-30
            sources:
              - {name: a, path: exports, table: transactions, system: pos}
        """))


def test_yaml_keeps_column_names_that_yaml_1_1_reads_as_booleans(tmp_path):
    cfg = load_config(write(tmp_path, """
        client: Acme
        as_of: 2026-06-30
        identify: {household_guard: false}
        sources:
          - name: a
            path: a.csv
            table: customer_records
            system: crm
            columns: {Id: record_id, street: {concat: [No, Street]}, On: city}
    """))
    src = cfg.sources[0]
    assert src.derived["street"].concat == ["No", "Street"] and src.mapped["On"] == "city"
    assert cfg.identify.household_guard is False


def test_values_and_date_formats_name_canonical_columns(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, """
            client: Acme
            as_of: 2026-06-30
            sources:
              - {name: a, path: a.csv, table: transactions, system: pos,
                 values: {chanel: {X: web}}, date_formats: {when: "%d/%m/%Y"}}
        """))
    problems = "\n".join(err.value.problems)
    assert "sources[0].values: names ['chanel'], which table 'transactions' does not have" in problems
    assert "sources[0].date_formats: names ['when']" in problems


def test_the_engine_setting_and_its_mistakes(tmp_path):
    base = textwrap.dedent("""
        client: Acme
        as_of: 2026-06-30
        sources:
          - {name: tx, path: tx.csv, table: transactions, system: pos}
    """)
    assert load_config(write(tmp_path, base)).engine.name == "duckdb"
    cfg = load_config(write(tmp_path, base + "engine: spark\n"))
    assert cfg.engine.name == "spark" and cfg.engine.master == "local[*]"
    assert cfg.workspace_path == tmp_path / "client.spark"
    assert cfg.checkpoint_path == tmp_path / "client.spark" / "_checkpoints"
    cfg = load_config(write(tmp_path, base + textwrap.dedent("""
        engine:
          name: spark
          master: yarn
          warehouse: /data/acme.spark
          checkpoint: ckpt
          conf: {spark.executor.memory: 16g}
    """)))
    assert cfg.workspace_path.as_posix() == "/data/acme.spark"
    assert cfg.checkpoint_path == tmp_path / "ckpt"
    assert cfg.engine.conf == {"spark.executor.memory": "16g"}
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, base + textwrap.dedent("""
            engine:
              name: sparky
              driver_memory: lots
              shuffle_partitions: 0
              masterr: local
        """)))
    keys = sorted(p.split(":")[0] for p in err.value.problems)
    assert keys == ["engine.driver_memory", "engine.masterr", "engine.name",
                    "engine.shuffle_partitions"], err.value.problems
