"""X12 855/865/860 supplier confirmations: standard-format samples, the simulator's
files read back, and every broken file giving one clear error."""

from __future__ import annotations

import ast
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from app.simulator.x12_files import SupplierConfirmation, write_confirmations
from app.sources.x12 import Acknowledgment, X12Error, read_folder, read_interchange

ROOT = Path(__file__).resolve().parent.parent

# A supplier's 855 for the original PO: one line accepted, one accepted with another
# quantity (BP listed after VP), one rejected and identified only by its UPC.
SAMPLE_855 = (
    "ISA*00*          *00*          *ZZ*ACMESUPPLY     *ZZ*SEAMDESK       *261130*1022*"
    "U*00401*000000101*0*P*>~\n"
    """\
GS*PR*ACMESUPPLY*SEAMDESK*20261130*1022*101*X*004010~
ST*855*0001~
BAK*00*AC*PO-1042*20261128****SO-77120*20261130~
PO1*1*40*EA*4.25*PE*BP*TEE-BLK-M*VP*AC-TEE-01~
ACK*IA*40*EA*068*20261202~
PO1*2*24*EA*4.25*PE*VP*AC-TEE-02*BP*TEE-BLK-L~
ACK*IQ*20*EA*068*20261202~
PO1*3*10*EA***UP*012345678905~
ACK*IR*10*EA~
CTT*3~
SE*10*0001~
GE*1*101~
IEA*1*000000101~
""")

# Two 865s in one group (the first timed by DTM 097 in Eastern time; the second accepted
# as sent, without ACKs), then a second group holding a 997 that is not ours to read.
SAMPLE_865 = (
    "ISA*00*          *00*          *ZZ*ACMESUPPLY     *ZZ*SEAMDESK       *261130*1435*"
    "U*00401*000000102*0*P*>~\n"
    """\
GS*CA*ACMESUPPLY*SEAMDESK*20261130*1435*102*X*004010~
ST*865*0001~
BCA*00*AC*PO-1042**1*20261128***SO-77120*20261130~
DTM*097*20261130*0920*ET~
POC*1*QI*60*60*EA>1***BP*TEE-BLK-M~
ACK*IA*60*EA~
POC*2*DI*0*0*EA***BP*TEE-BLK-L~
ACK*ID~
CTT*2~
SE*9*0001~
ST*865*0002~
BCA*00*AT*PO-1043**2*20261120***SO-77001*20261130~
POC*1*QD*12*12*EA***BP*MUG-WHT~
CTT*1~
SE*5*0002~
GE*2*102~
GS*FA*ACMESUPPLY*SEAMDESK*20261130*1435*103*X*004010~
ST*997*0003~
AK1*PC*55~
AK9*A*1*1*1~
SE*4*0003~
GE*1*103~
IEA*2*000000102~
""")

# An 860 from a 005010 translator: `|` between elements, a bare newline as terminator,
# `^` repeats and `:` components; a header DTM with time code 20 (UTC-5).
SAMPLE_860 = (
    "ISA|00|          |00|          |ZZ|SEAMDESK       |ZZ|ACMESUPPLY     |261130|1005|"
    "^|00501|000000201|0|P|:\n"
    """\
GS|PC|SEAMDESK|ACMESUPPLY|20261130|1005|201|X|005010
ST|860|0001
BCH|04|SA|PO-1042||1|20261128|||||20261130
DTM|002|20261205|0800|20
POC|1|QI|60|20|EA|4.25|PE|BP|TEE-BLK-M
DTM|002|20261206
CTT|1
SE|7|0001
GE|1|201
IEA|1|000000201
""")


