"""Simulated ShipHero warehouse products: the node's fields, and the usual page of them
built without the generic projection.

A full read lists every product of every warehouse (400,000 nodes); projecting each
through the GraphQL executor (an edge object, a node object, then a lookup and a
resolver call per selected field) costs about three times what building its dict from the
same field expressions does. Queries of plain fields only (no aliases, fragments,
directives, __typename or arguments below the page, no field twice) whose one root field
is warehouse_products are answered here, field by field in the order asked; anything
else, and any error, goes the generic way. tests/test_simulator.py compares the two.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from graphql import FieldNode, get_named_type
from graphql.execution.values import get_argument_values

from app.simulator import graphql
from app.simulator.vendor import utc_text
from app.simulator.world import SimLocation

ACCOUNT = "QWNjb3VudDo0Mjg1"  # base64("Account:4285")


def gid(kind: str, number: int) -> str:
    return base64.b64encode(f"{kind}:{number}".encode()).decode()


def warehouse_legacy_id(loc: SimLocation) -> int:
    return 1001 + loc.index


def iso_time(epoch: int | None) -> str | None:
    # ShipHero's documented output is an ISODateTime without a zone (UTC).
    return None if epoch is None else utc_text(epoch)


def cursor(offset: int) -> str:
    return base64.b64encode(f"arrayconnection:{offset}".encode()).decode()


# Each field of a warehouse product as an expression of its row (loc, item, count) and
# the world's base_now, written once: the generic path evaluates the selected ones one by
# one (ProductNode.get), the direct path compiles them into one function per selection.
_FIELDS = {
    "id": "gid('WarehouseProduct', (loc.index + 1) * 10_000_000 + item.index)",
    "legacy_id": "(loc.index + 1) * 10_000_000 + item.index",
    "account_id": "ACCOUNT",
    "sku": "item.sku",
    "warehouse_id": "gid('Warehouse', warehouse_legacy_id(loc))",
    "warehouse_identifier": "loc.name",
    "on_hand": "count[0] or 0",
    "allocated": "count[2] or 0",
    "available": "count[1] or 0",
    "backorder": "max(0, (count[2] or 0) - (count[0] or 0))",
    "reserve_inventory": "0",
    "non_sellable_quantity": "0",
    "inventory_bin": "''",
    "active": "True",
    "created_at": "iso_time(base_now - 86400 * 90)",
    "updated_at": "iso_time(count[4])",
}
_PRODUCT = {  # the `product` a warehouse product belongs to, from its item
    "id": "gid('Product', 500_000 + item.index)",
    "legacy_id": "500_000 + item.index",
    "name": "item.name or item.sku",
    "sku": "item.sku",
    "barcode": "None",
}
_SCOPE = {"ACCOUNT": ACCOUNT, "cursor": cursor, "gid": gid, "iso_time": iso_time,
          "warehouse_legacy_id": warehouse_legacy_id}


def _compiled(params: str, expression: str):
    return eval(f"lambda {params}: {expression}", dict(_SCOPE))  # only our own texts


_FIELD_OF = {name: _compiled("loc, item, count, base_now", code)
             for name, code in _FIELDS.items()}
_PRODUCT_OF = {name: _compiled("item", code) for name, code in _PRODUCT.items()}


class ProductNode:
    """One warehouse_products node. A full read lists every product of a warehouse and
    selects a handful of its fields: each is worked out only when the query asks for
    it (the projection reads nodes through `get`, as it reads dicts)."""

    __slots__ = ("base_now", "count", "item", "loc")

    def __init__(self, row: tuple, base_now: int) -> None:
        self.loc, self.item, self.count = row
        self.base_now = base_now

    def get(self, name: str, default=None):
        if name == "product":
            return ProductInfo(self.item)
        field = _FIELD_OF.get(name)
        return default if field is None else field(self.loc, self.item, self.count,
                                                   self.base_now)


class ProductInfo:
    """The `product` a warehouse product belongs to."""

    __slots__ = ("item",)

    def __init__(self, item) -> None:
        self.item = item

    def get(self, name: str, default=None):
        field = _PRODUCT_OF.get(name)
        return default if field is None else field(self.item)


# -- the usual page, without the generic projection --------------------------------------

def _plain(selection_set, arguments: bool = False) -> list[FieldNode] | None:
    """The selection's fields if it is plain (see the module's doc), else None."""
    if selection_set is None:
        return None
    fields = list(selection_set.selections)
    names = [f.name.value if isinstance(f, FieldNode) else None for f in fields]
    if None in names or "__typename" in names or len(set(names)) != len(names) or any(
            f.alias is not None or f.directives or (f.arguments and not arguments)
            for f in fields):
        return None
    return fields


def _node_code(selection_set) -> str | None:
    """The node's dict display for a plain selection of its fields, else None."""
    entries = []
    for f in _plain(selection_set) or ():
        name, inner = f.name.value, f.selection_set
        if name in _FIELDS and inner is None:
            entries.append(f"{name!r}: {_FIELDS[name]}")
        elif name == "product" and (subs := _plain(inner)) and all(
                g.name.value in _PRODUCT and g.selection_set is None for g in subs):
            entries.append(f"{name!r}: {{" + ", ".join(
                f"{g.name.value!r}: {_PRODUCT[g.name.value]}" for g in subs) + "}")
        else:
            return None
    return "{" + ", ".join(entries) + "}" if entries else None


