"""The HTTP API blueprint. Routes stay thin: validate, call greenlight, answer.

Every route uses `functions.auth.api_endpoint` (bearer token, roles, problem+json, correlation id, body limit).
"""

import azure.durable_functions as df

blueprint = df.Blueprint()

from functions import runtime  # noqa: E402

runtime.load()  # read and check the settings at start; an invalid setting is logged once, naming the variable

# Importing a route module registers its routes (catalog: WINGET's /api/catalog routes).
from functions import audit_api, catalog, fallback, health, openapi, policies_api, requests_api  # noqa: E402,F401
