from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import stripe_webhook, views
from .forms import LoginForm, QueuedPasswordResetForm
from .views import earnings, licenses, organizations, webhooks

account_patterns = [
    path("signup/", views.signup, name="signup"),
    path("signup/sent/", views.signup_sent, name="signup-sent"),
    path("signup/confirm/<uidb64>/<token>/", views.signup_confirm, name="signup-confirm"),
    path(
        "login/",
        auth_views.LoginView.as_view(authentication_form=LoginForm, redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password/reset/",
        auth_views.PasswordResetView.as_view(
            form_class=QueuedPasswordResetForm, extra_email_context={"site_name": settings.SITE_NAME}
        ),
        name="password_reset",
    ),
    path("password/reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"
    ),
    path("password/change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("password/change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("", views.account, name="account"),
    path("tokens/", views.api_tokens, name="api-tokens"),
    path("tokens/<int:token_id>/revoke/", views.api_token_revoke, name="api-token-revoke"),
    path("licenses/", licenses.license_list, name="license-list"),
    path("organizations/", organizations.organization_list, name="organization-list"),
    path(
        "organizations/<uuid:public_id>/invitations/",
        organizations.invitation_send,
        name="organization-invite",
    ),
    path(
        "organizations/<uuid:public_id>/invitations/<uuid:invitation_id>/cancel/",
        organizations.invitation_cancel,
        name="organization-invitation-cancel",
    ),
    path("invitations/<uuid:public_id>/", organizations.invitation, name="invitation"),
    path(
        "organizations/<uuid:public_id>/members/<int:user_id>/remove/",
        organizations.member_remove,
        name="organization-member-remove",
    ),
    path("licenses/<uuid:public_id>/", licenses.license_detail, name="license-detail"),
    path(
        "licenses/<uuid:public_id>/revoked-samples.txt",
        licenses.license_revoked_samples,
        name="license-revoked-samples",
    ),
    path("webhooks/", webhooks.webhook_list, name="webhook-list"),
    path("webhooks/<uuid:public_id>/", webhooks.webhook_detail, name="webhook-detail"),
    path("webhooks/<uuid:public_id>/active/", webhooks.webhook_set_active, name="webhook-set-active"),
    path("webhooks/<uuid:public_id>/delete/", webhooks.webhook_delete, name="webhook-delete"),
]

# Under /api/ these answer the API's JSON error format; a database outage answers 503 with Retry-After.
handler400 = "marketplace.views.errors.bad_request"
handler403 = "marketplace.views.errors.permission_denied"
handler404 = "marketplace.views.errors.page_not_found"
handler500 = "marketplace.views.errors.server_error"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("stripe/webhook/", stripe_webhook.stripe_webhook, name="stripe-webhook"),
    path("signing-key.pem", views.signing_key_pem, name="signing-key"),
    path("signing-keys.json", views.signing_keys_json, name="signing-keys"),
    path("signing-keys/<str:key_id>.pem", views.signing_key_by_id_pem, name="signing-key-by-id"),
    path("account/", include(account_patterns)),
    path("checkout/", licenses.checkout_start, name="checkout-start"),
    path("checkout/<uuid:public_id>/", licenses.checkout, name="checkout"),
    path("checkout/<uuid:public_id>/done/", licenses.checkout_done, name="checkout-done"),
    path("downloads/<str:token>", licenses.download, name="download"),
    path("certificates/<uuid:public_id>/", licenses.certificate, name="certificate"),
    path("certificates/<uuid:public_id>.json", licenses.certificate_json, name="certificate-json"),
    path("creator/earnings/", earnings.earnings, name="earnings"),
    path("creator/earnings.csv", earnings.earnings_csv, name="earnings-csv"),
    path("creator/earnings/stripe/connect/", earnings.stripe_connect, name="earnings-stripe-connect"),
    path("creator/earnings/stripe/return/", earnings.stripe_return, name="earnings-stripe-return"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file of its own: the page runs no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include("marketplace.api.urls")),
    path("", include("datasets.urls")),
    path("", include("licensing.urls")),
    path("", include("creators.urls")),
    path("admin/", admin.site.urls),
]
