"""The licensing part of the API: license terms, releases, consent, and reviewers' decisions (/api/v1/...)."""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, cast
from uuid import UUID

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.actor import signed_in_actor
from core.api_schema import error_responses
from creators.api import creator_of
from creators.models import CreatorProfile, MediaAsset

from . import selectors, services
from .models import Consent, LicenseTerms, Permission, Release, Use

MAX_ASSETS_PER_REQUEST = 1000
DECISIONS = (("approve", "Approve"), ("reject", "Reject"))

# Releases and consents belong to creators: every other account is answered 403.
CREATOR_ONLY = {403: "Not a creator account."}
REVIEWER_ONLY = {403: "Not a reviewer."}


@contextmanager
def _api_field_names(**names: str) -> Iterator[None]:
    """Services name some fields as the web forms do (`assets`); the API answers with its own names."""
    try:
        yield
    except ValidationError as error:
        if not hasattr(error, "error_dict"):
            raise
        raise ValidationError(
            {names.get(field, field): errors for field, errors in error.error_dict.items()}
        ) from error


def _creator(request: Request) -> CreatorProfile:
    try:
        return creator_of(request.user)
    except PermissionDenied as error:
        raise PermissionDenied("Only creator accounts have releases and consents.") from error


def _creator_asset_pks(creator: CreatorProfile, public_ids: Iterable[UUID]) -> list[int]:
    """The creator's own assets by public id; any other id, someone else's or none at all, is refused alike."""
    wanted = set(public_ids)
    found = dict(
        MediaAsset.objects.filter(creator=creator, public_id__in=wanted, erased_at__isnull=True).values_list(
            "public_id", "pk"
        )
    )
    unknown = sorted(str(public_id) for public_id in wanted - set(found))
    if unknown:
        raise ValidationError({"asset_ids": f"You have no assets with these ids: {', '.join(unknown)}."})
    return list(found.values())


def _with_asset_ids(releases: QuerySet[Release]) -> QuerySet[Release]:
    return releases.prefetch_related(
        Prefetch("assets", queryset=MediaAsset.objects.only("pk", "public_id").order_by("pk"))
    )


# --- License terms ---------------------------------------------------------------------------------------


class LicenseTermsVersionSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    text_sha256 = serializers.CharField()
    published_at = serializers.DateTimeField()


class LicenseTermsSerializer(serializers.ModelSerializer):
    current_version = serializers.SerializerMethodField()
    text_sha256 = serializers.SerializerMethodField()
    versions = serializers.SerializerMethodField()

    class Meta:
        model = LicenseTerms
        fields = (
            "slug", "name", "summary", "commercial", "likeness_generation", "uses", "current_version",
            "text_sha256", "versions",
        )  # fmt: skip

    def _versions(self, terms: LicenseTerms) -> list[Any]:
        return sorted(terms.versions.all(), key=lambda version: -version.version)

    def get_current_version(self, terms: LicenseTerms) -> int | None:
        versions = self._versions(terms)
        return versions[0].version if versions else None

    def get_text_sha256(self, terms: LicenseTerms) -> str | None:
        versions = self._versions(terms)
        return versions[0].text_sha256 if versions else None

    def get_versions(self, terms: LicenseTerms) -> list[Any]:
        return list(LicenseTermsVersionSerializer(self._versions(terms), many=True).data)


class LicenseTermsListView(APIView):
    """The license terms buyers license under and creators accept; public, like the terms themselves."""

    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="license_terms_list",
        responses={
            200: inline_serializer("LicenseTermsList", fields={"results": LicenseTermsSerializer(many=True)}),
            **error_responses(),
        },
    )
    def get(self, request: Request) -> Response:
        terms = selectors.license_terms_current()
        return Response({"results": LicenseTermsSerializer(terms, many=True).data})


# --- Releases --------------------------------------------------------------------------------------------


