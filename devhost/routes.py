"""ASP.NET-style route templates (as the Functions host uses them) translated to aiohttp routes."""

from __future__ import annotations

import re

_PARAM = re.compile(r"\{(\*?)([A-Za-z_][A-Za-z0-9_]*)(?::([a-z]+))?(\?)?\}")

_CONSTRAINTS = {
    "int": r"-?\d+",
    "long": r"-?\d+",
    "guid": r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}",
    "alpha": r"[A-Za-z]+",
    "bool": r"(?i:true|false)",
}


def to_aiohttp_paths(prefix: str, template: str) -> list[str]:
    """Return the aiohttp path patterns for one template; an optional `{x?}` segment yields two paths."""
    template = template.strip("/")
    segments = template.split("/") if template else []
    paths = [[]]
    for segment in segments:
        match = _PARAM.fullmatch(segment)
        if match is None:
            for p in paths:
                p.append(_escape_literal(segment))
            continue
        catch_all, name, constraint, optional = match.groups()
        if catch_all:
            pattern = f"{{{name}:.*}}"
        elif constraint:
            pattern = "{{{}:{}}}".format(name, _CONSTRAINTS.get(constraint, "[^/]+"))
        else:
            pattern = f"{{{name}}}"
        if optional or catch_all:
            paths = [[*p, pattern] for p in paths] + [list(p) for p in paths]
        else:
            for p in paths:
                p.append(pattern)
    base = "/" + prefix.strip("/") if prefix.strip("/") else ""
    return [base + "/" + "/".join(p) if p else base or "/" for p in paths]


def route_precedence(template: str) -> tuple[int, int, int]:
    """Sort key: literal routes before parameterised ones, catch-alls last (ASP.NET's precedence)."""
    segments = template.strip("/").split("/")
    catch_all = any(s.startswith("{*") for s in segments)
    params = sum(1 for s in segments if s.startswith("{"))
    return (int(catch_all), params, -len(segments))


def _escape_literal(segment: str) -> str:
    return segment.replace("{", "{{").replace("}", "}}")
