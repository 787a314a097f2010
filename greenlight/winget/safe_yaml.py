"""YAML for untrusted documents: SafeLoader only, a size cap, no aliases (billion laughs), no duplicate keys,
and scalars kept as strings (versions such as 3.10 must not become floats; dates stay text)."""

from __future__ import annotations

import re
from typing import Any

import yaml

from greenlight.winget.errors import HostileInput, ManifestError

MAX_DOCUMENT = 1024 * 1024
MAX_DEPTH = 32


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader (pure Python: the composer hooks below are not reachable in CSafeLoader) with resolvers
    for bools and null only."""

    def compose_node(self, parent: Any, index: Any) -> Any:  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise HostileInput(f"YAML aliases are not allowed (line {event.start_mark.line + 1}); refused")
        self._depth = getattr(self, "_depth", 0) + 1
        try:
            if self._depth > MAX_DEPTH:
                raise HostileInput(f"YAML nesting deeper than {MAX_DEPTH}; refused")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:  # type: ignore[override]
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str | int | bool) or key is None:
                raise ManifestError(f"YAML mapping key {key!r} is not a string")
            if key in seen:
                raise ManifestError(f"duplicate key {key!r} (line {key_node.start_mark.line + 1})")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


# Only YAML 1.2 booleans (true/false, not yes/no/on/off) and null are resolved; every other plain scalar
# stays a string.
_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag == "tag:yaml.org,2002:null"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load(data: bytes | str, what: str, max_size: int = MAX_DOCUMENT) -> Any:
    """Parse one YAML document; every failure is a typed error naming `what`."""
    size = len(data)
    if size > max_size:
        raise HostileInput(f"{what} is {size} bytes; the limit is {max_size}")
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ManifestError(f"{what} is not UTF-8") from None
    else:
        text = data
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - _StrictLoader is a SafeLoader
    except (HostileInput, ManifestError) as error:
        raise type(error)(f"{what}: {error}") from None
    except yaml.YAMLError as error:
        raise ManifestError(f"{what} is not valid YAML: {str(error).splitlines()[0]}") from None
    except RecursionError:
        raise HostileInput(f"{what} nests too deeply") from None
