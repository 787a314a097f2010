"""Start-up check: the approver and admin groups Greenlight trusts must be role-assignable.

Greenlight's Graph identity holds GroupMember.ReadWrite.All (Microsoft's only application permission for adding
members to the per-app assignment groups), which lets it change the membership of any ordinary group in the
tenant, including the groups that decide who may approve. Membership of a role-assignable group
(`isAssignableToRole`) cannot be changed with that permission (it needs RoleManagement.ReadWrite.Directory and a
Privileged Role Administrator), so a compromised app cannot make itself an approver. docs/DEPLOY.md creates the
groups that way; this check warns when a configured group is not.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote

from greenlight.graph.client import GraphClient
from greenlight.graph.errors import GraphError
from greenlight.graph.urls import DIRECTORY_API

log = logging.getLogger("greenlight.graph.role_groups")

# The exact text the operations alert "unprotected approver group" matches (infra/bicep/modules/alerts.bicep).
UNPROTECTED_MESSAGE = "trusted group is not role-assignable"


@dataclass(frozen=True)
class GroupFinding:
    group_id: str
    purpose: str  # "approver" or "admin"
    problem: str  # "not role-assignable" or why it could not be read


async def check_trusted_groups(
    graph: GraphClient, approver_group_ids: Iterable[str], admin_group_ids: Iterable[str]
) -> list[GroupFinding]:
    """One finding per configured group that is not role-assignable or cannot be read; each is logged."""
    findings: list[GroupFinding] = []
    wanted = [(g, "approver") for g in approver_group_ids] + [(g, "admin") for g in admin_group_ids]
    for group_id, purpose in wanted:
        try:
            group = await graph.get(
                f"groups/{quote(group_id)}", params={"$select": "id,isAssignableToRole"}, version=DIRECTORY_API
            )
        except GraphError as error:
            findings.append(GroupFinding(group_id, purpose, f"could not be read ({type(error).__name__})"))
            log.warning("%s group %s could not be checked: %s", purpose, group_id, type(error).__name__)
            continue
        if group.get("isAssignableToRole") is not True:
            findings.append(GroupFinding(group_id, purpose, "not role-assignable"))
            log.warning(
                "%s: %s group %s; its membership can be changed by any app holding GroupMember.ReadWrite.All "
                "(recreate it with isAssignableToRole=true, docs/DEPLOY.md)",
                UNPROTECTED_MESSAGE,
                purpose,
                group_id,
            )
    return findings