class ReleaseSerializer(serializers.ModelSerializer):
    """A release as its creator sees it. The person's self-identification is never part of it."""

    id = serializers.UUIDField(source="public_id", read_only=True)
    asset_ids = serializers.SerializerMethodField()
    capture_time_outside_shoot = serializers.SerializerMethodField()
    signing_url = serializers.SerializerMethodField()
    # Not an EmailField: a paper release may have no email, and "" is no valid email to the schema.
    email = serializers.CharField(read_only=True, help_text="The person's email; empty when not given.")

    class Meta:
        model = Release
        fields = (
            "id", "kind", "status", "method", "legal_name", "email", "property_description", "asset_ids",
            "shoot_start", "shoot_end", "capture_time_outside_shoot", "signed_name", "signed_on",
            "witness_name", "guardian_name", "signed_at", "wording_sha256", "biometric_consent",
            "biometric_retention_until", "biometric_ended_at", "rejection_reason", "review_note", "reviewed_at", "revoked_at",
            "revocation_reason", "created_at", "submitted_at", "signing_url",
        )  # fmt: skip
        read_only_fields = fields
        # Empty until a reviewer rejects it; the schema must allow the blank the model allows.
        extra_kwargs = {"rejection_reason": {"allow_blank": True}}

    def get_asset_ids(self, release: Release) -> list[str]:
        return [str(asset.public_id) for asset in release.assets.all()]

    def get_capture_time_outside_shoot(self, release: Release) -> list[str]:
        outside = set(release.capture_time_outside_shoot)
        return [str(asset.public_id) for asset in release.assets.all() if asset.pk in outside]

    def get_signing_url(self, release: Release) -> str | None:
        """The link to send the person, while an online release waits for their signature."""
        if not self.context.get("with_signing_url"):
            return None
        if release.method != Release.Method.ONLINE or release.status != Release.Status.AWAITING_SIGNATURE:
            return None
        path = reverse("licensing:release-sign", args=[services.release_signing_token(release=release)])
        return str(self.context["request"].build_absolute_uri(path))


class ReleaseCreateSerializer(serializers.Serializer):
    """An online release request (JSON), or a signed paper release with its scan (multipart, method=paper).

    It reads the types only: what a release must hold is the service's to say, as it is for the web form.
    """

    method = serializers.ChoiceField(choices=Release.Method.choices, default=Release.Method.ONLINE)
    kind = serializers.ChoiceField(choices=Release.Kind.choices)
    legal_name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    property_description = serializers.CharField(
        max_length=2000, required=False, allow_blank=True, default=""
    )
    asset_ids = serializers.ListField(
        child=serializers.UUIDField(), min_length=1, max_length=MAX_ASSETS_PER_REQUEST
    )
    shoot_start = serializers.DateField()
    shoot_end = serializers.DateField()
    # A paper release: what the person wrote on it, and its scan.
    signed_name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    date_of_birth = serializers.DateField(required=False, allow_null=True, default=None)
    address = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    witness_name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    guardian_name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    signed_on = serializers.DateField(required=False, allow_null=True, default=None)
    biometric_consent = serializers.BooleanField(required=False, default=False)
    biometric_retention_until = serializers.DateField(required=False, allow_null=True, default=None)
    scan = serializers.FileField(required=False, allow_null=True, default=None, max_length=1000)


