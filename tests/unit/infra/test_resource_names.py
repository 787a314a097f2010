"""Resource names main.bicep derives from its parameters stay within Azure's naming rules, for the default and the
longest allowed prefix. The name expressions are read from main.bicep and evaluated by a small interpreter for
the few Bicep functions they use (uniqueString is 13 lowercase base-32 characters in ARM; a fixed stand-in of that
shape is used), so a change to a name formula is checked without the Bicep CLI."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from tests.unit.infra.conftest import BICEP_DIR

UNIQUE_STRING = "x7kq2mzr4ab5c"  # same length and alphabet as ARM's uniqueString()

RULES: dict[str, tuple[str, str]] = {
    # module symbol in main.bicep -> (rule, pattern) for its `name` parameter
    "hostStorage": ("storage account: 3-24 lowercase letters and digits", r"[a-z0-9]{3,24}"),
    "dataStorage": ("storage account: 3-24 lowercase letters and digits", r"[a-z0-9]{3,24}"),
    "archive": ("storage account: 3-24 lowercase letters and digits", r"[a-z0-9]{3,24}"),
    "keyVault": (
        "key vault: 3-24, starts with a letter, letters digits hyphens",
        r"[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]",
    ),
    "functionApp": ("function app: 2-60, letters digits hyphens", r"[a-zA-Z0-9][a-zA-Z0-9-]{0,58}[a-zA-Z0-9]"),
    "bot": ("bot: 2-64, letters digits hyphens underscores periods", r"[a-zA-Z0-9][a-zA-Z0-9_.-]{1,63}"),
    "dts": ("scheduler: 3-64, letters digits hyphens", r"[a-zA-Z0-9][a-zA-Z0-9-]{1,62}[a-zA-Z0-9]"),
}

FUNCTIONS: dict[str, Callable[..., str]] = {
    "take": lambda value, count: value[: int(count)],
    "toLower": lambda value: value.lower(),
    "replace": lambda value, old, new: value.replace(old, new),
    "uniqueString": lambda *_: UNIQUE_STRING,
}


class Evaluator:
    """Bicep expressions of the shape main.bicep uses for names: '...${expr}...', identifiers, integer literals,
    calls of FUNCTIONS, and resourceGroup().id."""

    def __init__(self, scope: dict[str, str]) -> None:
        self.scope = scope

    def evaluate(self, text: str) -> str:
        value, rest = self._expr(text.strip())
        assert rest.strip() == "", f"cannot evaluate {text!r} (left {rest!r})"
        return value

    def _expr(self, text: str) -> tuple[str, str]:
        if text.startswith("'"):
            end = self._string_end(text)
            literal = text[1:end]
            value = re.sub(r"\$\{([^}]*)\}", lambda m: self.evaluate(m.group(1)), literal)
            return value, text[end + 1 :]
        if text.startswith("resourceGroup().id"):
            return "/subscriptions/0000/resourceGroups/rg-greenlight", text[len("resourceGroup().id") :]
        number = re.match(r"\d+", text)
        if number:
            return number.group(0), text[number.end() :]
        name = re.match(r"\w+", text)
        assert name, f"cannot evaluate {text!r}"
        rest = text[name.end() :]
        if not rest.startswith("("):
            return self.scope[name.group(0)], rest
        args: list[str] = []
        rest = rest[1:].lstrip()
        while not rest.startswith(")"):
            value, rest = self._expr(rest)
            args.append(value)
            rest = rest.lstrip()
            if rest.startswith(","):
                rest = rest[1:].lstrip()
        return FUNCTIONS[name.group(0)](*args), rest[1:]

    @staticmethod
    def _string_end(text: str) -> int:
        depth, i = 0, 1
        while i < len(text):
            if text.startswith("${", i):
                depth, i = depth + 1, i + 2
                continue
            if text[i] == "}" and depth:
                depth -= 1
            elif text[i] == "'" and not depth:
                return i
            i += 1
        raise AssertionError(f"unterminated string in {text!r}")


def module_names(params: dict[str, str]) -> dict[str, str]:
    main = (BICEP_DIR / "main.bicep").read_text(encoding="utf-8")
    scope = dict(params)
    evaluator = Evaluator(scope)
    for name, expression in re.findall(r"^var (\w+) = (.+)$", main, re.MULTILINE):
        if name in ("baseName", "suffix", "compactPrefix"):
            scope[name] = evaluator.evaluate(expression)
    names = {}
    for symbol, body in re.findall(r"^module (\w+) '[^']+'.*?\n(.*?)^}", main, re.MULTILINE | re.DOTALL):
        expression = re.search(r"^    name: (.+)$", body, re.MULTILINE)
        if expression:
            names[symbol] = evaluator.evaluate(expression.group(1))
    return names


@pytest.mark.parametrize("prefix", ["greenlight", "gl", "contoso-apps"])
@pytest.mark.parametrize("env", ["dev", "test", "prod"])
def test_names_follow_azure_rules(prefix: str, env: str) -> None:
    names = module_names({"namePrefix": prefix, "env": env})
    assert set(RULES) <= set(names), f"main.bicep no longer names {set(RULES) - set(names)}"
    for symbol, (rule, pattern) in RULES.items():
        assert re.fullmatch(pattern, names[symbol]), f"{symbol} name {names[symbol]!r} breaks the rule: {rule}"


def test_the_two_storage_accounts_get_different_names() -> None:
    names = module_names({"namePrefix": "contoso-apps", "env": "prod"})
    assert len({names["hostStorage"], names["dataStorage"], names["archive"]}) == 3


def test_longest_prefix_is_what_main_allows() -> None:
    """The parametrised prefixes above must include the longest namePrefix main.bicep accepts."""
    main = (BICEP_DIR / "main.bicep").read_text(encoding="utf-8")
    limit = re.search(r"@maxLength\((\d+)\)\nparam namePrefix", main)
    assert limit and int(limit.group(1)) == len("contoso-apps")
