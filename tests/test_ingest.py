"""Ingest against the corpus of broken client files in tests/data/broken (see its README)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from onetoone.config import load_config
from onetoone.ingest import IngestError, ingest
from onetoone.workspace import Workspace

BROKEN = Path(__file__).parent / "data" / "broken"


@pytest.fixture()
def cfg(tmp_path):
    for f in BROKEN.iterdir():
        shutil.copy(f, tmp_path / f.name)
    return load_config(tmp_path / "client.yaml")


@pytest.fixture()
def ws(cfg):
    with Workspace.open(cfg) as w:
        yield w


@pytest.mark.parametrize("source, fragment", [
    ("empty", "empty"),
    ("header_only", "no data rows"),
    ("missing", "file not found"),
    ("glob_none", "no file matches"),
    ("latin1", "cannot be decoded as utf-8"),
    ("wrong_columns", "none of the mapped columns"),
    ("no_amount", "required column(s) ['amount']"),
])
def test_unusable_file_stops_with_error_naming_it(cfg, ws, source, fragment):
    src = cfg.source(source)
    with pytest.raises(IngestError) as err:
        ingest(cfg, ws, sources=[source], echo=False)
    msg = str(err.value)
    assert fragment in msg
    assert Path(src.path).name.replace("*", "") .split("_*")[0] in msg or src.path in msg
    assert not ws.has("transactions") or ws.count("transactions") == 0


def test_declared_encoding_loads_latin1(cfg, ws):
    (res,) = ingest(cfg, ws, sources=["latin1_declared"], echo=False)
    assert (res.read, res.loaded, res.quarantined) == (1, 1, 0)
    row = ws.read("customer_records").iloc[0]
    assert row["last_name"] == "Müller" and row["street"] == "Hauptstraße 1"


def test_bom_semicolon_and_decimal_commas(cfg, ws):
    (res,) = ingest(cfg, ws, sources=["german"], echo=False)
    assert (res.read, res.loaded, res.quarantined) == (5, 5, 0)
    df = ws.read("transactions").set_index("transaction_id")
    assert df.loc["B1", "amount"] == pytest.approx(1234.50)
    assert df.loc["B3", "amount"] == pytest.approx(-3.99)
    assert df.loc["B5", "channel"] == "call_centre"
    assert str(df.loc["B2", "date"].date()) == "2026-01-06"
    assert df.loc["B3", "record_key"] is None or df["record_key"].isna()["B3"]  # anonymous
    assert df.loc["B1", "record_key"] == "kasse:K1"


def test_bad_rows_are_quarantined_with_reasons_and_counts_add_up(cfg, ws):
    (res,) = ingest(cfg, ws, sources=["tx_bad_rows"], echo=False)
    assert res.read == 11
    assert res.loaded + res.quarantined == res.read
    reasons: dict[str, int] = {}
    for k, v in res.reasons.items():
        reasons[k.split(" (")[0]] = reasons.get(k.split(" (")[0], 0) + v
    assert reasons == {
        "does not match the declared date format": 1, "date after the as-of date 2026-06-30": 1,
        "does not match the declared number format": 2,  # 'ten', and '1,299.00' (no thousands
        "empty identifier": 2,  # transaction_id and product_id          separator declared)
        "duplicate transaction_id within the source": 1, "unknown channel": 1,
    }
    assert res.loaded == 3  # L1, L2, L9 (anonymous)
    q = ws.read("quarantine")
    assert set(q["action"]) == {"row quarantined"}
    row = q[q["value"] == "ten"].iloc[0]
    assert (row["file"].endswith("tx_bad_rows.csv"), row["row"], row["column"]) == \
        (True, 6, "amount")
    assert row["reason"].startswith("does not match the declared number format (amount; decimal '.'")
    dup = q[q["reason"].str.startswith("duplicate")].iloc[0]
    assert (dup["row"], dup["value"]) == (8, "L1") and "the row kept is line 2" in dup["reason"]
    tx = ws.read("transactions").set_index("transaction_id")
    assert tx.loc["L1", "record_id"] == "C1"  # the first of the duplicates wins
    assert tx.loc["L9", "record_key"] is None or tx["record_key"].isna()["L9"]


def test_bad_optional_values_are_cleared_not_lost(cfg, ws):
    (res,) = ingest(cfg, ws, sources=["customers_bad"], echo=False)
    assert (res.read, res.loaded, res.quarantined) == (5, 3, 2)
    cust = ws.read("customer_records").set_index("record_id")
    assert set(cust.index) == {"A1", "A2", "A5"}
    assert cust.loc["A1", "last_name"] == "Lee"
    assert cust["birth_date"].isna()["A2"] and cust["birth_date"].isna()["A5"]  # bad / future
    assert cust.loc["A5", "email"] == "cat@example.com"
    assert cust["household_size"].isna()["A5"] and cust.loc["A2", "household_size"] == 3
    q = ws.read("quarantine")
    cleared = q[q["action"] == "value cleared"]
    assert sorted(cleared["column"]) == ["birth_date", "birth_date", "consent_email", "household_size"]
    assert res.cleared == 4


def test_interactions_rules(cfg, ws):
    (res,) = ingest(cfg, ws, sources=["interactions_bad"], echo=False)
    assert (res.read, res.loaded, res.quarantined) == (5, 3, 2)
    assert {k.split(" (")[0] for k in res.reasons} == {"unknown channel",
                                                       "date after the as-of date 2026-06-30"}
    it = ws.read("interactions").set_index("interaction_id")
    assert it["satisfaction"].isna()["I5"] and it.loc["I1", "satisfaction"] == 2


def test_reingest_replaces_never_duplicates(cfg, ws):
    first = ingest(cfg, ws, sources=["tx_good", "tx_bad_rows"], echo=False)
    n_tx, n_q = ws.count("transactions"), ws.count("quarantine")
    again = ingest(cfg, ws, sources=["tx_bad_rows"], echo=False)
    assert ws.count("transactions") == n_tx and ws.count("quarantine") == n_q
    assert again[0].loaded == first[1].loaded
    log = ws.read("ingest_log")
    assert sorted(log["source"]) == ["tx_bad_rows", "tx_good"]


def test_duplicate_key_across_sources_is_quarantined(cfg, ws):
    ingest(cfg, ws, sources=["tx_good"], echo=False)
    (res,) = ingest(cfg, ws, sources=["tx_bad_rows"], echo=False)
    assert any("already loaded from another source" in r for r in res.reasons)
    assert res.loaded + res.quarantined == res.read


# -- the ingest corpus (tests/data/ingest; see its README) ------------------------------------
CORPUS = Path(__file__).parent / "data" / "ingest"


@pytest.fixture()
def corpus(tmp_path):
    shutil.copytree(CORPUS, tmp_path, dirs_exist_ok=True)
    cfg = load_config(tmp_path / "client.yaml")
    with Workspace.open(cfg) as w:
        yield cfg, w


def _one(corpus, name):
    cfg, ws = corpus
    (res,) = ingest(cfg, ws, sources=[name], echo=False)
    assert res.read == res.loaded + res.quarantined
    q = ws.sql("SELECT * FROM quarantine WHERE source = ? ORDER BY row, \"column\"", [name])
    return res, q, ws


def _table(ws, table, source, key):
    return ws.sql(f'SELECT * FROM "{table}" WHERE source = ?', [source]).set_index(key)


def test_extra_trailing_comma_never_shifts_columns(corpus):
    res, q, ws = _one(corpus, "shifted")
    assert (res.read, res.loaded, res.quarantined) == (3, 3, 0)
    cust = _table(ws, "customer_records", "shifted", "record_id")
    assert cust.loc["A1", ["first_name", "email", "city"]].tolist() == ["Ann", "ann@example.com", "Leeds"]
    assert cust.loc["A3", "city"] == "Bath"


def test_numbers_exactly_as_declared_dot(corpus):
    res, q, ws = _one(corpus, "numbers_dot")
    assert (res.read, res.loaded, res.quarantined) == (12, 4, 8)
    tx = _table(ws, "transactions", "numbers_dot", "transaction_id")
    assert tx["amount"].to_dict() == {"N1": 10.0, "N8": 12.5, "N9": 7.0, "N10": -3.99}
    by_value = dict(zip(q["value"].str[:12], q["reason"]))
    fmt = "does not match the declared number format (amount; decimal '.', no thousands separator)"
    for v in ["1,5", "12,50", "€1.234,50", "1e400", "1,234.50"]:
        assert by_value[v] == fmt, v
    assert by_value["inf"] == by_value["nan"] == "not a finite number (amount)"
    assert by_value["1" + "0" * 11] == "not a finite number (amount)"  # 1 followed by 400 zeros
    assert set(q["row"]) == {3, 4, 5, 6, 7, 8, 12, 13} and set(q["column"]) == {"amount"}


def test_numbers_exactly_as_declared_comma(corpus):
    res, q, ws = _one(corpus, "numbers_comma")
    assert (res.read, res.loaded, res.quarantined) == (7, 4, 3)
    tx = _table(ws, "transactions", "numbers_comma", "transaction_id")
    assert tx["amount"].to_dict() == {"K1": 1234.5, "K3": 12.5, "K4": 1.5, "K6": 1234.0}
    assert sorted(q["value"]) == ["1 234,50", "1.5", "€ 3,99"]  # the client currency is GBP
    assert set(q["reason"]) == {("does not match the declared number format (amount; decimal ',', "
                                "thousands '.')")}


def test_dates_exactly_as_declared(corpus):
    res, q, ws = _one(corpus, "dates_iso")
    assert (res.read, res.loaded, res.quarantined) == (8, 3, 5)
    tx = _table(ws, "transactions", "dates_iso", "transaction_id")
    assert str(tx.loc["D6", "date"]) == "2026-01-05 08:00:00"  # 10:00+02:00 in UTC
    assert dict(zip(q["value"], q["row"])) == {"2024": 3, "2024-01": 4, "2026-02-30": 5,
                                               "2026-07-01": 6, "05/01/2026": 9}
    assert q.set_index("value").loc["2026-07-01", "reason"] == "date after the as-of date 2026-06-30 (date)"
    res, q, ws = _one(corpus, "dates_dmy")
    assert (res.read, res.loaded, res.quarantined) == (5, 1, 4)
    reasons = dict(zip(q["value"], q["reason"]))
    assert reasons["31/02/2026"].startswith("does not match the declared date format (date; %d/%m/%Y)")
    assert reasons["5/1/26"].startswith("a date before 1900 (date)")  # %Y read 26 as the year 26
    assert reasons["01/07/2026"].startswith("date after the as-of date")


def test_each_file_of_a_glob_is_checked_on_its_own(corpus):
    res, q, ws = _one(corpus, "monthly")
    assert (res.read, res.loaded, res.quarantined) == (3, 3, 0)
    (refused,) = res.refused_files.values()
    assert refused.startswith("monthly_2026_02.csv: refused, required column(s) [\"amount (column 'Net')\"]")
    assert "it has ['Line', 'When', 'Item', 'Amount', 'Via']" in refused
    assert any("monthly_2026_03.csv: no column 'Via' (channel)" in n for n in res.notes)
    tx = _table(ws, "transactions", "monthly", "transaction_id")
    assert sorted(tx.index) == ["M1", "M2", "M5"] and tx["channel"].isna()["M5"]
    assert "refused" in res.summary() and "note:" in res.summary()


def test_derived_columns(corpus):
    res, q, ws = _one(corpus, "till_rolls")
    assert (res.read, res.loaded, res.quarantined) == (3, 3, 0)
    tx = _table(ws, "transactions", "till_rolls", "transaction_id")
    assert sorted(tx.index) == ["2", "3", "4"] and set(tx["product_id"]) == {"ALL"}
    res, q, ws = _one(corpus, "monthly_lines")  # a glob: the line number is prefixed by the file
    assert sorted(_table(ws, "transactions", "monthly_lines", "transaction_id").index) == [
        "monthly_2026_01.csv:2", "monthly_2026_01.csv:3", "monthly_2026_03.csv:2"]
    res, q, ws = _one(corpus, "split_address")
    cust = _table(ws, "customer_records", "split_address", "record_id")
    assert cust["street"].to_dict() == {"S1": "12 High Street", "S2": "Mill Lane",
                                        "S3": "7a Station Road"}


def test_duplicates_are_decided_among_good_rows(corpus):
    res, q, ws = _one(corpus, "dup_after_bad")
    assert (res.read, res.loaded, res.quarantined) == (4, 2, 2)
    tx = _table(ws, "transactions", "dup_after_bad", "transaction_id")
    assert str(tx.loc["L1", "date"].date()) == "2026-01-13"  # the corrected row, not blocked
    dup = q[q["reason"].str.startswith("duplicate")].iloc[0]
    assert (dup["row"], dup["reason"]) == (4, ("duplicate transaction_id within the source "
                                              "(the row kept is line 3)"))


def test_true_line_numbers_after_blank_lines_and_quoted_newlines(corpus):
    res, q, ws = _one(corpus, "lines")
    assert (res.read, res.loaded, res.quarantined) == (7, 4, 3)
    assert dict(zip(q["row"], q["value"])) == {6: "ten", 8: "Q5,2026-01-05,P1,5.00", 9: "oops"}
    ragged = q.set_index("row").loc[8, "reason"]
    assert ragged == "ragged row: 4 fields where the header has 5; nothing was moved between columns"
    tx = _table(ws, "transactions", "lines", "transaction_id")
    assert tx.loc["Q2", "location"] == "two\nlines" and tx.loc["Q4", "location"] == 'a "quoted" word'


def test_encodings(corpus):
    res, q, ws = _one(corpus, "utf8_declared_latin1")
    assert (res.read, res.loaded) == (2, 2)
    assert any("declared latin-1 but the file is valid UTF-8 with multi-byte characters (first on "
               "line 3)" in n for n in res.notes)
    res, q, ws = _one(corpus, "cp1252")
    assert (res.read, res.loaded) == (1, 1)
    tx = _table(ws, "transactions", "cp1252", "transaction_id")
    assert tx.loc["W1", "product_id"] == "Café “Crème”" and tx.loc["W1", "amount"] == 3.5
    cfg, ws = corpus
    with pytest.raises(IngestError, match=r"bad_utf8.csv: cannot be decoded as utf-8 at line 4, "
                                          r"byte offset 34"):
        ingest(cfg, ws, sources=["bad_utf8"], echo=False)
    with pytest.raises(IngestError, match=r"nul.csv: contains a NUL byte at line 3"):
        ingest(cfg, ws, sources=["nul"], echo=False)


@pytest.mark.parametrize("source, message", [
    ("trim_collide", "headers ['Email', 'Email '] collide once spaces are trimmed"),
    ("dup_header", "the header 'Last' appears 2 times"),
    ("truncated", "truncated.csv.gz: corrupt or truncated compressed file"),
])
def test_file_level_problems_name_the_file(corpus, source, message):
    cfg, ws = corpus
    with pytest.raises(IngestError) as err:
        ingest(cfg, ws, sources=[source], echo=False)
    assert message in str(err.value)
    assert not ws.has("customer_records") or ws.count("customer_records") == 0


def test_excel_title_row_footer_and_stray_cells(corpus):
    res, q, ws = _one(corpus, "excel")
    assert (res.read, res.loaded, res.quarantined) == (4, 2, 2)
    tx = _table(ws, "transactions", "excel", "transaction_id")
    assert tx["amount"].to_dict() == {"X1": 12.5, "X2": 3.75}
    assert str(tx.loc["X1", "date"]) == "2026-01-05 10:30:00"
    assert dict(zip(q["row"], q["column"].fillna(""))) == {6: "amount", 7: ""}
    assert q.set_index("row").loc[7, "reason"].startswith("ragged row: values beyond the 5 named")
    assert any("1 empty row(s) skipped" in n for n in res.notes)


def test_parquet_infinite_and_out_of_range_values(corpus):
    res, q, ws = _one(corpus, "parquet_tx")
    assert (res.read, res.loaded, res.quarantined) == (4, 1, 3)
    assert res.reasons == {"not a finite number (amount)": 1,
                           "date after the as-of date 2026-06-30 (date)": 1,
                           "beyond the range of amount (up to 1e15)": 1}
    res, q, ws = _one(corpus, "parquet_customers")
    assert (res.read, res.loaded, res.cleared) == (4, 4, 3)
    cust = _table(ws, "customer_records", "parquet_customers", "record_id")
    assert cust["household_size"].isna()["W2"] and cust.loc["W1", "household_size"] == 2
    cleared = q[q["action"] == "value cleared"].set_index("row")
    assert cleared.loc[2, "reason"] == "beyond the range of household_size (whole numbers up to 9.2e18)"


def test_interrupted_ingest_leaves_the_previous_state(corpus, monkeypatch):
    cfg, ws = corpus
    (first,) = ingest(cfg, ws, sources=["numbers_dot"], echo=False)
    before = ws.sql("SELECT count(*) AS n FROM transactions")["n"][0], ws.count("quarantine")
    real = ws.duckdb.execute

    class Boom(Exception):
        pass

    class Con:  # fail after the delete and the insert, before the commit
        def __getattr__(self, name):
            return getattr(ws.duckdb_real, name)

        def execute(self, sql, *args):
            if sql.startswith("INSERT INTO quarantine"):
                raise Boom("disk pulled out")
            return real(sql, *args)

    ws.duckdb_real = ws.duckdb
    ws.duckdb = Con()
    with pytest.raises(Boom):
        ingest(cfg, ws, sources=["numbers_dot"], echo=False)
    ws.duckdb = ws.duckdb_real
    after = ws.sql("SELECT count(*) AS n FROM transactions")["n"][0], ws.count("quarantine")
    assert after == before == (first.loaded, first.quarantined)


# -- the command line: one line per failure, the traceback only with --debug ----------------
def test_cli_failures_are_one_line(corpus, capsys):
    import errno
    import subprocess
    import sys

    from onetoone.cli import explain, main

    cfg, ws = corpus
    ws.close()
    assert main(["ingest", str(cfg.config_path), "--source", "truncated"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "corrupt or truncated compressed file" in err
    with pytest.raises(IngestError):
        main(["--debug", "ingest", str(cfg.config_path), "--source", "truncated"])
    with pytest.raises(IngestError):  # --debug after the subcommand too
        main(["ingest", str(cfg.config_path), "--source", "truncated", "--debug"])
    holder = subprocess.Popen([sys.executable, "-c", ("import duckdb, sys, time; "
                               f"c = duckdb.connect({str(cfg.workspace_path)!r}); print('ok', flush=True); "
                               "time.sleep(60)")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ok"
        assert main(["ingest", str(cfg.config_path), "--source", "shifted"]) == 1
        err = capsys.readouterr().err.strip()
        assert f"is locked by another process (pid {holder.pid}" in err and err.count("\n") == 0
    finally:
        holder.kill()
        holder.wait()
    full = OSError(errno.ENOSPC, "No space left on device", "/data/client.duckdb")
    assert explain(full)[0].startswith("error: the disk is full while writing /data/client.duckdb")
    ro = OSError(errno.EROFS, "Read-only file system", "/ro/client.duckdb")
    assert "read-only" in explain(ro)[0]
    import duckdb
    assert "read-only" in explain(duckdb.IOException(
        'IO Error: Cannot open file "/ro/x.duckdb": Permission denied'))[0]
    line, status = explain(RuntimeError("something odd\nsecond line"))
    assert status == 1 and "\n" not in line and "--debug" in line
