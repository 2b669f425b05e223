"""Order findings in the queue: the rules one by one (positive, near miss), staging and
auto-clear through the cache, then the demo's PO-1042 end to end (portal and X12 drop
folder), and the config of the supplier kinds."""

from __future__ import annotations

import json
from dataclasses import replace

import httpx
import pytest
from sqlalchemy import select

from app import config as config_module
from app.cache.models import OrderLineRecord, QueueAudit, QueueItem
from app.cache.writer import CacheWriter
from app.cli import main
from app.diagnosis.evidence import Thresholds
from app.diagnosis.orders import OrderView, context_lines, document_key, order_findings, order_json
from app.errors import ConfigError
from app.queue import query
from app.queue.orders import detect_orders
from app.queue.store import Outcome
from app.records import OrderLine, OrderLineRow, Page, RunStats
from app.simulator.server import write_config
from tests.conftest import AFTER, nosleep, refresh

NOW = 1796050800  # 15:00
AMENDED, RELEASED, CONFIRMED = 1796033100, 1796031000, 1796034000  # 10:05, 09:30, 10:20
AMENDMENT = "amendment-after-release|PO-1042|TEE-BLK-M"
SHORT = "short-pick-risk|PO-1042|TEE-BLK-M"
UNCONFIRMED = "supplier-unconfirmed|PO-1042|TEE-BLK-M"


def erp(**changes) -> OrderLine:
    return replace(OrderLine("erp", "PO-1042", "1", "TEE-BLK-M", "purchase", "DAL1", 60, 2,
                             AMENDED, AMENDED, "Pending Receipt", None, None, 0, None, None),
                   **changes)


def wms(**changes) -> OrderLine:
    return replace(OrderLine("wms", "PO-1042", "L1", "TEE-BLK-M", None, "DAL1", 40, None,
                             RELEASED + 600, None, "released", RELEASED, 0, 0, None, None),
                   **changes)


def sup(**changes) -> OrderLine:
    return replace(OrderLine("supplier", "PO-1042", "1", "TEE-BLK-M", "purchase", None, 60, 2,
                             CONFIRMED, None, "accepted", None, None, None, 60, CONFIRMED),
                   **changes)


def found(e=None, w=None, s=None, now=NOW, supplier_read=True) -> dict[str, str]:
    view = OrderView("PO-1042", "TEE-BLK-M", "DAL1", e or erp(), w, s, supplier_read)
    return {f.code: f.summary for f in order_findings(view, now, Thresholds())}


# -- the rules -------------------------------------------------------------------------------

def test_amendment_after_release_positive_and_near_misses():
    hit = found(w=wms(), s=sup())
    assert list(hit) == ["amendment-after-release"]
    assert hit["amendment-after-release"] == (
        "PO-1042 TEE-BLK-M at DAL1: the ERP amended the line to 60 (v2) at 10:05 UTC, 35 min "
        "after the WMS released the pick of 40 at 09:30 UTC; the pick is still at 40 "
        "(released).")
    assert found(e=erp(amended_at=RELEASED - 60), w=wms(), s=sup()) == {}  # before release
    assert found(w=wms(quantity=60), s=sup()) == {}  # the WMS took the amendment
    assert found(w=wms(released_at=AMENDED + 60), s=sup()) == {}  # re-released after it
    assert found(e=erp(status="Closed"), w=wms(), s=sup()) == {}  # nothing owed any more
    assert "amendment-after-release" not in found(w=wms(status="shipped", shipped=40))


def test_supplier_unconfirmed_positive_and_near_misses():
    behind = found(s=sup(version=1, quantity=40, confirmed=40, confirmed_at=RELEASED - 3600))
    assert behind == {"supplier-unconfirmed": (
        "PO-1042 TEE-BLK-M at DAL1: the ERP is at v2 (60) since 10:05 UTC; the supplier's "
        "newest confirmation is v1 (40) at 08:30 UTC.")}
    other = found(s=sup(confirmed=50), now=AMENDED + 60)  # another quantity: no waiting
    assert other["supplier-unconfirmed"].endswith(
        "the supplier confirmed 50 of the 60 the ERP orders (v2) at 10:20 UTC.")
    assert "confirmed no version" in found(s=None)["supplier-unconfirmed"]
    assert found(s=sup(version=1, confirmed=40), now=AMENDED + 600) == {}  # within 15 min
    assert found(s=sup()) == {}  # confirmed the ERP's version and quantity
    assert found(e=erp(kind="sales"), s=None) == {}  # no supplier confirms a sales order
    assert found(e=erp(version=1, amended_at=None), s=None) == {}  # nothing amended
    assert found(s=None, supplier_read=False) == {}  # no supplier system configured


