"""The signed tokens of links the site emails."""

from typing import Any

from django.contrib.auth.tokens import PasswordResetTokenGenerator


class AccountConfirmationTokenGenerator(PasswordResetTokenGenerator):
    """The token of a sign-up's confirmation link, valid for settings.PASSWORD_RESET_TIMEOUT.

    It works once: confirming sets email_confirmed_at, which the token signs. A later sign-up with the same
    address sets a new password hash, so only the newest email's link works.
    """

    key_salt = "marketplace.tokens.AccountConfirmationTokenGenerator"

    def _make_hash_value(self, user: Any, timestamp: int) -> str:
        return f"{user.pk}{user.password}{user.email}{user.email_confirmed_at}{user.is_active}{timestamp}"


account_confirmation_token = AccountConfirmationTokenGenerator()
