from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.template import loader

from .models import ApiToken, User
from .tasks import email_send


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
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("An account with this email address already exists. Log in instead?")
        return email

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
        "invalid_login": "That email and password do not match an account. Check both and try again.",
    }


class QueuedPasswordResetForm(PasswordResetForm):
    """Password reset whose email goes out through the worker, so a slow mail server never holds a request."""

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        subject = "".join(loader.render_to_string(subject_template_name, context).splitlines())
        body = loader.render_to_string(email_template_name, context)
        html_body = (
            loader.render_to_string(html_email_template_name, context) if html_email_template_name else None
        )
        email_send.delay_on_commit(subject=subject, body=body, to=[to_email], html_body=html_body)


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
