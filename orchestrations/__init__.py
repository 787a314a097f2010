"""The Durable Functions blueprint: orchestrators (deterministic, no I/O) and thin activities."""

import azure.durable_functions as df

blueprint = df.Blueprint()

# Importing a module registers its orchestrators and activities on `blueprint` (kept at the end).
from orchestrations import publish, request, request_activities  # noqa: E402, F401
