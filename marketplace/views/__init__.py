"""Pages of marketplace: accounts and tokens (`accounts`), checkout, licenses and downloads (`licenses`), the
orchestrator's probes (`health`) and the published signing keys (`signing_keys`)."""

from .accounts import (
    account,
    api_token_revoke,
    api_tokens,
    csrf_failure,
    home,
    signup,
    signup_confirm,
    signup_sent,
)
from .health import healthz, readyz
from .signing_keys import signing_key_by_id_pem, signing_key_pem, signing_keys_json

__all__ = [
    "account",
    "api_token_revoke",
    "api_tokens",
    "csrf_failure",
    "healthz",
    "home",
    "readyz",
    "signing_key_by_id_pem",
    "signing_key_pem",
    "signing_keys_json",
    "signup",
    "signup_confirm",
    "signup_sent",
]
