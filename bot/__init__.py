"""The Teams bot blueprint: /api/messages, the activity handler, cards, proactive messages.

The only package that imports botbuilder.
"""

import azure.durable_functions as df

blueprint = df.Blueprint()