def ts(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


def read(text: str | bytes, name: str = "drop/a.x12", **kwargs) -> list[Acknowledgment]:
    return read_interchange(text, name=name, **kwargs)


def error(text: str | bytes, name: str = "drop/bad.x12") -> str:
    with pytest.raises(X12Error) as caught:
        read_interchange(text, name=name)
    return str(caught.value)


def test_samples_have_a_106_character_isa():
    for sample, terminator in ((SAMPLE_855, "~"), (SAMPLE_865, "~"), (SAMPLE_860, "\n")):
        isa = sample[:106]
        assert isa[105] == terminator and "\n" not in isa[:105]
        assert len(isa[:105].split(isa[3])) == 17  # ISA and its 16 elements


def test_855_with_accepted_changed_and_rejected_lines():
    [ack] = read(SAMPLE_855.encode())
    assert (ack.kind, ack.po_number, ack.version, ack.change_sequence, ack.status,
            ack.purpose, ack.seller_order, ack.sender, ack.control_number, ack.source) == (
        "855", "PO-1042", 1, None, "AC", "00", "SO-77120", "ACMESUPPLY", "0001",
        "drop/a.x12")
    assert ack.po_date == ts("2026-11-28T00:00:00+00:00")
    # BAK09 is the day of GS04, so the group's time says when it was acknowledged.
    assert ack.acknowledged_at == ts("2026-11-30T10:22:00+00:00")
    got = [(x.line, x.sku, x.ordered_qty, x.confirmed_qty, x.status, x.uom, x.price)
           for x in ack.lines]
    assert got == [("1", "TEE-BLK-M", 40, 40, "IA", "EA", 4.25),
                   ("2", "TEE-BLK-L", 24, 20, "IQ", "EA", 4.25),
                   ("3", "012345678905", 10, 0, "IR", "EA", None)]
    assert ack.lines[1].product_ids == {"VP": "AC-TEE-02", "BP": "TEE-BLK-L"}
    assert ack.lines[0].dates == {"068": ts("2026-12-02T00:00:00+00:00")}


def test_865_sets_in_several_groups_and_a_997_skipped():
    first, second = read(SAMPLE_865)
    assert (first.kind, first.po_number, first.version, first.change_sequence,
            first.status) == ("865", "PO-1042", 2, "1", "AC")
    assert first.acknowledged_at == ts("2026-11-30T14:20:00+00:00")  # 09:20 EST
    assert [(x.line, x.change, x.ordered_qty, x.open_qty, x.confirmed_qty, x.status, x.uom)
            for x in first.lines] == [("1", "QI", 60, 60, 60, "IA", "EA"),
                                      ("2", "DI", 0, 0, 0, "ID", "EA")]
    assert (second.po_number, second.version, second.status, second.control_number) == (
        "PO-1043", 3, "AT", "0002")
    assert second.acknowledged_at == ts("2026-11-30T14:35:00+00:00")
    # No ACK, but the set says "accepted": the line is confirmed as sent.
    assert [(x.sku, x.ordered_qty, x.confirmed_qty, x.status) for x in second.lines] == [
        ("MUG-WHT", 12, 12, None)]


def test_860_with_other_delimiters_and_newline_terminator():
    [change] = read(SAMPLE_860)
    assert (change.kind, change.po_number, change.version, change.status, change.purpose,
            change.sender) == ("860", "PO-1042", 2, None, "04", "SEAMDESK")
    assert change.acknowledged_at == ts("2026-11-30T10:05:00+00:00")
    assert change.dates == {"002": ts("2026-12-05T13:00:00+00:00")}
    [line] = change.lines
    assert (line.sku, line.change, line.ordered_qty, line.open_qty, line.confirmed_qty,
            line.price) == ("TEE-BLK-M", "QI", 60, 20, None, 4.25)
    assert line.dates == {"002": ts("2026-12-06T00:00:00+00:00")}


def test_line_breaks_are_optional_and_crlf_is_tolerated():
    expected = read(SAMPLE_855)
    assert read(SAMPLE_855.replace("~\n", "~")) == expected
    assert read(SAMPLE_855.replace("\n", "\r\n")) == expected
    assert read(SAMPLE_860.replace("\n", "\r\n")) == read(SAMPLE_860)
    assert read(SAMPLE_860.replace("CTT|1\n", "\nCTT|1\n\n")) == read(SAMPLE_860)


def test_several_interchanges_in_one_file_each_with_its_own_delimiters():
    acks = read(SAMPLE_855 + "\n" + SAMPLE_860 + SAMPLE_865)
    assert [(a.kind, a.po_number) for a in acks] == [
        ("855", "PO-1042"), ("860", "PO-1042"), ("865", "PO-1042"), ("865", "PO-1043")]


def test_acknowledgment_dated_another_day_than_its_group():
    # The translator sent it on the 30th, but the supplier dated the acknowledgment the
    # 29th: the document's own date wins, and it carries no time.
    [ack] = read(SAMPLE_855.replace("SO-77120*20261130", "SO-77120*20261129"))
    assert ack.acknowledged_at == ts("2026-11-29T00:00:00+00:00")


def test_times_without_a_time_code_follow_the_partner_zone():
    [ack] = read(SAMPLE_855, tz=ZoneInfo("America/Chicago"))
    assert ack.acknowledged_at == ts("2026-11-30T16:22:00+00:00")


def test_truncated_isa():
    assert error(SAMPLE_855[:60]) == (
        "drop/bad.x12: segment 1 (ISA): ISA truncated: 60 of 106 characters")


def test_isa_that_is_not_fixed_width():
    text = SAMPLE_855.replace("ACMESUPPLY     *ZZ", "ACMESUPPLY*ZZ", 1)
    message = error(text)
    assert message.startswith("drop/bad.x12: segment 1 (ISA): ISA is not the fixed-width")
    assert error(SAMPLE_855.replace("*P*>~", "*P*~~", 1)) == (
        "drop/bad.x12: segment 1 (ISA): delimiters '*~~' are not distinct symbols")


def test_se_count_mismatch():
    text = SAMPLE_855.replace("SE*10*0001", "SE*11*0001")
    assert error(text) == "drop/bad.x12: segment 12 (SE): SE says '11' segments, found 10"


def test_st_se_control_number_mismatch():
    text = SAMPLE_855.replace("SE*10*0001", "SE*10*0002")
    assert error(text) == ("drop/bad.x12: segment 12 (SE): SE control number '0002' does "
                           "not match '0001' in its header")


def test_ge_and_iea_counts():
    assert error(SAMPLE_865.replace("GE*2*102", "GE*3*102")) == (
        "drop/bad.x12: segment 17 (GE): GE says '3' transaction sets, found 2")
    assert error(SAMPLE_865.replace("IEA*2*", "IEA*1*")) == (
        "drop/bad.x12: segment 24 (IEA): IEA says '1' functional groups, found 2")
    assert "IEA control number '000000999'" in error(
        SAMPLE_855.replace("IEA*1*000000101", "IEA*1*000000999"))


def test_missing_iea():
    text = SAMPLE_855.replace("IEA*1*000000101~\n", "")
    assert error(text) == ("drop/bad.x12: segment 14: file ends before IEA: the "
                           "interchange is incomplete")


def test_missing_se():
    text = SAMPLE_855.replace("SE*10*0001~\n", "")
    assert error(text) == "drop/bad.x12: segment 12 (GE): set '0001' has no SE before GE"


def test_garbage_bytes():
    assert error(b"PK\x03\x04\x14\x00\x06\x00 not edi at all") == (
        "drop/bad.x12: segment 1: not an X12 interchange: expected ISA, found "
        "'PK\\x03\\x04\\x14\\x00\\x06\\x00 not'")
    assert error(SAMPLE_855 + "#garbage after the IEA").startswith(
        "drop/bad.x12: segment 15: not an X12 interchange")


def test_non_utf8():
    data = SAMPLE_855.replace("TEE-BLK-M", "TEE-BLK-É").encode("latin-1")
    offset = data.index(b"\xc9")
    assert error(data) == f"drop/bad.x12: not UTF-8 text (byte 0xC9 at offset {offset})"


def test_bad_values_name_their_segment():
    assert error(SAMPLE_855.replace("PO1*2*24*", "PO1*2*2x4*")) == (
        "drop/bad.x12: segment 7 (PO1): '2x4' is not a number")
    assert error(SAMPLE_855.replace("*068*20261202~\nPO1*2", "*068*20261332~\nPO1*2")) == (
        "drop/bad.x12: segment 6 (ACK): bad date/time '20261332' ''")
    assert error(SAMPLE_865.replace("0920*ET", "0920*XX")) == (
        "drop/bad.x12: segment 5 (DTM): time code 'XX' is not supported")


def test_empty_file():
    assert error(" \n") == "drop/bad.x12: empty file, no ISA segment"


def test_folder_collects_errors_per_file_and_skips_partial_uploads(tmp_path):
    (tmp_path / "a_855.x12").write_text(SAMPLE_855)
    (tmp_path / "b_broken.x12").write_text(SAMPLE_855.replace("SE*10*", "SE*9*"))
    (tmp_path / "c_865.edi").write_bytes(SAMPLE_865.encode())
    (tmp_path / ".d_865.edi.part").write_text(SAMPLE_865[:200])
    (tmp_path / "archive").mkdir()
    result = read_folder(tmp_path)
    assert [(a.kind, a.po_number, Path(a.source).name) for a in result.acknowledgments] == [
        ("855", "PO-1042", "a_855.x12"), ("865", "PO-1042", "c_865.edi"),
        ("865", "PO-1043", "c_865.edi")]
    assert [str(e) for e in result.errors] == [
        f"{tmp_path / 'b_broken.x12'}: segment 12 (SE): SE says '9' segments, found 10"]


def test_missing_folder_is_one_error(tmp_path):
    with pytest.raises(X12Error, match="cannot list the drop folder"):
        read_folder(tmp_path / "nowhere")


CONFIRMATIONS = [
    SupplierConfirmation("PO-1042", "TEE-BLK-M", 1, 40, 1, ts("2026-11-30T09:00:00+00:00")),
    SupplierConfirmation("PO-1042", "TEE-BLK-L", 2, 20, 1, ts("2026-11-30T09:00:00+00:00"),
                         status="changed", ordered_qty=24),
    SupplierConfirmation("PO-1042", "TEE-BLK-M", 1, 60, 2, ts("2026-11-30T10:20:00+00:00")),
    SupplierConfirmation("PO-2001", "MUG-WHT", 1, 12, 1, ts("2026-11-29T16:45:00+00:00")),
]


def test_simulator_files_read_back(tmp_path):
    paths = write_confirmations(tmp_path, CONFIRMATIONS, seed=7)
    result = read_folder(tmp_path)
    assert result.errors == []
    assert len(paths) == 3 and sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in paths)
    got = sorted((a.kind, a.po_number, a.version, a.acknowledged_at,
                  [(x.line, x.sku, x.ordered_qty, x.confirmed_qty, x.status, x.change)
                   for x in a.lines]) for a in result.acknowledgments)
    assert got == [
        ("855", "PO-1042", 1, ts("2026-11-30T09:00:00+00:00"),
         [("1", "TEE-BLK-M", 40, 40, "IA", None), ("2", "TEE-BLK-L", 24, 20, "IQ", None)]),
        ("855", "PO-2001", 1, ts("2026-11-29T16:45:00+00:00"),
         [("1", "MUG-WHT", 12, 12, "IA", None)]),
        ("865", "PO-1042", 2, ts("2026-11-30T10:20:00+00:00"),
         [("1", "TEE-BLK-M", 60, 60, "IA", "QI")]),
    ]


