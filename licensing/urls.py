from django.urls import path

from . import api
from .views import creator, review, signing, terms

app_name = "licensing"

urlpatterns = [
    path("licenses/<slug:slug>/<int:version>/", terms.terms_version, name="terms"),
    # Creators: releases and consent.
    path("creator/releases/", creator.release_list, name="release-list"),
    path("creator/releases/new/", creator.release_new, name="release-new"),
    path("creator/releases/<uuid:public_id>/", creator.release_detail, name="release-detail"),
    path(
        "creator/releases/<uuid:public_id>/renew-link/", creator.release_renew_link, name="release-renew-link"
    ),
    path("creator/releases/<uuid:public_id>/resubmit/", creator.release_resubmit, name="release-resubmit"),
    path("creator/releases/<uuid:public_id>/revoke/", creator.release_revoke, name="release-revoke"),
    path("creator/releases/<uuid:public_id>/erase/", creator.release_erase, name="release-erase"),
    path("releases/<uuid:public_id>/files/<str:field>", creator.release_file, name="release-file"),
    path("creator/consent/", creator.consent_manage, name="consent-manage"),
    path("creator/consent/give/", creator.consent_give, name="consent-give"),
    path("creator/consent/withdraw/", creator.consent_withdraw, name="consent-withdraw"),
    path("creator/consent/erase/", creator.assets_erase, name="assets-erase"),
    path("creator/terms/", creator.terms_updates, name="terms-updates"),
    # The person named in a release, through the link the creator sent them.
    path("sign/done/", signing.release_signed, name="release-signed"),
    path("sign/<str:token>/", signing.release_sign, name="release-sign"),
    # Reviewers.
    path("review/", review.queue, name="review-queue"),
    path("review/releases/<uuid:public_id>/", review.release_review, name="review-release"),
    path("review/consents/<uuid:public_id>/", review.consent_review, name="review-consent"),
    path("review/assets/<uuid:public_id>/takedown/", review.asset_takedown, name="review-takedown"),
    path("review/audit/", review.audit_log, name="audit-log"),
    # API.
    path("api/v1/license-terms/", api.LicenseTermsListView.as_view(), name="api-license-terms"),
    path("api/v1/releases/", api.ReleaseListCreateView.as_view(), name="api-releases"),
    path("api/v1/releases/<uuid:public_id>/", api.ReleaseDetailView.as_view(), name="api-release"),
    path(
        "api/v1/releases/<uuid:public_id>/revoke/", api.ReleaseRevokeView.as_view(), name="api-release-revoke"
    ),
    path("api/v1/consents/", api.ConsentListCreateView.as_view(), name="api-consents"),
    path("api/v1/consents/withdraw/", api.ConsentWithdrawView.as_view(), name="api-consents-withdraw"),
    path(
        "api/v1/review/releases/<uuid:public_id>/decision/",
        api.ReleaseDecisionView.as_view(),
        name="api-review-release",
    ),
    path(
        "api/v1/review/consents/<uuid:public_id>/decision/",
        api.ConsentDecisionView.as_view(),
        name="api-review-consent",
    ),
]