class ReleaseListCreateView(APIView):
    """Your releases, newest first; or ask for a new one: an online request the person signs through
    `signing_url`, or (multipart, `method=paper`) a paper release signed already, with its `scan`."""

    parser_classes = [JSONParser, MultiPartParser]

    @extend_schema(
        operation_id="releases_list",
        responses={
            200: inline_serializer("ReleaseList", fields={"results": ReleaseSerializer(many=True)}),
            **error_responses(403, meanings=CREATOR_ONLY),
        },
    )
    def get(self, request: Request) -> Response:
        creator = _creator(request)
        releases = _with_asset_ids(selectors.releases_for_creator(creator=creator))
        return Response(
            {"results": ReleaseSerializer(releases, many=True, context={"request": request}).data}
        )

    @extend_schema(
        operation_id="releases_create",
        request=ReleaseCreateSerializer,
        responses={201: ReleaseSerializer, **error_responses(400, 403, 409, meanings=CREATOR_ONLY)},
    )
    def post(self, request: Request) -> Response:
        creator = _creator(request)
        serializer = ReleaseCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        subject = services.ReleaseSubject(
            kind=data["kind"],
            legal_name=data["legal_name"],
            email=data["email"],
            property_description=data["property_description"],
        )
        with _api_field_names(assets="asset_ids"):
            asset_pks = _creator_asset_pks(creator, data["asset_ids"])
            if data["method"] == Release.Method.PAPER:
                release = services.release_upload_paper(
                    creator=creator,
                    subject=subject,
                    asset_ids=asset_pks,
                    shoot_start=data["shoot_start"],
                    shoot_end=data["shoot_end"],
                    signer=services.Signer(
                        signed_name=data["signed_name"],
                        date_of_birth=data["date_of_birth"],
                        address=data["address"],
                        email=data["email"],
                        phone=data["phone"],
                        signature_png=b"",
                        witness_name=data["witness_name"],
                        witness_signature_png=b"",
                        guardian_name=data["guardian_name"],
                        biometric_consent=data["biometric_consent"],
                        biometric_retention_until=data["biometric_retention_until"],
                    ),
                    signed_on=data["signed_on"],
                    scan=data["scan"],
                    actor=signed_in_actor(request),
                )
            else:
                release = services.release_request_online(
                    creator=creator,
                    subject=subject,
                    asset_ids=asset_pks,
                    shoot_start=data["shoot_start"],
                    shoot_end=data["shoot_end"],
                    actor=signed_in_actor(request),
                )
        release = _with_asset_ids(Release.objects.filter(pk=release.pk)).get()
        body = ReleaseSerializer(release, context={"request": request, "with_signing_url": True}).data
        return Response(body, status=status.HTTP_201_CREATED)


def _own_release(request: Request, public_id: UUID) -> Release:
    """One of the caller's releases; another creator's is as absent as one that never existed."""
    creator = _creator(request)
    return get_object_or_404(_with_asset_ids(Release.objects.filter(creator=creator)), public_id=public_id)


class ReleaseDetailView(APIView):
    @extend_schema(
        operation_id="releases_retrieve",
        responses={200: ReleaseSerializer, **error_responses(403, 404, meanings=CREATOR_ONLY)},
    )
    def get(self, request: Request, public_id: UUID) -> Response:
        release = _own_release(request, public_id)
        context = {"request": request, "with_signing_url": True}
        return Response(ReleaseSerializer(release, context=context).data)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class ReleaseRevokeView(APIView):
    """Revoke a release (the person withdrew): every asset it covered stops being sellable at once."""

    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="releases_revoke",
        request=ReasonSerializer,
        responses={
            200: ReleaseSerializer,
            **error_responses(
                400, 403, 404, 409, meanings={**CREATOR_ONLY, 409: "Only an approved release can be revoked."}
            ),
        },
    )
    def post(self, request: Request, public_id: UUID) -> Response:
        release = _own_release(request, public_id)
        serializer = ReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.release_revoke(
            release=release, actor=signed_in_actor(request), reason=serializer.validated_data["reason"]
        )
        return Response(
            ReleaseSerializer(_own_release(request, public_id), context={"request": request}).data
        )


# --- Consent ---------------------------------------------------------------------------------------------


class UsePermissionSerializer(serializers.Serializer):
    permission = serializers.ChoiceField(choices=Permission.choices)
    constraint = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if data["permission"] == Permission.CONSTRAINED and not data["constraint"].strip():
            raise serializers.ValidationError({"constraint": "Describe the constraint in words."})
        return data


class UsesSerializer(serializers.Serializer):
    data_mining = UsePermissionSerializer()
    ai_inference = UsePermissionSerializer()
    ai_training = UsePermissionSerializer()
    ai_generative_training = UsePermissionSerializer()


