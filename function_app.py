"""Azure Functions entry point: one DFApp that registers the three adapter blueprints.

Everything interesting lives in `greenlight/`; the blueprints only translate between the Functions
runtime and the library.
"""

import azure.durable_functions as df
import azure.functions as func

import services
from bot import blueprint as bot_blueprint
from bot.runtime import teams_notifier
from functions import blueprint as api_blueprint
from orchestrations import blueprint as durable_blueprint

services.use_notifier(teams_notifier)  # the workflow tells people through the Teams bot

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
app.register_functions(api_blueprint)
app.register_functions(bot_blueprint)
app.register_functions(durable_blueprint)
