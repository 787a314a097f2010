"""Publishing: a WinGet package version becomes an assigned Intune Win32 app, exactly once per
(package, version, architecture, scope). The durable adapter is orchestrations/publish.py."""

from greenlight.publishing.errors import TRANSIENT_CODES, PublishFailure, failure_from_text
from greenlight.publishing.progress import Progress, ProgressFactory, ProgressSink
from greenlight.publishing.publications import PublicationKey
from greenlight.publishing.service import Job, PublishingService

__all__ = [
    "TRANSIENT_CODES",
    "Job",
    "Progress",
    "ProgressFactory",
    "ProgressSink",
    "PublicationKey",
    "PublishFailure",
    "PublishingService",
    "failure_from_text",
]