class ConsentGiveSerializer(serializers.Serializer):
    asset_ids = serializers.ListField(
        child=serializers.UUIDField(), min_length=1, max_length=MAX_ASSETS_PER_REQUEST
    )
    uses = UsesSerializer()
    terms = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=LicenseTerms.objects.all(),
        many=True,
        allow_empty=False,
    )
    property_release_required = serializers.BooleanField(default=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        terms = cast(serializers.ManyRelatedField, self.fields["terms"])
        terms.error_messages["empty"] = "Accept at least one set of license terms."
        terms.child_relation.error_messages["does_not_exist"] = "There are no license terms called “{value}”."


class ConsentSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    asset_id = serializers.UUIDField(source="asset.public_id", read_only=True)
    uses = serializers.SerializerMethodField()
    terms = serializers.SerializerMethodField()
    terms_versions = serializers.SerializerMethodField(
        help_text="The exact text of each accepted tier: its version number, by slug."
    )
    replaces = serializers.UUIDField(
        source="replaces.public_id",
        read_only=True,
        allow_null=True,
        help_text="The active consent this one narrows (at once) or broadens (once approved).",
    )

    class Meta:
        model = Consent
        fields = (
            "id", "asset_id", "status", "uses", "terms", "terms_versions", "replaces",
            "property_release_required", "identifiable_people", "people_note", "given_at", "reviewed_at",
            "rejection_reason", "review_note", "withdrawn_at", "withdrawal_reason",
        )  # fmt: skip
        read_only_fields = fields
        # Empty unless a reviewer rejected it; the schema must allow the blank the model allows.
        extra_kwargs = {"rejection_reason": {"allow_blank": True}}

    def get_uses(self, consent: Consent) -> dict[str, dict[str, str]]:
        return {
            use: {"permission": consent.permission(use), "constraint": consent.constraint(use)}
            for use in Use.values
        }

    def get_terms(self, consent: Consent) -> list[str]:
        return sorted(terms.slug for terms in consent.accepted_terms.all())

    def get_terms_versions(self, consent: Consent) -> dict[str, int]:
        return {text.terms.slug: text.version for text in consent.accepted_terms_versions.all()}


class ConsentFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        Consent.Status.choices, required=False, help_text="Only consents in this state."
    )
    asset = serializers.UUIDField(required=False, help_text="Only the consents of this asset.")


class ConsentListCreateView(APIView):
    """Your consents (filters: `status`, `asset`), or give consent for many assets at once; each goes to review."""

    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="consents_list",
        parameters=[ConsentFilterSerializer],
        responses={
            200: inline_serializer("ConsentList", fields={"results": ConsentSerializer(many=True)}),
            **error_responses(400, 403, meanings=CREATOR_ONLY),
        },
    )
    def get(self, request: Request) -> Response:
        creator = _creator(request)
        consents = selectors.consents_for_creator(creator=creator)
        # A plain dict, not the QueryDict: DRF reads a blank value in a form-like input as "not given".
        filters = ConsentFilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        if "status" in filters.validated_data:
            consents = consents.filter(status=filters.validated_data["status"])
        if "asset" in filters.validated_data:
            consents = consents.filter(asset__public_id=filters.validated_data["asset"])
        return Response({"results": ConsentSerializer(consents, many=True).data})

    @extend_schema(
        operation_id="consents_create",
        request=ConsentGiveSerializer,
        responses={
            201: inline_serializer("ConsentsGiven", fields={"results": ConsentSerializer(many=True)}),
            **error_responses(400, 403, 409, meanings=CREATOR_ONLY),
        },
    )
    def post(self, request: Request) -> Response:
        creator = _creator(request)
        serializer = ConsentGiveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with _api_field_names(assets="asset_ids"):
            consents = services.consents_give(
                creator=creator,
                asset_ids=_creator_asset_pks(creator, data["asset_ids"]),
                permissions={
                    use: services.UsePermission(
                        permission=choice["permission"], constraint=choice["constraint"]
                    )
                    for use, choice in data["uses"].items()
                },
                terms=data["terms"],
                property_release_required=data["property_release_required"],
                actor=signed_in_actor(request),
            )
        given = selectors.consents_for_creator(creator=creator).filter(pk__in=[c.pk for c in consents])
        return Response({"results": ConsentSerializer(given, many=True).data}, status=status.HTTP_201_CREATED)


class ConsentWithdrawSerializer(ReasonSerializer):
    asset_ids = serializers.ListField(
        child=serializers.UUIDField(), min_length=1, max_length=MAX_ASSETS_PER_REQUEST
    )


