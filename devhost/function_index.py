"""Index a FunctionApp once and classify its functions by trigger.

`FunctionApp.get_functions()` may be called only once per app object (a second call raises), so the
index is built once and every part of devhost reads from it.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import azure.functions as func


@dataclass(frozen=True)
class IndexedFunction:
    name: str
    trigger_type: str  # httpTrigger, orchestrationTrigger, activityTrigger, entityTrigger, timerTrigger, ...
    trigger_param: str
    user_function: Callable[..., Any]
    bindings: list[dict[str, Any]]
    route: str | None = None
    methods: tuple[str, ...] | None = None  # None: every method

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.user_function)

    def binding_of_type(self, binding_type: str) -> dict[str, Any] | None:
        return next((b for b in self.bindings if b.get("type") == binding_type), None)

    def accepts_parameter(self, name: str) -> bool:
        return name in inspect.signature(self.user_function).parameters


@dataclass
class FunctionIndex:
    functions: list[IndexedFunction] = field(default_factory=list)
    route_prefix: str = "api"

    def by_trigger(self, trigger_type: str) -> dict[str, IndexedFunction]:
        return {f.name: f for f in self.functions if f.trigger_type == trigger_type}

    def http_functions(self) -> list[IndexedFunction]:
        return [f for f in self.functions if f.trigger_type == "httpTrigger"]


def load_app(spec: str) -> func.FunctionRegister:
    """Import `module:attr` (default attr `app`) and return the FunctionApp it names."""
    module_name, _, attr = spec.partition(":")
    module = importlib.import_module(module_name)
    app = getattr(module, attr or "app")
    if not isinstance(app, func.FunctionRegister):
        raise TypeError(f"{spec} is {type(app).__name__}, not an azure.functions.FunctionApp")
    return app


def index_app(app: func.FunctionRegister, route_prefix: str = "api") -> FunctionIndex:
    index = FunctionIndex(route_prefix=route_prefix)
    for function in app.get_functions():
        trigger = function.get_trigger()
        bindings = [b.get_dict_repr() for b in function.get_bindings()]
        route = methods = None
        if trigger.get_binding_name() == "httpTrigger":
            route = getattr(trigger, "route", None) or function.get_function_name()
            raw_methods = getattr(trigger, "methods", None)
            if raw_methods:
                methods = tuple(str(getattr(m, "value", m)).upper() for m in raw_methods)
        index.functions.append(
            IndexedFunction(
                name=function.get_function_name(),
                trigger_type=trigger.get_binding_name(),
                trigger_param=trigger.name,
                user_function=function.get_user_function(),
                bindings=bindings,
                route=route,
                methods=methods,
            )
        )
    return index
