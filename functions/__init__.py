"""The HTTP API blueprint. Routes stay thin: validate, call greenlight, answer."""

import azure.durable_functions as df

blueprint = df.Blueprint()

from functions import health  # noqa: E402,F401  (registers routes on the blueprint)
