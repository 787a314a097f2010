"""The Teams bot blueprint: /api/messages, the activity handler, cards, proactive messages.

The only package that imports botbuilder. Importing it registers the route; nothing is configured until the
first activity (or `bot.runtime.get_runtime()`), except that outside GREENLIGHT_ENV=local — `azure`, or unset,
which means azure — the app refuses to load without a bot app id (see `bot.settings`).
"""

import azure.durable_functions as df

from greenlight.settings import is_local

blueprint = df.Blueprint()

if not is_local():
    # Fail the host's indexing (the app does not start) instead of serving an endpoint without authentication.
    from bot.settings import BotSettings

    BotSettings.from_env()

from bot import endpoint  # noqa: E402,F401  (registers /api/messages on the blueprint)
