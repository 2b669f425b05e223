"""Simulated ShipHero orders, from developer.shiphero.com's schema: `orders` (filters such
as updated_from, warehouse_id, order_number, fulfillment_status; cursor paging on `data`)
and `order(id:)`, each Order with `allocations` (a plain list) and `line_items` (a
connection, so it counts in the query's credit cost), each LineItem with `tote_picks`.

The scenario's [[order]] rows are served as of the simulator's clock: an order exists
once its pick was released (or, never released, since the document was created), its
allocation's `allocated_at` is the release, and the pick state shows in the line items:
released (allocated, no picks), picking (a tote pick of part of the line), picked (the
whole line picked) and shipped (fulfillment_status "fulfilled", quantity_shipped).
"""

from __future__ import annotations

import base64

from app.simulator import graphql
from app.simulator.orders import SimOrderLine

ORDERS_SDL = """
extend type Query {
  orders(shop_name: String, partner_order_id: String, order_number: String,
    warehouse_id: String, allocated_warehouse_id: String, fulfillment_status: String,
    sku: String, email: String, updated_from: ISODateTime, updated_to: ISODateTime,
    order_date_from: ISODateTime, order_date_to: ISODateTime, customer_account_id: String,
    operator_hold: Boolean, address_hold: Boolean, payment_hold: Boolean,
    fraud_hold: Boolean, analyze: Boolean): OrdersQueryResult
  order(id: String, analyze: Boolean): OrderQueryResult
}
type OrdersQueryResult { request_id: String complexity: Int
  data(first: Int, after: String, last: Int, before: String, sort: String): OrderConnection }
type OrderQueryResult { request_id: String complexity: Int data: Order }
type OrderConnection { pageInfo: PageInfo! edges: [OrderEdge]! }
type OrderEdge { node: Order cursor: String! }
type Order { id: String legacy_id: Int order_number: String partner_order_id: String
  shop_name: String account_id: String fulfillment_status: String order_date: ISODateTime
  updated_at: ISODateTime required_ship_date: ISODateTime hold_until_date: ISODateTime
  ready_to_ship: Boolean holds: OrderHolds allocations: [OrderWarehouseAllocation]
  line_items(first: Int, after: String, last: Int, before: String, sort: String,
    search: String): LineItemQuerySpecConnection }
type OrderHolds { fraud_hold: Boolean address_hold: Boolean payment_hold: Boolean
  operator_hold: Boolean client_hold: Boolean shipping_method_hold: Boolean }
type OrderWarehouseAllocation { order_id: String warehouse_id: String
  allocated_at: ISODateTime allocation_reference: String ready_to_ship: Boolean
  is_locked: Boolean line_items: [OrderLineItemAllocation] }
type OrderLineItemAllocation { order_id: String warehouse_id: String
  allocated_at: ISODateTime line_item_id: String sku: String quantity_allocated: Int
  is_kit_component: Boolean allocation_reference: String }
type LineItemQuerySpecConnection { pageInfo: PageInfo! edges: [LineItemQuerySpecEdge]! }
type LineItemQuerySpecEdge { node: LineItem cursor: String! }
type LineItem { id: String legacy_id: Int order_id: String sku: String
  partner_line_item_id: String product_name: String quantity: Int quantity_allocated: Int
  quantity_pending_fulfillment: Int quantity_shipped: Int backorder_quantity: Int
  fulfillment_status: String warehouse_id: String warehouse: String
  created_at: ISODateTime updated_at: ISODateTime tote_picks: [TotePick] }
type TotePick { tote_id: String line_item_id: String picked_quantity: Int quantity: Int
  inventory_bin: String created_at: ISODateTime updated_at: ISODateTime }
"""


def _gid(kind: str, number: int) -> str:
    return base64.b64encode(f"{kind}:{number}".encode()).decode()


