"""Conformance app for devhost: the Durable Functions patterns written the way Microsoft's Python samples
(`Azure/azure-functions-durable-python` samples-v2 and the Learn pattern pages) write them.

Served in-process by the tests and as a subprocess with
`python -m devhost --app tests.integration.devhost.sample_app:myApp`.
Activities are trivial on purpose; the orchestrators are what is under test.
"""

import json
import os
import threading
import time
from datetime import timedelta

import azure.durable_functions as df
import azure.functions as func

myApp = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


# ----------------------------------------------------------------- client functions (HTTP starters)


@myApp.route(route="orchestrators/{functionName}")
@myApp.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client):
    function_name = req.route_params.get("functionName")
    client_input = req.get_json() if req.get_body() else None
    instance_id = await client.start_new(function_name, None, client_input)
    response = client.create_check_status_response(req, instance_id)
    return response


@myApp.route(route="approve/{instanceId}", methods=["POST"])
@myApp.durable_client_input(client_name="client")
async def approve(req: func.HttpRequest, client):
    instance_id = req.route_params.get("instanceId")
    await client.raise_event(instance_id, "ApprovalEvent", req.get_json())
    return func.HttpResponse(status_code=202)


@myApp.route(route="status/{instanceId}", methods=["GET"])
@myApp.durable_client_input(client_name="client")
async def status(req: func.HttpRequest, client):
    instance_id = req.route_params.get("instanceId")
    state = await client.get_status(instance_id, show_history=True, show_history_output=True)
    if not state:
        return func.HttpResponse(status_code=404)
    body = {**state.to_json(), "historyEvents": getattr(state, "historyEvents", None)}
    return func.HttpResponse(json.dumps(body), mimetype="application/json")


# ----------------------------------------------------------------- function chaining


@myApp.orchestration_trigger(context_name="context")
def my_orchestrator(context: df.DurableOrchestrationContext):
    result1 = yield context.call_activity("say_hello", "Tokyo")
    result2 = yield context.call_activity("say_hello", "Seattle")
    result3 = yield context.call_activity("say_hello", "London")
    return [result1, result2, result3]


@myApp.activity_trigger(input_name="city")
def say_hello(city: str) -> str:
    return f"Hello {city}!"


# ----------------------------------------------------------------- fan-out / fan-in


@myApp.orchestration_trigger(context_name="context")
def fan_out_fan_in(context: df.DurableOrchestrationContext):
    # Get a list of N work items to process in parallel.
    work_batch = yield context.call_activity("F1", None)

    parallel_tasks = [context.call_activity("F2", b) for b in work_batch]

    outputs = yield context.task_all(parallel_tasks)

    # Aggregate all N outputs and send the result to F3.
    total = sum(outputs)
    result = yield context.call_activity("F3", total)
    return result


@myApp.activity_trigger(input_name="input")
def F1(input) -> list:
    return list(range(1, 11))


@myApp.activity_trigger(input_name="item")
async def F2(item: int) -> int:
    return item * item


@myApp.activity_trigger(input_name="total")
def F3(total: int) -> str:
    return f"sum of squares: {total}"


# ----------------------------------------------------------------- human interaction


@myApp.orchestration_trigger(context_name="context")
def human_interaction(context: df.DurableOrchestrationContext):
    yield context.call_activity("RequestApproval", None)

    due_time = context.current_utc_datetime + timedelta(hours=72)
    durable_timeout_task = context.create_timer(due_time)

    approval_event_task = context.wait_for_external_event("ApprovalEvent")

    winning_task = yield context.task_any([approval_event_task, durable_timeout_task])

    if approval_event_task == winning_task:
        durable_timeout_task.cancel()
        result = yield context.call_activity("ProcessApproval", approval_event_task.result)
    else:
        result = yield context.call_activity("Escalate", None)
    return result


@myApp.activity_trigger(input_name="input")
def RequestApproval(input) -> str:
    return "approval requested"


@myApp.activity_trigger(input_name="approval")
def ProcessApproval(approval) -> str:
    # An event raised through the Python client arrives as JSON text (azure-functions-durable-python #295).
    if isinstance(approval, str):
        approval = json.loads(approval)
    return f"approved by {approval['by']}"


@myApp.activity_trigger(input_name="input")
def Escalate(input) -> str:
    return "escalated"


# ----------------------------------------------------------------- monitor (timer loop + continue-as-new)


@myApp.orchestration_trigger(context_name="context")
def monitor(context: df.DurableOrchestrationContext):
    job = context.get_input()
    job_id = job["jobId"]
    polling_interval = job["pollingInterval"]
    round_ = job.get("round", 0)

    job_status = yield context.call_activity("GetJobStatus", {"jobId": job_id, "round": round_})
    if job_status == "Completed":
        # Perform an action when a condition is met.
        yield context.call_activity("SendAlert", job_id)
        return f"{job_id} completed after {round_ + 1} checks"

    # Orchestration sleeps until this time.
    next_check = context.current_utc_datetime + timedelta(seconds=polling_interval)
    yield context.create_timer(next_check)

    context.continue_as_new({**job, "round": round_ + 1})


