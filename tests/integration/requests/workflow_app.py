"""A DFApp for the request workflow's devhost tests: the real request_orchestrator and its activities (taken from
the `orchestrations` blueprint by module, so the publish side's real functions, once merged, are left out) plus
simple stand-ins for the publish side's four functions, so these tests choose each publishing outcome.

The stand-ins follow CONTRACT.md's shapes; what they answer is steered per package id so a test can pick a path:
`*.published` → already published, `*.waiting` → another publication in flight (then published),
`*.fails` → the publish sub-orchestration fails, `*.grantfails` → grant_access raises, anything else → this
request owns and runs the publication.
"""

import azure.durable_functions as df
import azure.functions as func

from orchestrations import blueprint as durable_blueprint

stand_ins = df.Blueprint()
GRANTS: list[dict] = []  # grant_access calls, for the tests to read (same process)


def _package_of(ref: dict) -> str:
    import services

    return services.get().requests.get(ref["tenant_id"], ref["request_id"]).value.package_id.lower()


@stand_ins.activity_trigger(input_name="ref")
def claim_publication(ref: dict) -> dict:
    package = _package_of(ref)
    if package.endswith(".published"):
        return {"outcome": "published", "app_id": "app-existing", "group_id": "group-existing"}
    if package.endswith(".waiting"):
        return {"outcome": "waiting", "publication_id": f"pub-{package}"}
    return {"outcome": "owner", "instance_id": f"pub-{ref['request_id']}", "input": {"package_id": package}}


@stand_ins.orchestration_trigger(context_name="context")
def publish_orchestrator(context: df.DurableOrchestrationContext):
    publication = context.get_input()
    yield context.call_activity("publication_state", {"publication_id": "touch"})
    if publication["package_id"].lower().endswith(".fails"):
        return {"ok": False, "error": {"code": "installer_hash_mismatch", "message": "the installer was altered"}}
    return {"ok": True, "app_id": "app-new", "group_id": "group-new"}


@stand_ins.activity_trigger(input_name="ref")
def publication_state(ref: dict) -> dict:
    return {"state": "published", "app_id": "app-shared", "group_id": "group-shared", "error": None}


@stand_ins.activity_trigger(input_name="grant")
def grant_access(grant: dict) -> dict:
    if _package_of(grant).endswith(".grantfails"):
        raise RuntimeError("the assignment group is gone")
    GRANTS.append({k: v for k, v in grant.items() if k != "trace"})  # the trace carrier is telemetry's, not the grant's
    return {"added": True}


class _RequestWorkflow(df.Blueprint):
    """The request side's functions of `orchestrations.blueprint` (orchestrations/request*.py) only."""

    def __init__(self) -> None:
        super().__init__()
        self._function_builders = [
            builder
            for builder in durable_blueprint._function_builders
            if _module_of(builder._function.get_user_function()).startswith("orchestrations.request")
        ]


def _module_of(function) -> str:
    # An orchestrator is wrapped by the SDK; the wrapper keeps the generator function.
    return getattr(function, "orchestrator_function", function).__module__


app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
app.register_functions(_RequestWorkflow())
app.register_functions(stand_ins)
