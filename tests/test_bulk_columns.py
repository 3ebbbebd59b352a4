"""`stance-bulk`'s input rows without Ray: CSV records found again by offset, article fields and
their types unified over files, dates parsed or the row rejected."""
import datetime as dt
import json

import pyarrow as pa
import pytest

from pipeline.commands.bulk.columns import FileTypes, article_schema, article_table, pack, parse_date, unpack
from pipeline.commands.bulk.csv_rows import csv_rows
from pipeline.commands.bulk.rows import check_row
from pipeline.core.config import label_sets
from pipeline.core.errors import UserError


def rows_of(path, wanted=None):
    return list(csv_rows(str(path), 10_000, "date", wanted))


def test_csv_records_span_lines_and_are_found_again_by_offset(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes("\ufeffarticle_id,text,outlet,target_by\r\n".encode() + b'a1,"one\ntwo ""q""",AP,\r\n'
                     b"a2,three,BBC,russia\n\na3,only two fields\na4,bad \xff byte,X,\n")
    rows = rows_of(path)
    assert [(r["row"], r["article_id"], r["reason"]) for r in rows][:2] == [(2, "a1", None), (4, "a2", None)]
    assert rows[0]["text"] == 'one\ntwo "q"' and rows[0]["meta"] == {"outlet": "AP"} and rows[0]["target_by"] is None
    assert rows[1]["target_by"] == "russia"
    assert rows[2]["reason"] == "2 fields; the header names 4"
    assert "not valid UTF-8" in rows[3]["reason"]
    again = rows_of(path, [(r["row"], r["pos"]) for r in rows])
    assert [(r["article_id"], r["text"], r["reason"]) for r in again] == [(r["article_id"], r["text"], r["reason"])
                                                                       for r in rows]


def test_a_csv_header_with_repeated_names_is_one_error(tmp_path):
    (tmp_path / "b.csv").write_text("article_id,text,text\n1,a,b\n", encoding="utf-8")
    with pytest.raises(UserError, match="repeated field name"):
        rows_of(tmp_path / "b.csv")


@pytest.mark.parametrize("value, expected", [("2024-03-05", dt.date(2024, 3, 5)), ("2024-03-05T23:10:00-05:00",
                                             dt.date(2024, 3, 5)), ("2024-03-05T01:00:00Z", dt.date(2024, 3, 5)),
                                             ("", None), (None, None), (dt.datetime(2024, 1, 2, 3), dt.date(2024, 1, 2))])
def test_dates_parse_to_the_date_as_written(value, expected):
    assert parse_date(value) == (expected, None)


@pytest.mark.parametrize("value", ["5 March 2024", "2024-13-01", 20240305, "2024/03/05"])
def test_a_date_that_does_not_parse_rejects_its_row(value):
    row = check_row({"article_id": "a", "text": "t", "date": value}, "date")
    assert "is not a date (expected YYYY-MM-DD" in row["reason"]


def test_target_by_must_be_a_side_and_empty_means_not_given():
    assert check_row({"article_id": "a", "text": "t", "target_by": ""}, "date")["reason"] is None
    assert "is not a side" in check_row({"article_id": "a", "text": "t", "target_by": "Kremlin"}, "date")["reason"]
    assert check_row({"article_id": "a", "text": "t", "target_by": b"ukraine"}, "date")["target_by"] == "ukraine"


def test_types_unify_over_files_and_disagreeing_fields_become_text(caplog):
    one, two = FileTypes("date"), FileTypes("date")
    one.add({"n": 1, "x": "a", "date": dt.date(2024, 1, 1), "tags": ["a"], "empty": None})
    two.add({"n": 2.5, "x": 3})
    two.add_arrow(pa.schema([("extra", pa.int32())]))
    schema = article_schema([one.dump(), two.dump()], label_sets())
    assert schema == pa.schema([("n", pa.float64()), ("x", pa.string()), ("date", pa.date32()),
                                ("tags", pa.list_(pa.string())), ("empty", pa.string()), ("extra", pa.int32())])
    assert "'x' has values of different types" in caplog.text
    table = article_table([{"n": 1, "x": 3, "tags": ["a"]}, {"x": "y", "extra": 7}], schema)
    assert unpack(pack(table)).to_pylist() == [
        {"n": 1.0, "x": "3", "date": None, "tags": ["a"], "empty": None, "extra": None},
        {"n": None, "x": "y", "date": None, "tags": None, "empty": None, "extra": 7}]
    assert json.loads(article_table([{"x": {"k": 1}}], schema).column("x")[0].as_py()) == {"k": 1}


def test_an_article_field_named_like_an_output_column_is_refused():
    types = FileTypes("date")
    types.add({"speaker": "x"})
    with pytest.raises(UserError, match="article field named 'speaker'"):
        article_schema([types.dump()], label_sets())
