"""The application layer of a software request: both doors (Teams bot, HTTP API) and the workflow call this.

- `RequestService.submit_request / record_decision / cancel_request` (service.py), with one id scheme, one audit
  vocabulary (`Action`) and one set of input rules (rules.py);
- `RequestSteps` (steps.py): the workflow's steps, each idempotent;
- seams (ports.py): storage, the verified catalog, the device directory, the `Notifier` (the bot implements it)
  and the `Workflow` (workflow.py; the Durable adapter lives in orchestrations/client.py);
- `Progress` / `ProgressSink` / `RequestProgress` (progress.py).
"""

from greenlight.requests.errors import (
    AlreadyDecided,
    CatalogUnavailable,
    IdempotencyKeyReused,
    InvalidInput,
    NotAllowed,
    NotOpen,
    RequestError,
    RequestNotFound,
    UnknownPackage,
    WorkflowUnavailable,
)
from greenlight.requests.intake import Submission, SubmitRequest, request_id_for
from greenlight.requests.progress import Progress, ProgressSink, RequestProgress
from greenlight.requests.service import Action, DecideRequest, DecisionOutcome, RequestService
from greenlight.requests.steps import RequestSteps

__all__ = [
    "Action",
    "AlreadyDecided",
    "CatalogUnavailable",
    "DecideRequest",
    "DecisionOutcome",
    "IdempotencyKeyReused",
    "InvalidInput",
    "NotAllowed",
    "NotOpen",
    "Progress",
    "ProgressSink",
    "RequestError",
    "RequestNotFound",
    "RequestProgress",
    "RequestService",
    "RequestSteps",
    "Submission",
    "SubmitRequest",
    "UnknownPackage",
    "WorkflowUnavailable",
    "request_id_for",
]
