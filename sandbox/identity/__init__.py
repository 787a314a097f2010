"""Entra ID stand-in: OpenID metadata, JWKS, a v2.0 client-credentials token endpoint, and user-token minting.

Issuer of every token: `{sandbox}/entra/{tenant}/v2.0`. MSAL uses it as authority `{sandbox}/entra/{tenant}` with
instance discovery off and the sandbox CA as `verify=`.
"""

from sandbox.identity.app import create_app
from sandbox.identity.clients import DEFAULT_CLIENT_SECRET, register_client_certificate
from sandbox.identity.keys import rotate_signing_key
from sandbox.identity.tokens import issuer_for, mint_user_token

__all__ = [
    "DEFAULT_CLIENT_SECRET",
    "create_app",
    "issuer_for",
    "mint_user_token",
    "register_client_certificate",
    "rotate_signing_key",
]
