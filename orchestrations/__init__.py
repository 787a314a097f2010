"""The Durable Functions blueprint: orchestrators (deterministic, no I/O) and thin activities."""

import azure.durable_functions as df

blueprint = df.Blueprint()
