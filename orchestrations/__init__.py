"""The Durable Functions blueprint: orchestrators (deterministic, no I/O) and thin activities."""

import azure.durable_functions as df

blueprint = df.Blueprint()

# Each module registers its orchestrators and activities on `blueprint` when imported (kept at the end).
from orchestrations import publish  # noqa: E402, F401
