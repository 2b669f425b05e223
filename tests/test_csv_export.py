"""Spreadsheet exports: a file or a drop folder, a column mapping, bad rows named by line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app import config as config_module
from app.errors import ConfigError
from app.sources.base import Window
from app.sources.csv_export import CsvExportConnector
from app.sources.errors import PayloadError

COLUMNS = {"sku": "Item", "location": "Whse", "on_hand": "On hand", "available": "Avail",
           "updated_at": "Changed"}
HEADER = "Item,Whse,On hand,Avail,Changed\n"


async def read(path: Path, columns=COLUMNS, **kwargs):
    conn = CsvExportConnector("wms", path, columns, **kwargs)
    rows = [row async for page in conn.read(Window()) for row in page.counts]
    return sorted(rows), conn.stats


async def test_a_file_is_read_with_its_own_times_or_its_modification_time(tmp_path):
    export = tmp_path / "stock.csv"
    export.write_text("\ufeff" + HEADER + "TEE,DAL1,40,34,2026-11-30 14:55:00\n"
                      "MUG,ATL1,0,0,\n", encoding="utf-8")
    os.utime(export, (1796050000, 1796050000))
    rows, stats = await read(export)
    assert [(r.sku, r.location_id, r.on_hand, r.available, r.allocated, r.updated_at)
            for r in rows] == [("MUG", "ATL1", 0, 0, None, 1796050000),
                               ("TEE", "DAL1", 40, 34, None, 1796050500)]
    assert stats.notes == []


async def test_times_without_an_offset_are_in_the_configured_zone(tmp_path):
    export = tmp_path / "stock.csv"
    export.write_text(HEADER + "TEE,DAL1,40,34,2026-11-30 08:55:00\n")
    rows, _ = await read(export, timezone="America/Chicago")
    assert rows[0].updated_at == 1796050500  # 14:55 UTC


async def test_malformed_rows_are_skipped_and_named_by_line(tmp_path):
    export = tmp_path / "stock.csv"
    export.write_text(HEADER + "TEE,DAL1,40,34,\n"
                      "HOOD,DAL1,lots,3,\n"
                      "BIG,DAL1,99999999999999999999,5,\n"
                      ",DAL1,1,1,\n"
                      "CAP,ATL1,5,5,yesterday\n"
                      "BAG,ATL1\n"
                      "\n"
                      "SOCK;ATL1;2;2\n")
    rows, stats = await read(export)
    assert [r.sku for r in rows] == ["TEE"]
    note = stats.notes[0]
    assert note.startswith("6 malformed rows skipped: stock.csv line 3: On hand 'lots' is not "
                           "a number in range; stock.csv line 4: On hand "
                           "'99999999999999999999' is not a number in range; stock.csv line "
                           "5: no SKU; stock.csv line 6: Changed 'yesterday' is not a time")
    assert "line 9" in note


async def test_a_drop_folder_reads_every_export_the_newer_row_winning(tmp_path):
    older, newer = tmp_path / "a-monday.csv", tmp_path / "b-tuesday.csv"
    older.write_text(HEADER + "TEE,DAL1,40,34,\nMUG,ATL1,3,3,\n")
    newer.write_text("Item;Whse;On hand;Avail;Changed\nTEE;DAL1;38;30;\n")
    os.utime(older, (1796000000, 1796000000))
    os.utime(newer, (1796050000, 1796050000))
    (tmp_path / "notes.txt").write_text("not an export")
    rows, stats = await read(tmp_path)
    assert [(r.sku, r.on_hand, r.updated_at) for r in rows] == [
        ("MUG", 3, 1796000000), ("TEE", 38, 1796050000)]
    assert stats.requests == 2


async def test_a_missing_column_fails_the_read_and_names_it(tmp_path):
    export = tmp_path / "stock.csv"
    export.write_text("Item,Warehouse,On hand\nTEE,DAL1,4\n")
    with pytest.raises(PayloadError) as caught:
        await read(export)
    assert caught.value.message.startswith("wms: stock.csv: no column 'Whse' (columns.location)")


async def test_a_missing_file_is_a_payload_error(tmp_path):
    with pytest.raises(PayloadError, match="is not there"):
        await read(tmp_path / "none.csv")


CSV_CONFIG = """
[systems.wms]
kind = "csv-export"
path = "exports"
{columns}
"""


@pytest.mark.parametrize("columns,expected", [
    ("", "systems.wms: columns: sku: missing"),
    ('columns = { sku = "A", location = "B" }', "columns: no quantity column mapped"),
    ('columns = { sku = "A", location = "B", on_hand = "C", colour = "D" }',
     "columns: unknown field 'colour'"),
])
def test_column_mistakes_are_one_line(tmp_path, columns, expected):
    (tmp_path / "exports").mkdir()
    path = tmp_path / "config.toml"
    path.write_text(CSV_CONFIG.format(columns=columns))
    with pytest.raises(ConfigError) as caught:
        config_module.load(path)
    assert expected in caught.value.message and "\n" not in caught.value.message


def test_a_csv_export_may_name_a_file_not_written_yet(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(CSV_CONFIG.replace('"exports"', '"stock.csv"').format(
        columns='columns = { sku = "A", location = "B", on_hand = "C" }'))
    config = config_module.load(path)
    assert config.folder("wms") == tmp_path / "stock.csv"
    path.write_text(CSV_CONFIG.replace('"exports"', '"nowhere/stock.csv"').format(
        columns='columns = { sku = "A", location = "B", on_hand = "C" }'))
    with pytest.raises(ConfigError, match="is not a folder"):
        config_module.load(path)
