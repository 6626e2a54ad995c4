"""Every write of marketplace: accounts and tokens (`accounts`), organizations (`organizations`), orders and
licenses (`orders`)."""

from .accounts import (
    API_TOKEN_TOUCH_INTERVAL,
    api_token_create,
    api_token_revoke,
    api_token_touch,
    password_reset_send,
    reviewer_grant,
    user_confirm,
    user_create,
    user_signup,
)

__all__ = [
    "API_TOKEN_TOUCH_INTERVAL",
    "api_token_create",
    "api_token_revoke",
    "api_token_touch",
    "password_reset_send",
    "reviewer_grant",
    "user_confirm",
    "user_create",
    "user_signup",
]
