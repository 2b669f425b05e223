"""Shopify's formats for the simulator: the Admin GraphQL schema subset it serves, GIDs,
cursors and the search syntax (`sku:`, `updated_at:>'...'`), from shopify.dev."""

from __future__ import annotations

import base64
import json
import operator
import re
from collections.abc import Callable
from datetime import datetime

from app.simulator import graphql
from app.simulator.vendor import utc_text
from app.simulator.world import SimItem, SimLocation

SDL = """
scalar DateTime
scalar UnsignedInt64
interface Node { id: ID! }
type Query {
  inventoryItems(first: Int, after: String, last: Int, before: String, query: String,
                 reverse: Boolean): InventoryItemConnection!
  locations(first: Int, after: String, query: String, includeInactive: Boolean): LocationConnection!
  location(id: ID): Location
  node(id: ID!): Node
  currentBulkOperation(type: BulkOperationType): BulkOperation
}
type Mutation { bulkOperationRunQuery(query: String!, groupObjects: Boolean):
  BulkOperationRunQueryPayload }
type PageInfo { hasNextPage: Boolean! hasPreviousPage: Boolean! startCursor: String endCursor:
  String }
type InventoryItemConnection { edges: [InventoryItemEdge!]! nodes: [InventoryItem!]! pageInfo:
  PageInfo! }
type InventoryItemEdge { cursor: String! node: InventoryItem! }
type InventoryItem implements Node {
  id: ID! sku: String tracked: Boolean! createdAt: DateTime! updatedAt: DateTime!
  legacyResourceId: UnsignedInt64! variant: ProductVariant!
  inventoryLevels(first: Int, after: String, query: String): InventoryLevelConnection!
}
type ProductVariant implements Node { id: ID! displayName: String! title: String! sku: String
  product: Product! }
type Product implements Node { id: ID! title: String! }
type InventoryLevelConnection { edges: [InventoryLevelEdge!]! nodes: [InventoryLevel!]!
  pageInfo: PageInfo! }
type InventoryLevelEdge { cursor: String! node: InventoryLevel! }
type InventoryLevel implements Node {
  id: ID! createdAt: DateTime! updatedAt: DateTime! item: InventoryItem! location: Location!
  quantities(names: [String!]!): [InventoryQuantity!]!
}
type InventoryQuantity { id: ID! name: String! quantity: Int! updatedAt: DateTime }
type Location implements Node {
  id: ID! name: String! isActive: Boolean! legacyResourceId: UnsignedInt64!
  inventoryLevels(first: Int, after: String, query: String): InventoryLevelConnection!
}
type LocationConnection { edges: [LocationEdge!]! nodes: [Location!]! pageInfo: PageInfo! }
type LocationEdge { cursor: String! node: Location! }
enum BulkOperationStatus { CANCELED CANCELING COMPLETED CREATED EXPIRED FAILED RUNNING }
enum BulkOperationErrorCode { ACCESS_DENIED INTERNAL_SERVER_ERROR TIMEOUT }
enum BulkOperationType { QUERY MUTATION }
type BulkOperation implements Node {
  id: ID! status: BulkOperationStatus! errorCode: BulkOperationErrorCode createdAt: DateTime!
  completedAt: DateTime objectCount: UnsignedInt64! rootObjectCount: UnsignedInt64!
  fileSize: UnsignedInt64 url: String partialDataUrl: String query: String! type: BulkOperationType!
}
type BulkOperationRunQueryPayload { bulkOperation: BulkOperation userErrors:
  [BulkOperationUserError!]! }
type BulkOperationUserError { field: [String!] message: String! code: String }
"""
SCHEMA = graphql.Schema(SDL)
MAX_COST = 1000
MAX_PAGE = 250
QUANTITY_NAMES = ("available", "incoming", "committed", "damaged", "on_hand",
                  "quality_control", "reserved", "safety_stock")
SEARCH_TERM = re.compile(r"(\w+):(>=|<=|>|<)?('(?:[^'\\]|\\.)*'|\"[^\"]*\"|\S+)")


def location_gid(loc: SimLocation) -> str:
    return _GIDS[loc.index]


_GIDS = [f"gid://shopify/Location/{68_000_001 + index}" for index in range(1000)]


def item_number(item: SimItem) -> int:
    return 43_000_001 + item.index


def shopify_time(epoch: int | None) -> str | None:
    return None if epoch is None else utc_text(epoch) + "Z"


def cursor(position: int) -> str:
    return base64.b64encode(json.dumps({"last_id": position, "last_value": str(position)})
                            .encode()).decode()


def position(cursor: str | None) -> int:
    if not cursor:
        return -1
    try:
        return int(json.loads(base64.b64decode(cursor))["last_id"])
    except (ValueError, KeyError, TypeError):
        raise graphql.Fail("Invalid cursor for current pagination sort.") from None


def search(query: str | None) -> list[tuple[str, str, str]]:
    terms = []
    for field, op, value in SEARCH_TERM.findall(query or ""):
        if value[:1] in "'\"":
            value = value[1:-1].replace("\\'", "'").replace("\\\\", "\\")
        terms.append((field.lower(), op or "=", value))
    return terms


_COMPARE = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le,
            "=": operator.eq}


def time_filter(query: str | None, field: str = "updated_at"
                ) -> Callable[[int | None], bool] | None:
    """The query's terms on a time field as one test of an epoch (None: no such term).
    The bounds are read once, not once per row a listing holds."""
    tests = []
    for name, op, value in search(query):
        if name != field:
            continue
        try:
            bound = int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
        except ValueError:
            continue  # Shopify ignores terms it cannot read
        tests.append((_COMPARE[op], bound))
    if not tests:
        return None
    if len(tests) == 1:  # the usual `updated_at:>'...'`
        (compare, bound), = tests
        return lambda epoch: epoch is not None and compare(epoch, bound)
    return lambda epoch: epoch is not None and all(test(epoch, at) for test, at in tests)


def time_floor(query: str | None, field: str = "updated_at") -> int | None:
    """The earliest time a row can have and match the query's lower bounds on a time
    field (None: the query sets none)."""
    floors = []
    for name, op, value in search(query):
        if name == field and op in (">", ">=", "="):
            try:
                bound = int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
            except ValueError:
                continue
            floors.append(bound + 1 if op == ">" else bound)
    return max(floors, default=None)


def matches_time(epoch: int | None, op: str, value: str) -> bool:
    try:
        bound = int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return True  # Shopify ignores terms it cannot read
    if epoch is None:
        return False
    return {">": epoch > bound, ">=": epoch >= bound, "<": epoch < bound,
            "<=": epoch <= bound, "=": epoch == bound}[op]