class OrdersMixin:
    """The order resolvers of ShipHeroSim (which supplies world, role, _connection,
    _warehouse_of, _time, _read_time and the warehouse numbering)."""

    def _order_docs(self) -> list[tuple[str, list[SimOrderLine], int]]:
        """(number, lines the WMS holds, order number) as of the clock."""
        now, docs = self.world.now(), []
        for number, lines in self.world.order_documents().items():
            held = [line for line in lines if line.wms_qty is not None
                    and (line.released_at if line.released_at is not None
                         else line.created) <= now]
            if held:
                docs.append((number, held, 100_570_000 + lines[0].index))
        return docs

    def _orders(self, args: dict) -> list:
        since, until = self._read_time(args.get("updated_from")), \
            self._read_time(args.get("updated_to"))
        warehouses = {loc.code for loc in self._warehouse_of(
            args.get("warehouse_id") or args.get("allocated_warehouse_id"))}
        rows = []
        for number, lines, legacy in self._order_docs():
            updated = max(line.wms_updated_at for line in lines)
            status = self._order_status(lines)
            if (since is not None and updated < since) or (until is not None and updated > until):
                continue
            if args.get("order_number") not in (None, number):
                continue
            if args.get("fulfillment_status") not in (None, status):
                continue
            if args.get("sku") is not None and all(ln.sku != args["sku"] for ln in lines):
                continue
            if not any(line.location in warehouses for line in lines):
                continue
            rows.append((number, lines, legacy, updated, status))
        return rows

    def _order_by_id(self, order_id: str | None) -> dict | None:
        for row in self._orders({}):
            if _gid("Order", row[2]) == order_id:
                return self._order(row)
        raise graphql.Fail(f"Order {order_id} not found", code=5)

    @staticmethod
    def _order_status(lines: list[SimOrderLine]) -> str:
        return "fulfilled" if all(ln.wms_status == "shipped" for ln in lines) else "pending"

    def _order(self, row) -> dict:
        number, lines, legacy, updated, status = row
        order_id = _gid("Order", legacy)
        allocated = [line for line in lines if line.released_at is not None]
        by_warehouse: dict[str, list[SimOrderLine]] = {}
        for line in allocated:
            by_warehouse.setdefault(line.location, []).append(line)
        allocations = [{
            "order_id": order_id, "warehouse_id": self._warehouse_gid(code),
            "allocated_at": self._time(max(ln.released_at for ln in members)),
            "allocation_reference": str(362_137_000 + legacy % 1000), "ready_to_ship": True,
            "is_locked": False, "line_items": [{
                "order_id": order_id, "warehouse_id": self._warehouse_gid(code),
                "allocated_at": self._time(line.released_at),
                "line_item_id": _gid("LineItem", legacy * 10 + line.line), "sku": line.sku,
                "quantity_allocated": line.wms_qty, "is_kit_component": False,
                "allocation_reference": str(362_137_000 + legacy % 1000)}
                for line in members]} for code, members in by_warehouse.items()]
        created = self._time(lines[0].created)
        return {
            "id": order_id, "legacy_id": legacy, "order_number": number,
            "partner_order_id": str(5_123_000_000 + legacy % 100_000),
            "shop_name": "Shopify Main", "account_id": "QWNjb3VudDo0Mjg1",
            "fulfillment_status": status, "order_date": created,
            "updated_at": self._time(updated), "required_ship_date": None,
            "hold_until_date": None, "ready_to_ship": None,
            "holds": {"fraud_hold": False, "address_hold": False, "payment_hold": False,
                      "operator_hold": False, "client_hold": False,
                      "shipping_method_hold": False},
            "allocations": allocations,
            "line_items": lambda page: self._connection(
                lines, page, lambda line: self._line_item(line, order_id, legacy))}

    def _line_item(self, line: SimOrderLine, order_id: str, legacy: int) -> dict:
        quantity, state = line.wms_qty or 0, line.wms_status or "released"
        released = line.released_at is not None
        picked = {"picking": max(1, quantity // 2) if quantity > 1 else 0,
                  "picked": quantity, "shipped": quantity}.get(state, 0) if released else 0
        shipped = quantity if released and state == "shipped" else 0
        line_id = _gid("LineItem", legacy * 10 + line.line)
        picks = [{"tote_id": _gid("Tote", 14_156_000 + legacy % 1000), "line_item_id": line_id,
                  "picked_quantity": picked, "quantity": quantity, "inventory_bin": "A-01-03",
                  "created_at": self._time(line.picked_at),
                  "updated_at": self._time(line.picked_at)}] if picked else []
        return {"id": line_id, "legacy_id": legacy * 10 + line.line, "order_id": order_id,
                "sku": line.sku, "partner_line_item_id": f"{line.number}-{line.line}",
                "product_name": self.world.item_index[line.sku].name or line.sku,
                "quantity": quantity, "quantity_allocated": quantity if released else 0,
                "quantity_pending_fulfillment": quantity - shipped,
                "quantity_shipped": shipped, "backorder_quantity": 0,
                "fulfillment_status": "fulfilled" if shipped else "pending",
                "warehouse_id": self._warehouse_gid(line.location), "warehouse": line.location,
                "created_at": self._time(line.created),
                "updated_at": self._time(line.wms_updated_at), "tote_picks": picks}
