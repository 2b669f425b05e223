"""GraphQL for the simulated Shopify and ShipHero endpoints.

graphql-core parses every request and validates it against the vendor's schema (so a
misspelt field or a missing argument fails as the vendor would fail it) and coerces the
variables. Results are then projected from plain dicts by the small executor below:
graphql-core's own executor needs about 7 ms per 100-node page, too slow to serve the
1.2M-row benchmark. In resolved data, a field that takes arguments is a callable that
receives them; abstract types carry `__typename` for fragments.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from types import FunctionType, MethodType
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    build_schema,
    get_named_type,
    parse,
    validate,
)
from graphql.execution.values import get_argument_values, get_variable_values


class Fail(Exception):
    """A resolver's error, reported in `errors` the way the vendor words it."""

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.extra = extra


@dataclass(frozen=True)
class Request:
    operation: OperationDefinitionNode
    fragments: dict[str, FragmentDefinitionNode]
    variables: dict[str, Any]
    schema: GraphQLSchema
    plans: dict = field(default_factory=dict, compare=False)  # selection → projection plan

    @property
    def is_mutation(self) -> bool:
        return self.operation.operation.value == "mutation"


class Schema:
    def __init__(self, sdl: str) -> None:
        self.schema = build_schema(sdl)

    def prepare(self, query: Any, variables: Any, operation_name: Any = None
                ) -> Request | list[dict]:
        """A runnable request, or the errors to answer with."""
        if not isinstance(query, str):
            return [{"message": "Parameter 'query' is required and must be a string"}]
        document = _parse(self.schema, query)
        if isinstance(document, list):
            return document
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if operation_name:
            operations = [o for o in operations if o.name and o.name.value == operation_name]
        if len(operations) != 1:
            return [{"message": "Must provide exactly one operation (or an operationName)"}]
        op = operations[0]
        coerced = get_variable_values(self.schema, op.variable_definitions or (),
                                      variables if isinstance(variables, dict) else {})
        if isinstance(coerced, list):
            return [_error(e) for e in coerced]
        fragments = {d.name.value: d for d in document.definitions
                     if isinstance(d, FragmentDefinitionNode)}
        return Request(op, fragments, coerced, self.schema)


@lru_cache(maxsize=256)
def _parse_cached(schema: GraphQLSchema, query: str) -> DocumentNode | tuple:
    try:
        document = parse(query)
    except GraphQLError as exc:
        return (_error(exc),)
    errors = validate(schema, document)
    if errors:
        return tuple(_error(e) for e in errors)
    return document


def _parse(schema: GraphQLSchema, query: str) -> DocumentNode | list[dict]:
    result = _parse_cached(schema, query)
    return list(result) if isinstance(result, tuple) else result


def _error(exc: GraphQLError) -> dict:
    error: dict[str, Any] = {"message": exc.message}
    if exc.locations:
        error["locations"] = [{"line": loc.line, "column": loc.column} for loc in exc.locations]
    return error


def execute(request: Request, root: dict) -> tuple[dict | None, list[dict]]:
    """Project `root` through the operation's selections: (data, errors)."""
    parent = (request.schema.mutation_type if request.is_mutation
              else request.schema.query_type)
    try:
        return _project(root, request.operation.selection_set, parent, request), []
    except Fail as failure:
        return None, [{"message": str(failure), **failure.extra}]


def root_connection(request: Request):
    """For a bulk query: (root field, its arguments, the node selection, the node type)."""
    field_node = next(s for s in request.operation.selection_set.selections
                      if isinstance(s, FieldNode))
    field = request.schema.query_type.fields[field_node.name.value]
    args = get_argument_values(field, field_node, request.variables)
    connection = get_named_type(field.type)
    for inner in field_node.selection_set.selections:
        if isinstance(inner, FieldNode) and inner.name.value == "nodes":
            return field_node.name.value, args, inner.selection_set, \
                get_named_type(connection.fields["nodes"].type)
        if isinstance(inner, FieldNode) and inner.name.value == "edges":
            for node in inner.selection_set.selections:
                if isinstance(node, FieldNode) and node.name.value == "node":
                    edge = get_named_type(connection.fields["edges"].type)
                    return field_node.name.value, args, node.selection_set, \
                        get_named_type(edge.fields["node"].type)
    return field_node.name.value, args, field_node.selection_set, connection


def project(request: Request, value: Any, selection_set, value_type) -> Any:
    return _project(value, selection_set, value_type, request)


_RESOLVERS = (FunctionType, MethodType)


def _projector(selection_set, parent_type, request: Request) -> Callable[[Any], Any]:
    """A function projecting values through one selection set, built once per request
    (not once per row): the field list, arguments and nested projectors are fixed."""
    cache_key = (id(selection_set), parent_type.name)
    projector = request.plans.get(cache_key)
    if projector is not None:
        return projector
    fields: list[tuple] = []  # (output key, field name, arguments, nested projector)
    typename: list[str] = []
    fragments: list[tuple] = []  # (type condition, projector)
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            name = selection.name.value
            key = selection.alias.value if selection.alias else name
            if name == "__typename":
                typename.append(key)
                continue
            field_def = parent_type.fields[name]
            args = get_argument_values(field_def, selection, request.variables)
            inner = selection.selection_set
            fields.append((key, name, args, None if inner is None else _projector(
                inner, get_named_type(field_def.type), request)))
        else:
            fragment = selection if isinstance(selection, InlineFragmentNode) else \
                request.fragments[selection.name.value]
            condition = fragment.type_condition.name.value if fragment.type_condition else None
            target = request.schema.get_type(condition) if condition else parent_type
            fragments.append((condition, _projector(fragment.selection_set, target, request)))
    project = _compile_projector(fields, typename, fragments, parent_type.name)
    request.plans[cache_key] = project
    return project