def test_simulator_writes_the_envelope_a_translator_would(tmp_path):
    [path] = write_confirmations(tmp_path, CONFIRMATIONS[2:3], seed=7)
    lines = path.read_text().split("\n")
    assert len(lines[0]) == 106 and lines[0].endswith("*>~") and lines[-1] == ""
    assert [line.split("*")[0] for line in lines[:-1]] == [
        "ISA", "GS", "ST", "BCA", "POC", "ACK", "CTT", "SE", "GE", "IEA"]
    assert lines[1].startswith("GS*CA*") and lines[3].startswith("BCA*00*AD*PO-1042**1*")
    assert lines[7] == "SE*6*0001~"
    assert lines[0].split("*")[13] == lines[9].split("*")[2].rstrip("~")


def test_simulator_output_is_deterministic(tmp_path):
    first = write_confirmations(tmp_path / "a", CONFIRMATIONS, seed=7)
    again = write_confirmations(tmp_path / "b", CONFIRMATIONS, seed=7)
    other = write_confirmations(tmp_path / "c", CONFIRMATIONS, seed=8)
    assert [p.name for p in first] == [p.name for p in again] != [p.name for p in other]
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in again]


def test_simulator_refuses_data_that_would_break_the_file(tmp_path):
    bad = SupplierConfirmation("PO*1", "SKU", 1, 1, 1, 0)
    with pytest.raises(ValueError, match="delimiter"):
        write_confirmations(tmp_path, [bad])


def imports(path: str) -> set[str]:
    tree = ast.parse((ROOT / path).read_text())
    return {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
            } | {a.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                 for a in node.names}


def test_reader_and_simulator_share_no_code():
    assert not [m for m in imports("app/sources/x12.py") if m.startswith("app.simulator")]
    assert not [m for m in imports("app/simulator/x12_files.py") if m.startswith("app")]