@myApp.activity_trigger(input_name="request")
def GetJobStatus(request: dict) -> str:
    return "Completed" if request["round"] >= 2 else "Running"


@myApp.activity_trigger(input_name="jobId")
def SendAlert(jobId: str) -> str:
    return f"alert for {jobId}"


# ----------------------------------------------------------------- automatic retry


_ATTEMPTS: dict[str, int] = {}
_ATTEMPTS_LOCK = threading.Lock()


@myApp.orchestration_trigger(context_name="context")
def retry_orchestrator(context: df.DurableOrchestrationContext):
    first_retry_interval_in_milliseconds = 5000
    max_number_of_attempts = 3

    retry_options = df.RetryOptions(first_retry_interval_in_milliseconds, max_number_of_attempts)

    result = yield context.call_activity_with_retry("FlakyFunction", retry_options, context.get_input())
    return result


@myApp.activity_trigger(input_name="job")
def FlakyFunction(job: dict) -> str:
    """Fails `job["failures"]` times per job key, then succeeds."""
    with _ATTEMPTS_LOCK:
        _ATTEMPTS[job["key"]] = attempt = _ATTEMPTS.get(job["key"], 0) + 1
    if attempt <= job["failures"]:
        raise RuntimeError(f"transient failure {attempt}")
    return f"succeeded on attempt {attempt}"


# ----------------------------------------------------------------- sub-orchestrations


@myApp.orchestration_trigger(context_name="context")
def provision_new_devices(context: df.DurableOrchestrationContext):
    devices = yield context.call_activity("GetNewDeviceIds")

    # Run multiple device provisioning flows in parallel
    provisioning_tasks = []
    id_ = 0
    for device_id in devices:
        child_id = f"{context.instance_id}:{id_}"
        provision_task = context.call_sub_orchestrator("device_provisioning", device_id, child_id)
        provisioning_tasks.append(provision_task)
        id_ += 1

    results = yield context.task_all(provisioning_tasks)
    return results


@myApp.orchestration_trigger(context_name="context")
def device_provisioning(context: df.DurableOrchestrationContext):
    device_id = context.get_input()

    # Step 1: Create an installation package in blob storage and return a SAS URL.
    sas_url = yield context.call_activity("CreateInstallationPackage", device_id)

    # Step 2: Notify the device that the installation package is ready.
    yield context.call_activity("SendPackageUrlToDevice", {"id": device_id, "url": sas_url})

    return f"{device_id} provisioned"


@myApp.activity_trigger(input_name="input")
def GetNewDeviceIds(input) -> list:
    return ["device-a", "device-b", "device-c"]


@myApp.activity_trigger(input_name="deviceId")
def CreateInstallationPackage(deviceId: str) -> str:
    return f"https://packages.example/{deviceId}.zip?sig=local"


@myApp.activity_trigger(input_name="message")
def SendPackageUrlToDevice(message: dict) -> bool:
    return message["url"].endswith("sig=local")


# ----------------------------------------------------------------- custom status


@myApp.orchestration_trigger(context_name="context")
def custom_status_orchestrator(context: df.DurableOrchestrationContext):
    # ...do work...
    yield context.call_activity("say_hello", "Amsterdam")

    # update the status of the orchestration with some arbitrary data
    custom_status = {"completionPercentage": 90.0, "status": "Updating database records"}
    context.set_custom_status(custom_status)

    # ...do more work...
    yield context.wait_for_external_event("Continue")
    context.set_custom_status({"completionPercentage": 100.0, "status": "Done"})
    return "done"


# ----------------------------------------------------------------- crash test: a slow chain


@myApp.orchestration_trigger(context_name="context")
def slow_chain(context: df.DurableOrchestrationContext):
    steps = context.get_input()["steps"]
    total = 0
    for step in range(steps):
        total += yield context.call_activity("slow_step", {"instance": context.instance_id, "step": step})
    timer = context.current_utc_datetime + timedelta(seconds=1)
    yield context.create_timer(timer)
    return {"total": total, "instance": context.instance_id}


@myApp.activity_trigger(input_name="work")
def slow_step(work: dict) -> int:
    """Records its start and end around a sleep, so the crash test can kill devhost mid-activity."""
    _record_run("start", work)
    time.sleep(float(os.environ.get("SAMPLE_SLOW_STEP_SECONDS", "0.3")))
    _record_run("end", work)
    return (work["step"] + 1) * 10


def _record_run(phase: str, work: dict) -> None:
    log_dir = os.environ.get("SAMPLE_ACTIVITY_LOG_DIR")
    if log_dir:
        with open(os.path.join(log_dir, "runs.log"), "a", encoding="utf-8") as log:
            log.write(f"{phase} {work['instance']} {work['step']}\n")
