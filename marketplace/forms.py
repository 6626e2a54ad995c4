from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm

from .models import ApiToken, User
from .tasks import password_reset_send


class SignupForm(forms.Form):
    role = forms.ChoiceField(
        label="I am joining as",
        choices=[
            (User.Role.CREATOR, "A creator: I license my photos and videos"),
            (User.Role.BUYER, "A buyer: I license datasets to train models"),
        ],
        widget=forms.RadioSelect,
    )
    email = forms.EmailField(
        label="Email", max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    display_name = forms.CharField(
        label="Name shown to others",
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    country = forms.CharField(
        label="Country (two-letter code, creators)",
        max_length=2,
        required=False,
        help_text="Optional. Datasets report creator countries only in aggregate.",
        widget=forms.TextInput(attrs={"autocomplete": "country", "size": 2}),
    )
    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label="Password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean_email(self) -> str:
        # Whether an account has the address is for the email to say, never this form (no enumeration).
        return str(self.cleaned_data["email"]).strip().lower()

    def clean_country(self) -> str:
        country = self.cleaned_data["country"].strip().upper()
        if country and not (len(country) == 2 and country.isascii() and country.isalpha()):
            raise forms.ValidationError("Use a two-letter country code, such as FR or US.")
        return country

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        password1, password2 = cleaned.get("password1"), cleaned.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", "The two passwords differ.")
        elif password1:
            candidate = User(email=cleaned.get("email", ""), display_name=cleaned.get("display_name", ""))
            try:
                password_validation.validate_password(password1, candidate)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class LoginForm(AuthenticationForm):
    username = forms.EmailField(
        label="Email",
        max_length=254,
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )
    error_messages = {
        **AuthenticationForm.error_messages,
        # The same words for an account whose sign-up is not confirmed yet, so nobody learns it exists.
        "invalid_login": (
            "That email and password do not match an account. Check both and try again. "
            "Just signed up? Open the link in the email we sent you first."
        ),
    }


class QueuedPasswordResetForm(PasswordResetForm):
    """Password reset that only queues the address: the worker looks for accounts and sends the emails.

    The request does the same for an address with an account as for one without, so neither its answer nor
    its time tells them apart, and a slow mail server never holds it.
    """

    def save(self, *args: Any, **kwargs: Any) -> None:
        password_reset_send.delay_on_commit(email=self.cleaned_data["email"])


class ApiTokenCreateForm(forms.Form):
    EXPIRY_CHOICES = [("30", "30 days"), ("90", "90 days"), ("365", "1 year"), ("", "Never")]

    name = forms.CharField(
        label="Token name",
        max_length=64,
        help_text="Where it will be used, such as 'training cluster' or 'laptop'.",
    )
    expires_in_days = forms.TypedChoiceField(
        label="Expires after",
        choices=EXPIRY_CHOICES,
        coerce=int,
        empty_value=None,
        required=False,
        initial="90",
    )
    scopes = forms.MultipleChoiceField(
        label="What it may do",
        choices=ApiToken.Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=[ApiToken.Scope.READ, ApiToken.Scope.DOWNLOAD],
        help_text="Give a token only what its script needs: one that leaks can do no more than that.",
        error_messages={"required": "Choose at least one thing the token may do."},
    )


class CheckoutStartForm(forms.Form):
    """A tier's "Buy" button: which dataset and tier, and nothing about the price, which the server sets."""

    dataset = forms.SlugField(max_length=80)
    tier = forms.SlugField(max_length=40)