def test_short_pick_risk_positive_and_near_misses():
    picked = found(w=wms(status="picked", picked=40), s=sup())
    assert picked["short-pick-risk"] == ("PO-1042 TEE-BLK-M at DAL1: the WMS picked 40 against "
                                         "the 60 the ERP orders (v2); 20 short.")
    shipped = found(w=wms(status="shipped", picked=40, shipped=40), s=sup())
    assert list(shipped) == ["short-pick-risk"] and "WMS shipped 40" in shipped[
        "short-pick-risk"]
    assert "short-pick-risk" not in found(w=wms(status="picking", picked=20), s=sup())
    assert found(w=wms(status="picked", quantity=60, picked=60), s=sup()) == {}
    assert found(e=erp(status="Cancelled"), w=wms(status="picked", picked=40)) == {}


def test_the_context_names_each_systems_view_as_plain_text():
    view = OrderView("PO-1042", "TEE-BLK-M", "DAL1", erp(), wms(status="[red]picked",
                                                               picked=40), None)
    lines = context_lines(order_json(view), NOW)
    assert lines == [
        "  ERP        PO-1042 v2 · 60 ordered · amended 10:05 UTC · Pending Receipt",
        "  WMS        pick 40 · picked 40 · shipped 0 · [red]picked · released 09:30 UTC",
        "  Supplier   no confirmation"]
    assert document_key("po 1042") == document_key("PO-1042") == "PO1042"


# -- staging and auto-clear through the cache -----------------------------------------------

def _run(writer: CacheWriter, system: str, rows: list[OrderLineRow], status="complete",
         full=False, at=AFTER) -> None:
    run = writer.start_run(system, "full" if full else "incremental", at, None)
    writer.write_page(run, system, Page(orders=rows), at, {"1": "DAL1", "1001": "DAL1"},
                      RunStats())
    writer.finish_run(run, system, status=status, finished_at=at, stats=RunStats(), full=full,
                      started_at=at)


def _erp_row(quantity=60) -> OrderLineRow:
    return OrderLineRow("PO-1042", "1", "TEE-BLK-M", "purchase", "1", quantity, 2, AMENDED,
                        AMENDED, "Pending Receipt", shipped=0)


def _wms_row(quantity=40, released=RELEASED, status="picked") -> OrderLineRow:
    return OrderLineRow("PO-1042", "L1", "TEE-BLK-M", None, "1001", quantity, None,
                        released, None, status, released, quantity, 0)


def _active(engine) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(select(QueueItem.key, QueueItem.status).where(
            QueueItem.code.in_(("amendment-after-release", "supplier-unconfirmed",
                                "short-pick-risk")))).all())


def test_lines_apply_only_when_a_run_completes_and_findings_clear_when_systems_agree(
        config, engine):
    writer = CacheWriter(engine)
    _run(writer, "erp", [_erp_row()])
    _run(writer, "wms", [_wms_row()])
    _run(writer, "supplier", [OrderLineRow("PO-1042", "1", "TEE-BLK-M", "purchase", None, 60,
                                           2, CONFIRMED, confirmed=60,
                                           confirmed_at=CONFIRMED)])
    detect_orders(engine, config, NOW, Outcome())
    assert _active(engine) == {AMENDMENT: "open", SHORT: "open"}

    _run(writer, "wms", [_wms_row(60, AMENDED + 600)], status="partial")  # not applied
    detect_orders(engine, config, NOW + 60, Outcome())
    assert _active(engine) == {AMENDMENT: "open", SHORT: "open"}

    _run(writer, "wms", [_wms_row(60, AMENDED + 600)], at=AFTER + 300)  # re-released at 60
    outcome = Outcome()
    detect_orders(engine, config, NOW + 300, outcome)
    assert outcome.cleared == 2 and _active(engine) == {AMENDMENT: "cleared",
                                                         SHORT: "cleared"}
    with engine.connect() as conn:
        note = conn.scalar(select(QueueAudit.note).where(QueueAudit.action == "cleared"))
        seen = conn.execute(select(OrderLineRecord.first_seen_at, OrderLineRecord.last_seen_at)
                            .where(OrderLineRecord.system == "wms")).one()
    assert "agree on the line again" in note and seen == (AFTER, AFTER + 300)

    _run(writer, "erp", [], full=True, at=AFTER + 600)  # a full read no longer lists it
    with engine.connect() as conn:
        systems = set(conn.scalars(select(OrderLineRecord.system)))
    assert systems == {"wms", "supplier"}


# -- the demo's PO-1042, end to end -------------------------------------------------------

