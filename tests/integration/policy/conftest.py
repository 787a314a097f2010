"""Policy integration fixtures: the foundation suite's storage account and token minter, re-exported."""

from tests.integration.foundation.conftest import account, mint  # noqa: F401 - re-exported as fixtures
