"""Finds the Microsoft Graph calls in Greenlight's source, statically (ast), with the path each call sends.

A Graph call is a call of get/post/patch/delete/put/paged/request on a receiver whose name ends in `graph`
(`self.graph`, `graph`, `self._publisher.graph`, ...) or of `.url(...)` on a receiver ending in `urls` (GraphUrls).
Its path argument is resolved within the module: string literals, f-strings, module constants, names and
attributes assigned anywhere in the module (`file_path = f"..."`, `self._file_path = file_path`) and helpers that
return one expression (`self._content(app_id)`); anything else inside an f-string (`{app_id}`, `{app['id']}`)
becomes the placeholder `{}`. A path that cannot be resolved is reported, never skipped.

To cover a new way of calling Graph, extend RECEIVER / VERB (or write the path as an f-string).
"""

from __future__ import annotations

import ast
import itertools
import re
from dataclasses import dataclass
from pathlib import Path

RECEIVER = re.compile(r"(^|\.)_?graph$|(^|\.)_?urls$", re.IGNORECASE)
# First path segments of Graph resources: a call on another receiver with such a path is reported as unrecognised
# (a Graph client under a new name must not slip past the permission check).
GRAPH_ROOTS = {"deviceAppManagement", "deviceManagement", "groups", "users", "servicePrincipals", "applications",
               "appCatalogs", "teams", "chats", "me", "directoryObjects", "identity", "policies"}  # fmt: skip
VERB = {"get": "GET", "post": "POST", "patch": "PATCH", "delete": "DELETE", "put": "PUT", "paged": "GET"}
UNKNOWN = "{}"
MAX_DEPTH = 8


@dataclass(frozen=True)
class GraphCall:
    where: str  # file:line
    method: str
    path: str | None  # None: not resolvable
    receiver: str = ""  # set only when the receiver's name does not say Graph but the path does


def dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    if isinstance(node, ast.Call):  # `self._graph()` in `async with self._graph() as graph`
        return dotted(node.func)
    return None


class Module:
    def __init__(self, tree: ast.Module) -> None:
        self.assigned: dict[str, list[ast.expr]] = {}
        self.returns: dict[str, list[ast.expr]] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if (name := dotted(target)) is not None:
                        self.assigned.setdefault(name, []).append(node.value)
            elif isinstance(node, ast.AnnAssign) and node.value is not None and (name := dotted(node.target)):
                self.assigned.setdefault(name, []).append(node.value)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                values = [n.value for n in ast.walk(node) if isinstance(n, ast.Return) and n.value is not None]
                if len(values) == 1:
                    self.returns[node.name] = values

    def resolve(self, node: ast.expr, depth: int = 0) -> list[str] | None:
        """Every string the expression may be; None when it cannot be told."""
        if depth > MAX_DEPTH:
            return None
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [node.value]
        if isinstance(node, ast.JoinedStr):
            parts = [self._part(value, depth) for value in node.values]
            return ["".join(p) for p in itertools.product(*parts)]
        if isinstance(node, ast.Name | ast.Attribute) and (name := dotted(node)) is not None:
            found = [self.resolve(v, depth + 1) for v in self._assignments(name)]
            values = [s for r in found if r is not None for s in r]
            return sorted(set(values)) if values and all(r is not None for r in found) else None
        if isinstance(node, ast.Call) and (name := dotted(node.func)) is not None:
            returns = self.returns.get(name.rsplit(".", 1)[-1])
            return self.resolve(returns[0], depth + 1) if returns else None
        return None

    def _assignments(self, name: str) -> list[ast.expr]:
        if name in self.assigned:
            return self.assigned[name]
        bare = name.removeprefix("self.")  # a parameter passed on from an assignment elsewhere in the module
        return self.assigned.get(bare.lstrip("_"), []) if bare != name or "." not in name else []

    def _part(self, value: ast.expr, depth: int) -> list[str]:
        if isinstance(value, ast.Constant):
            return [str(value.value)]
        assert isinstance(value, ast.FormattedValue)
        # Paths and module constants are substituted (APPS, CAST, content, self._content(...)); values that are
        # not paths (ids, names: `{app_id}`, `{version}`) stay placeholders even if the module assigns them.
        name = dotted(value.value.func if isinstance(value.value, ast.Call) else value.value) or ""
        constant = name.isupper()
        resolved = self.resolve(value.value, depth + 1)
        if resolved and (constant or all("/" in s for s in resolved)):
            return resolved
        return [UNKNOWN]


def calls_in_source(source: str, filename: str) -> list[GraphCall]:
    tree = ast.parse(source, filename)
    module = Module(tree)
    found: list[GraphCall] = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        receiver = dotted(node.func.value)
        verb = node.func.attr
        if receiver is None:
            continue
        if not RECEIVER.search(receiver):
            found.extend(_graph_like(module, node, receiver, filename))
            continue
        args = list(node.args)
        if verb == "request" and len(args) >= 2 and isinstance(args[0], ast.Constant):
            method, path_node = str(args[0].value).upper(), args[1]
        elif verb == "url" and args:
            method, path_node = "ANY", args[0]
        elif verb in VERB and args:
            method, path_node = VERB[verb], args[0]
        else:
            continue
        where = f"{filename}:{node.lineno}"
        paths = module.resolve(path_node)
        if paths is None:
            found.append(GraphCall(where, method, None))
        else:
            found.extend(GraphCall(where, method, p) for p in paths)
    return found


def _graph_like(module: Module, node: ast.Call, receiver: str, filename: str) -> list[GraphCall]:
    verb = node.func.attr if isinstance(node.func, ast.Attribute) else ""
    if verb not in VERB or not node.args:
        return []
    paths = module.resolve(node.args[0]) or []
    # A path has a slash; a bare word such as claims.get("groups") is a dictionary key, not a Graph call.
    graph_paths = [p for p in paths if "/" in p.strip("/") and p.lstrip("/").split("/", 1)[0] in GRAPH_ROOTS]
    return [GraphCall(f"{filename}:{node.lineno}", VERB[verb], p, receiver) for p in graph_paths]


def graph_calls(root: Path, folders: tuple[str, ...], exclude: tuple[str, ...] = ()) -> list[GraphCall]:
    calls: list[GraphCall] = []
    for folder in folders:
        for path in sorted((root / folder).rglob("*.py")):
            relative = str(path.relative_to(root))
            if relative not in exclude:
                calls.extend(calls_in_source(path.read_text(encoding="utf-8"), relative))
    return calls
