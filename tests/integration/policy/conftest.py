"""Policy integration fixtures: the API suite's token minter (sandbox Entra, this suite's audience)."""

from tests.integration.foundation.conftest import mint  # noqa: F401 - re-exported as a fixture
