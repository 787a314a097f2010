"""GET /api/health"""

import json

import azure.functions as func

from functions import blueprint
from greenlight import __version__


@blueprint.route(route="health", methods=["GET"])
def health(req: func.HttpRequest) -> func.HttpResponse:
    body = {"status": "ok", "version": __version__}
    return func.HttpResponse(json.dumps(body), status_code=200, mimetype="application/json")