class ConsentWithdrawView(APIView):
    """Withdraw consent for one asset or many; from this answer on, none of them is sold again."""

    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="consents_withdraw",
        request=ConsentWithdrawSerializer,
        responses={
            200: inline_serializer(
                "ConsentsWithdrawn",
                fields={
                    "withdrawn": serializers.IntegerField(help_text="Consents withdrawn by this request.")
                },
            ),
            **error_responses(400, 403, 409, meanings=CREATOR_ONLY),
        },
    )
    def post(self, request: Request) -> Response:
        creator = _creator(request)
        serializer = ConsentWithdrawSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with _api_field_names(assets="asset_ids"):
            withdrawn = services.consents_withdraw(
                asset_ids=_creator_asset_pks(creator, data["asset_ids"]),
                actor=signed_in_actor(request),
                reason=data["reason"],
            )
        return Response({"withdrawn": withdrawn})


# --- Review ----------------------------------------------------------------------------------------------


class IsReviewer(BasePermission):
    message = "Only reviewers can decide on releases and consents."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return bool(request.user and getattr(request.user, "is_reviewer", False))


class DecisionSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=DECISIONS)
    reason = serializers.CharField(max_length=30, required=False, allow_blank=True, default="")
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if data["decision"] == "reject" and not data["reason"]:
            raise serializers.ValidationError({"reason": "Choose a reason for the rejection."})
        return data


class ConsentDecisionSerializer(DecisionSerializer):
    identifiable_people = serializers.IntegerField(
        min_value=0, max_value=1000, required=False, allow_null=True
    )
    people_note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class ReleaseDecisionView(APIView):
    """Approve a submitted release, or reject it with a reason (`Release.RejectionReason`) and a note."""

    permission_classes = [IsReviewer]
    # An API token needs the review scope to decide (marketplace.api.authentication).
    token_scopes = {"POST": "review"}
    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="review_releases_decide",
        request=DecisionSerializer,
        responses={
            200: ReleaseSerializer,
            **error_responses(
                400, 403, 404, 409, meanings={**REVIEWER_ONLY, 409: "The release is not waiting for review."}
            ),
        },
    )
    def post(self, request: Request, public_id: UUID) -> Response:
        serializer = DecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        release = get_object_or_404(Release, public_id=public_id)
        if data["decision"] == "approve":
            services.release_approve(release=release, reviewer=signed_in_actor(request), note=data["note"])
        else:
            services.release_reject(
                release=release, reviewer=signed_in_actor(request), reason=data["reason"], note=data["note"]
            )
        release = _with_asset_ids(Release.objects.filter(pk=release.pk)).get()
        return Response(ReleaseSerializer(release, context={"request": request}).data)


class ConsentDecisionView(APIView):
    """Approve a pending consent with the number of identifiable people, or reject it with a reason."""

    permission_classes = [IsReviewer]
    # An API token needs the review scope to decide (marketplace.api.authentication).
    token_scopes = {"POST": "review"}
    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="review_consents_decide",
        request=ConsentDecisionSerializer,
        responses={
            200: ConsentSerializer,
            **error_responses(
                400, 403, 404, 409, meanings={**REVIEWER_ONLY, 409: "The consent is not waiting for review."}
            ),
        },
    )
    def post(self, request: Request, public_id: UUID) -> Response:
        serializer = ConsentDecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        consent = get_object_or_404(Consent, public_id=public_id)
        if data["decision"] == "approve":
            services.consent_approve(
                consent=consent,
                reviewer=signed_in_actor(request),
                identifiable_people=data.get("identifiable_people"),
                people_note=data["people_note"],
                note=data["note"],
            )
        else:
            services.consent_reject(
                consent=consent, reviewer=signed_in_actor(request), reason=data["reason"], note=data["note"]
            )
        consent = (
            Consent.objects.select_related("asset", "replaces")
            .prefetch_related("accepted_terms", "accepted_terms_versions__terms")
            .get(pk=consent.pk)
        )
        return Response(ConsentSerializer(consent).data)