async def test_the_demo_refresh_queues_po_1042_with_owners_and_context(config, sim, engine,
                                                                       capsys):
    results = await refresh(config, sim, engine)
    assert results["supplier"].status == "complete", results["supplier"].summary()
    assert _active(engine) == {AMENDMENT: "open", SHORT: "open"}  # the supplier confirmed v2
    with engine.connect() as conn:
        items = {row.key: row for row in conn.execute(select(QueueItem).where(
            QueueItem.document == "PO-1042"))}
    amendment, short = items[AMENDMENT], items[SHORT]
    assert (amendment.owner, amendment.handoff, amendment.sku, amendment.location) == \
        ("procurement", "erp->wms", "TEE-BLK-M", "DAL1")
    assert (short.owner, short.handoff, short.severity) == ("warehouse_lead", "erp->wms", 4)
    evidence = json.loads(amendment.evidence)
    assert evidence["also_owners"] == ["warehouse_lead"]
    assert evidence["finding"]["owner_name"] == "Procurement"
    order = evidence["order"]
    assert (order["erp"]["version"], order["erp"]["quantity"], order["erp"]["amended_at"]) == \
        (2, 60, "2026-11-30T10:05:00Z")
    assert (order["wms"]["quantity"], order["wms"]["status"], order["wms"]["released_at"]) == \
        (40, "picked", "2026-11-30T09:30:00Z")
    assert (order["supplier"]["confirmed"], order["supplier"]["version"],
            order["supplier"]["confirmed_at"]) == (60, 2, "2026-11-30T10:20:00Z")
    assert evidence["context"] == [
        "  ERP        PO-1042 v2 · 60 ordered · amended 10:05 UTC · Pending Receipt",
        "  WMS        pick 40 · picked 40 · shipped 0 · picked · released 09:30 UTC",
        "  Supplier   confirmed 60 of 60 · v2 · 10:20 UTC"]

    from widgets.queue_detail import detail_text

    detail = query.detail(engine, amendment.id)
    text = detail_text(detail, AFTER, config.settings.owners).plain
    assert "Supplier   confirmed 60 of 60 · v2 · 10:20 UTC" in text
    assert "Owner: Procurement, Warehouse lead on shift" in text

    assert main(["--config", str(config.path), "queue", "--code", "short-pick-risk",
                 "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(i["document"], i["owner"], i["owner_name"]) for i in listed] == \
        [("PO-1042", "warehouse_lead", "Warehouse lead on shift")]

    await refresh(config, sim, engine, full=True)  # every key examined: kept, not re-opened
    assert _active(engine) == {AMENDMENT: "open", SHORT: "open"}
    assert [a.action for a in query.detail(engine, amendment.id).audit] == ["opened"]


async def test_the_demo_replay_sees_the_po_before_and_after_its_amendment(config, sim,
                                                                            world):
    from app.demo import replay
    from app.service import Desk

    desk = Desk(config, clock=world.now, transport=httpx.ASGITransport(app=sim.app),
                sleep=nosleep)
    await replay(desk, sim, lambda: desk.refresh(full=True))  # 08:00, then 15:00
    with desk.engine.connect() as conn:
        rows = conn.execute(select(QueueItem.key, QueueItem.opened_at,
                                   QueueItem.first_seen_at).where(
            QueueItem.document == "PO-1042")).all()
        opened = {key: at for key, at, _ in rows}
        erp_line = conn.execute(select(OrderLineRecord).where(
            OrderLineRecord.system == "erp")).one()
    # At 08:00 the ERP held version 1 (40) and no pick was released: nothing to queue.
    # (The replay ends on the simulator's running clock: "now" plus a second or two.)
    assert set(opened) == {AMENDMENT, SHORT}
    assert all(NOW <= found < NOW + 60 for _, _, found in rows)
    # Each one's age counts from when its gap opened, not from the refresh that found it:
    # the amendment at 10:05, the pick that came up short at 09:40 (released 09:30).
    assert (opened[AMENDMENT], opened[SHORT]) == (NOW - 4 * 3600 - 55 * 60,
                                                  NOW - 5 * 3600 - 20 * 60)
    assert (erp_line.first_seen_at, erp_line.version, erp_line.quantity) == \
        (NOW - 7 * 3600, 2, 60)


async def test_the_systems_lining_up_clears_and_a_lagging_supplier_is_chased(config, sim,
                                                                           world, engine):
    await refresh(config, sim, engine)
    row = world.orders[0]
    world.set_orders([row.model_copy(update={
        "wms_qty": 60, "pick_released_at": row.amended_at.replace(minute=30),
        "supplier_version": 1, "supplier_qty": 40})])
    world.set_clock(world.base_now)
    await refresh(config, sim, engine, full=True)
    assert _active(engine) == {AMENDMENT: "cleared", SHORT: "cleared", UNCONFIRMED: "open"}
    with engine.connect() as conn:
        owner, summary = conn.execute(select(QueueItem.owner, QueueItem.summary).where(
            QueueItem.key == UNCONFIRMED)).one()
    assert owner == "procurement" and "newest confirmation is v1 (40)" in summary


async def test_the_supplier_read_from_an_x12_drop_folder(tmp_path, sim, world):
    drop = tmp_path / "edi" / "in"
    path = tmp_path / "x12" / "config.toml"
    write_config(sim, "http://sim", path, x12_folder=drop)
    assert sorted(f.name[:3] for f in drop.iterdir()) == ["855", "865"]
    config = config_module.load(path)
    assert config.systems["supplier"].kind == "x12-folder" and config.folder("supplier") == drop
    from app.cache.engine import make_engine

    engine = make_engine(config.cache_url)
    results = await refresh(config, sim, engine)
    assert results["supplier"].status == "complete", results["supplier"].summary()
    with engine.connect() as conn:
        line = conn.execute(select(OrderLineRecord).where(
            OrderLineRecord.system == "supplier")).one()
    assert (line.number, line.sku, line.version, line.quantity, line.confirmed,
            line.confirmed_at) == ("PO-1042", "TEE-BLK-M", 2, 60, 60, CONFIRMED)
    assert _active(engine) == {AMENDMENT: "open", SHORT: "open"}

    for file in drop.iterdir():  # picked up and archived: gone is not withdrawn
        file.unlink()
    (drop / "broken.x12").write_text("ISA*00*garbage~")
    failed = (await refresh(config, sim, engine, ["supplier"], full=True))["supplier"]
    assert failed.status == "failed" and "broken.x12" in failed.error
    (drop / "broken.x12").unlink()
    assert (await refresh(config, sim, engine, ["supplier"], full=True))["supplier"].status \
        == "complete"
    with engine.connect() as conn:
        assert conn.scalar(select(OrderLineRecord.confirmed).where(
            OrderLineRecord.system == "supplier")) == 60


# -- configuring the supplier ---------------------------------------------------------------

@pytest.mark.parametrize("section,problem", [
    ('[systems.supplier]\nkind = "x12-folder"\n',
     "systems.supplier: path: missing (required: kind 'x12-folder' reads a folder)"),
    ('[systems.supplier]\nkind = "x12-folder"\npath = "in"\nbase_url = "https://x.example"\n',
     "systems.supplier: base_url: kind 'x12-folder' reads a folder, not an API"),
    ('[systems.supplier]\nkind = "x12-folder"\npath = "nowhere"\n',
     "systems.supplier.path: "),
    ('[systems.supplier]\nkind = "supplier-portal"\nbase_url = "https://x.example"\n'
     'token_env = "T"\n', "systems.supplier: client_id: missing"),
    ('[systems.wms]\nkind = "supplier-portal"\nbase_url = "https://x.example"\n'
     'token_env = "T"\nclient_id = "c"\n', "configure it as [systems.supplier]"),
    ('[systems.supplier]\nkind = "netsuite"\nbase_url = "https://x.example"\n'
     'token_env = "T"\n', "reads no supplier confirmations"),
    ('[systems.wms]\nkind = "shiphero"\nbase_url = "https://x.example"\ntoken_env = "T"\n'
     'path = "in"\n', "systems.wms: path: only a folder kind"),
    ('[systems.wms]\nkind = "shiphero"\nbase_url = "https://x.example"\ntoken_env = "T"\n'
     'client_id = "c"\n', "client_id: only a supplier-portal kind"),
    ('[systems.erp]\nkind = "netsuite"\ntoken_env = "T"\n',
     "systems.erp: base_url: missing (required)"),
])
def test_supplier_config_mistakes_are_one_line(tmp_path, section, problem):
    (tmp_path / "in").mkdir()
    path = tmp_path / "config.toml"
    path.write_text(section)
    with pytest.raises(ConfigError) as caught:
        config_module.load(path, require_tokens=False)
    assert problem in str(caught.value) and "\n" not in str(caught.value)
    if problem.endswith(".path: "):
        assert str(tmp_path / "nowhere") in str(caught.value) and "is not a folder" in str(
            caught.value)


def test_a_relative_drop_folder_resolves_beside_the_config(tmp_path):
    (tmp_path / "in").mkdir()
    path = tmp_path / "config.toml"
    path.write_text('[systems.supplier]\nkind = "x12-folder"\npath = "in"\n'
                    'timezone = "America/Chicago"\n')
    config = config_module.load(path)  # no token needed for a folder
    assert config.folder("supplier") == tmp_path / "in"