@lru_cache(maxsize=64)
def _edges_builder(code: str):
    """A function from a page's edges (offset and row each) to their projected dicts."""
    scope = dict(_SCOPE)
    # Built from our own field texts and the query's field names (GraphQL names, which
    # validation has checked against the schema).
    exec(f"def edges(chunk, base_now):\n"
         f"    return [{code} for offset, (loc, item, count) in chunk]", scope)
    return scope["edges"]


def products_data(sim, prepared: graphql.Request, complexity: int) -> dict | None:
    """The `data` answering a plain warehouse_products query (None: answer it the
    generic way). `sim` is the ShipHeroSim: its listing, paging and request ids."""
    roots = _plain(prepared.operation.selection_set, arguments=True)
    if prepared.is_mutation or roots is None or len(roots) != 1 or \
            roots[0].name.value != "warehouse_products":
        return None
    outer = _plain(roots[0].selection_set, arguments=True)  # request_id complexity data
    data_node = next((f for f in outer or () if f.name.value == "data"), None)
    page_fields = None if data_node is None else _plain(data_node.selection_set)
    if page_fields is None or any(f.arguments for f in outer if f is not data_node):
        return None
    plan: list[tuple[str, list[str], object]] = []  # (key, its fields, edges builder)
    for f in page_fields:
        inner = _plain(f.selection_set)
        if inner is None or any(g.selection_set is not None for g in inner
                                if g.name.value != "node"):
            return None
        names = [g.name.value for g in inner]
        if f.name.value == "pageInfo":
            plan.append((f.name.value, names, None))
            continue
        node = next((g for g in inner if g.name.value == "node"), None)
        code = None if node is None else _node_code(node.selection_set)
        if code is None:
            return None
        edge = "{" + ", ".join(f"{n!r}: {code}" if n == "node" else f"{n!r}: cursor(offset)"
                               for n in names) + "}"
        plan.append((f.name.value, names, _edges_builder(edge)))
    field = prepared.schema.query_type.fields["warehouse_products"]
    try:  # whatever fails here fails the same way in the generic path, which words it
        args = get_argument_values(field, roots[0], prepared.variables)
        page = get_argument_values(get_named_type(field.type).fields["data"], data_node,
                                   prepared.variables)
        connection = sim._connection(sim._products(args), page, None)
    except graphql.Fail:
        return None
    data: dict = {}
    for key, names, build in plan:
        if build is None:
            info = connection["pageInfo"]
            data[key] = {name: info[name] for name in names}
        else:
            data[key] = build([(e.offset, e.row) for e in connection["edges"]],
                              sim.world.base_now)
    # The request id last, as the generic path takes it: once, and only for an answer.
    values = {"request_id": sim._request_id(), "complexity": complexity, "data": data}
    return {"warehouse_products": {f.name.value: values[f.name.value] for f in outer}}
