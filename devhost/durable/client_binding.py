"""The durable client binding JSON handed to `durable_client_input` functions (BindingHelper.cs, reference §5.1)."""

from __future__ import annotations

import json

WEBHOOK_PATH = "/runtime/webhooks/durabletask"
RPC_PATH = "/durabletask"
PLACEHOLDER = "INSTANCEID"  # BindingHelper.InstanceIdPlaceholder


def management_urls(origin: str, task_hub: str, instance_id: str = PLACEHOLDER) -> dict[str, str]:
    base = f"{origin}{WEBHOOK_PATH}/instances/{instance_id}"
    query = f"taskHub={task_hub}&connection=Storage"
    return {
        "id": instance_id,
        "statusQueryGetUri": f"{base}?{query}",
        "sendEventPostUri": f"{base}/raiseEvent/{{eventName}}?{query}",
        "terminatePostUri": f"{base}/terminate?reason={{text}}&{query}",
        "rewindPostUri": f"{base}/rewind?reason={{text}}&{query}",
        "purgeHistoryDeleteUri": f"{base}?{query}",
        "restartPostUri": f"{base}/restart?{query}",
        "suspendPostUri": f"{base}/suspend?reason={{text}}&{query}",
        "resumePostUri": f"{base}/resume?reason={{text}}&{query}",
    }


def client_binding(origin: str, task_hub: str) -> str:
    """`origin` is scheme://host:port of this devhost; the SDK only needs rpcBaseUrl, the URLs and the hub."""
    creation = f"{origin}{WEBHOOK_PATH}/orchestrators/{{functionName}}[/{{instanceId}}]"
    return json.dumps(
        {
            "taskHubName": task_hub,
            "connectionName": "Storage",
            "creationUrls": {
                "createNewInstancePostUri": creation,
                "createAndWaitOnNewInstancePostUri": f"{creation}?timeout={{timeoutInSeconds}}"
                "&pollingInterval={intervalInSeconds}",
            },
            "managementUrls": management_urls(origin, task_hub),
            "baseUrl": f"{origin}{WEBHOOK_PATH}",
            "requiredQueryStringParameters": "",
            "rpcBaseUrl": f"{origin}{RPC_PATH}/",
            "httpBaseUrl": None,
        }
    )
