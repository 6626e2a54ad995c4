from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from core.forms import add_service_errors
from marketplace import selectors, services
from marketplace.forms import ApiTokenCreateForm, SignupForm
from marketplace.models import ApiToken

# The session key under which a freshly created token's key waits to be shown, once.
NEW_TOKEN_SESSION_KEY = "new_api_token"  # noqa: S105 (a session key name, not a secret)
# The address a sign-up's email went to, for the page that says to look for it.
SIGNUP_EMAIL_SESSION_KEY = "signup_email"


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form sent without a valid CSRF token: a page that says what to do, not Django's debugging text."""
    return render(request, "403_csrf.html", status=403)


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "marketplace/home.html")


def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    form = SignupForm(
        request.POST if request.method == "POST" else None, initial={"role": request.GET.get("role", "")}
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            email = services.user_signup(
                email=data["email"],
                password=data["password1"],
                role=data["role"],
                display_name=data["display_name"],
                country=data["country"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            # The same answer whether or not the address has an account: the email tells its owner which.
            request.session[SIGNUP_EMAIL_SESSION_KEY] = email
            return redirect("signup-sent")
    return render(request, "registration/signup.html", {"form": form}, status=400 if form.errors else 200)


def signup_sent(request: HttpRequest) -> HttpResponse:
    return render(
        request, "registration/signup_sent.html", {"email": request.session.get(SIGNUP_EMAIL_SESSION_KEY)}
    )


def signup_confirm(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    """The link of the sign-up email: the account opens and its owner is logged in."""
    try:
        user = services.user_confirm(uidb64=uidb64, token=token)
    except ValidationError:
        return render(request, "registration/signup_confirm_invalid.html", status=400)
    request.session.pop(SIGNUP_EMAIL_SESSION_KEY, None)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    messages.success(
        request, f"Welcome, {user.get_short_name()}. Your {user.get_role_display()} account is ready."
    )
    return redirect("home")


@login_required
def account(request: HttpRequest) -> HttpResponse:
    return render(request, "marketplace/account.html")


@login_required
def api_tokens(request: HttpRequest) -> HttpResponse:
    form = ApiTokenCreateForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            token, key = services.api_token_create(
                user=request.user,  # type: ignore[arg-type]
                name=form.cleaned_data["name"],
                expires_in_days=form.cleaned_data["expires_in_days"],
                scopes=form.cleaned_data["scopes"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            request.session[NEW_TOKEN_SESSION_KEY] = {"id": token.pk, "key": key}
            return redirect("api-tokens")
    context = {
        "form": form,
        "tokens": selectors.api_tokens_of_user(user=request.user),  # type: ignore[arg-type]
        "new_token": request.session.pop(NEW_TOKEN_SESSION_KEY, None),
    }
    return render(request, "marketplace/api_tokens.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def api_token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    try:
        token = services.api_token_revoke(user=request.user, token_id=token_id)  # type: ignore[arg-type]
    except ApiToken.DoesNotExist:
        messages.error(request, "That token does not exist or is not yours.")
    else:
        messages.success(request, f"Token “{token.name}” is revoked; requests that send it are now refused.")
    return redirect("api-tokens")
