"""Pages of marketplace: accounts and tokens (`accounts`), checkout, licenses and downloads (`licenses`)."""

from .accounts import (
    account,
    api_token_revoke,
    api_tokens,
    csrf_failure,
    healthz,
    home,
    signing_key_pem,
    signup,
)

__all__ = [
    "account",
    "api_token_revoke",
    "api_tokens",
    "csrf_failure",
    "healthz",
    "home",
    "signing_key_pem",
    "signup",
]