def _compile_projector(fields: list[tuple], typename: list[str], fragments: list[tuple],
                       own_type: str) -> Callable[[Any], Any]:
    """The projection as straight-line Python: a loop over the fields, run for every node
    of a 1.2M-row read, costs twice as much. The code depends only on the selection's
    shape (compiled once per shape); names, arguments and nested projectors are bound
    per request."""
    scope: dict[str, Any] = {"RESOLVERS": _RESOLVERS, "OWN": own_type}
    for i, (key, name, args, nested) in enumerate(fields):
        scope.update({f"KEY{i}": key, f"NAME{i}": name, f"ARGS{i}": args,
                      f"NESTED{i}": nested})
    for i, key in enumerate(typename):
        scope[f"TYPEKEY{i}"] = key
    for i, (condition, nested) in enumerate(fragments):
        scope[f"CONDITION{i}"], scope[f"FRAGMENT{i}"] = condition, nested
    shape = (tuple(nested is not None for *_, nested in fields), len(typename), len(fragments))
    exec(_projector_code(shape), scope)
    return scope["project"]


@lru_cache(maxsize=256)
def _projector_code(shape: tuple[tuple[bool, ...], int, int]):
    """For each field in order: look the value up, call it with the field's arguments if
    it is a resolver, project it through the nested selection if there is one; then
    __typename, then the fragments whose type condition matches."""
    nested_fields, typenames, fragments = shape
    body = ["def project(value):",
            "    if value is None:",
            "        return None",
            "    if value.__class__ is list:",
            "        return [project(v) for v in value]",
            "    get = value.get"]
    for i, nested in enumerate(nested_fields):
        body += [f"    v{i} = get(NAME{i})",
                 f"    if v{i}.__class__ in RESOLVERS:",
                 f"        v{i} = v{i}(ARGS{i})"]
        if nested:
            body.append(f"    v{i} = NESTED{i}(v{i})")
    body.append("    out = {" + ", ".join(f"KEY{i}: v{i}" for i in range(len(nested_fields)))
                + "}")
    body += [f"    out[TYPEKEY{i}] = get('__typename', OWN)" for i in range(typenames)]
    for i in range(fragments):
        body += [f"    if CONDITION{i} is None or CONDITION{i} == get('__typename', OWN):",
                 f"        out.update(FRAGMENT{i}(value))"]
    body.append("    return out")
    return compile("\n".join(body), "<graphql projection>", "exec")


def _project(value: Any, selection_set, parent_type, request: Request) -> Any:
    return _projector(selection_set, parent_type, request)(value)


def query_cost(request: Request, weigh: Callable[[int, int], int], object_cost: int = 0) -> int:
    """A vendor's static cost, from the requested page sizes (not what comes back).

    A connection costs weigh(first, cost of one node); a node or any other object costs
    `object_cost` plus what is selected inside it; scalars and pageInfo cost nothing.
    """

    def walk(selection_set, parent_type) -> int:
        total = 0
        for selection in _fields(selection_set, parent_type, request):
            selection, owner = selection
            field = owner.fields[selection.name.value]
            named = get_named_type(field.type)
            if selection.selection_set is None or named.name == "PageInfo":
                continue
            if named.name.endswith("Connection"):
                args = get_argument_values(field, selection, request.variables)
                node_cost = sum(object_cost + walk(node_set, node_type)
                                for node_set, node_type in _node_selections(selection, named))
                total += weigh(args.get("first") or args.get("last") or 0, node_cost)
            else:
                total += object_cost + walk(selection.selection_set, named)
        return total

    root = request.schema.mutation_type if request.is_mutation else request.schema.query_type
    return walk(request.operation.selection_set, root)


def _fields(selection_set, parent_type, request: Request):
    """(field node, the type that declares it), looking through fragments."""
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            if not selection.name.value.startswith("__"):
                yield selection, parent_type
            continue
        fragment = selection if isinstance(selection, InlineFragmentNode) else \
            request.fragments.get(selection.name.value)
        if fragment is None:
            continue
        target = request.schema.get_type(fragment.type_condition.name.value) \
            if fragment.type_condition else parent_type
        yield from _fields(fragment.selection_set, target, request)


def _node_selections(connection_field: FieldNode, connection_type):
    """The node selections of a connection: under `nodes` or under `edges { node }`."""
    for inner in connection_field.selection_set.selections:
        if not isinstance(inner, FieldNode) or inner.selection_set is None:
            continue
        if inner.name.value == "nodes":
            yield inner.selection_set, get_named_type(connection_type.fields["nodes"].type)
        elif inner.name.value == "edges":
            edge = get_named_type(connection_type.fields["edges"].type)
            for node in inner.selection_set.selections:
                if isinstance(node, FieldNode) and node.name.value == "node":
                    yield node.selection_set, get_named_type(edge.fields["node"].type)


def field_names(request: Request) -> list[str]:
    """Root field names of the operation (for error objects that name the operation)."""
    return [s.name.value for s in request.operation.selection_set.selections
            if isinstance(s, FieldNode)]
