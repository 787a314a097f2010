"""Typed errors of the durable runtime; the HTTP layer maps each to a status code."""


class DurableError(Exception):
    """Base class."""


class InstanceNotFound(DurableError):
    def __init__(self, instance_id: str) -> None:
        super().__init__(f"No orchestration instance with id '{instance_id}' was found.")
        self.instance_id = instance_id


class InstanceAlreadyExists(DurableError):
    def __init__(self, instance_id: str, status: str) -> None:
        super().__init__(f"An orchestration instance with id '{instance_id}' already exists and is {status}.")


class InstanceFinished(DurableError):
    """The instance is in a terminal state (raise event / terminate answer 410 Gone)."""

    def __init__(self, instance_id: str, status: str) -> None:
        super().__init__(f"The orchestration instance '{instance_id}' is {status}.")


class UnknownOrchestrator(DurableError):
    def __init__(self, name: str) -> None:
        super().__init__(f"The function '{name}' doesn't exist, is disabled, or is not an orchestrator function.")


class InvalidRequest(DurableError):
    """Bad input to the management API (400)."""


class NonDeterministicOrchestration(DurableError):
    """A replay scheduled something different from what history recorded."""
