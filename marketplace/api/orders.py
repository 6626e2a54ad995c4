"""The buyer's part of the API: orders (checkout), licenses, their files and certificates (/api/v1/...)."""

from typing import Any, cast
from uuid import UUID

from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_schema import error_responses
from datasets.models import Dataset
from marketplace import payments, selectors
from marketplace.downloads import download_links
from marketplace.models import ApiToken, LicenseGrant, Order, User
from marketplace.services import orders


class OrderCreateSerializer(serializers.Serializer):
    """What a buyer chooses; the price is never among it."""

    dataset = serializers.SlugField(
        max_length=80, help_text="The dataset's slug; its version on sale is bought."
    )
    tier = serializers.SlugField(max_length=40, help_text="The license tier's slug, e.g. research.")


class OrderSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    dataset = serializers.CharField(source="version.dataset.slug", read_only=True)
    version = serializers.IntegerField(source="version.number", read_only=True)
    tier = serializers.CharField(source="terms_version.terms.slug", read_only=True)
    terms_version = serializers.IntegerField(source="terms_version.version", read_only=True)
    license = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields: tuple[str, ...] = ("id", "dataset", "version", "tier", "terms_version", "status", "method",
                                   "amount_cents", "currency", "created_at", "paid_at", "fulfilled_at",
                                   "license")  # fmt: skip
        read_only_fields = fields

    def get_license(self, order: Order) -> str | None:
        grant = getattr(order, "grant", None) if order.status != Order.Status.PENDING else None
        return str(grant.public_id) if grant is not None else None


class LicenseSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    dataset = serializers.CharField(source="version.dataset.slug", read_only=True)
    dataset_title = serializers.CharField(source="version.dataset.title", read_only=True)
    version = serializers.IntegerField(source="version.number", read_only=True)
    version_status = serializers.CharField(source="version.status", read_only=True)
    tier = serializers.CharField(source="terms_version.terms.slug", read_only=True)
    terms_version = serializers.IntegerField(source="terms_version.version", read_only=True)
    licensee = serializers.CharField(source="organization.name", read_only=True)
    certificate_url = serializers.SerializerMethodField()

    class Meta:
        model = LicenseGrant
        fields = ("id", "dataset", "dataset_title", "version", "version_status", "tier", "terms_version",
                  "licensee", "uses", "status", "suspension_reason", "granted_at", "certificate_url")  # fmt: skip
        read_only_fields = fields

    def get_certificate_url(self, grant: LicenseGrant) -> str:
        return self.context["request"].build_absolute_uri(reverse("certificate-json", args=[grant.public_id]))


class OrderCreatedSerializer(OrderSerializer):
    """A new order and where to pay for it (schema only)."""

    checkout_url = serializers.URLField(
        read_only=True, help_text="Open it to pay: the test checkout, or Stripe Checkout when configured."
    )

    class Meta(OrderSerializer.Meta):
        fields = (*OrderSerializer.Meta.fields, "checkout_url")
        read_only_fields = fields


class CertificateSerializer(serializers.Serializer):
    """The signed license certificate file (schema only)."""

    algorithm = serializers.CharField(help_text='Always "Ed25519".')
    certificate = serializers.DictField(
        help_text="The certificate, as `signed_text` parses: licensee, dataset version, terms version, "
        "permitted uses, date, verify URL."
    )
    signed_text = serializers.CharField(help_text="The exact JSON text the signature covers.")
    signature = serializers.CharField(help_text="Base64; check it with the site's published public key.")
    key_id = serializers.CharField(
        allow_null=True,
        help_text="Which of the site's published keys (GET /signing-keys.json) the signature verifies against; "
        "null when none does.",
    )
    key_status = serializers.ChoiceField(
        choices=["current", "retired"],
        allow_null=True,
        help_text="Whether that key is the one the site signs with now, or one it used before a rotation.",
    )
    public_key_url = serializers.URLField(allow_null=True, help_text="That key, as PEM.")


class FileLinkSerializer(serializers.Serializer):
    path = serializers.CharField(help_text="The file's path in the bundle, as SHA256SUMS lists it.")
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    url = serializers.URLField(help_text="A link that expires at expires_at (15 minutes at most).")
    expires_at = serializers.DateTimeField()


class OrderListView(APIView):
    """Your orders (GET), or a new one (POST): the answer's `checkout_url` is where to pay."""

    @extend_schema(
        operation_id="orders_list",
        responses={200: OrderSerializer(many=True), **error_responses()},
    )
    def get(self, request: Request) -> Response:
        found = selectors.orders_of_buyer(user=request.user)  # type: ignore[arg-type]
        return Response(OrderSerializer(found[:200], many=True).data)

    @extend_schema(
        operation_id="orders_create",
        request=OrderCreateSerializer,
        responses={
            201: OrderCreatedSerializer,
            **error_responses(
                400,
                403,
                409,
                meanings={
                    409: "The version, or this tier of it, cannot be bought now (e.g. licensed exclusively)."
                },
            ),
        },
    )
    def post(self, request: Request) -> Response:
        chosen = OrderCreateSerializer(data=request.data)
        chosen.is_valid(raise_exception=True)
        dataset = Dataset.objects.filter(slug=chosen.validated_data["dataset"], is_public=True).first()
        if dataset is None:
            raise serializers.ValidationError({"dataset": "No dataset on sale has this slug."})
        buyer = cast(User, request.user)  # IsAuthenticated, the default permission, let it through
        order = orders.order_create(buyer=buyer, dataset=dataset, terms_slug=chosen.validated_data["tier"])
        body: dict[str, Any] = dict(OrderSerializer(order).data)
        body["checkout_url"] = _checkout_url(request, order)
        return Response(body, status=status.HTTP_201_CREATED)


def _checkout_url(request: Request, order: Order) -> str:
    if order.method == Order.Method.TEST:
        return request.build_absolute_uri(reverse("checkout", args=[order.public_id]))
    return payments.checkout_session_create(
        order=order,
        success_url=request.build_absolute_uri(reverse("checkout-done", args=[order.public_id])),
        cancel_url=request.build_absolute_uri(reverse("datasets:detail", args=[order.version.dataset.slug])),
    )


class OrderDetailView(APIView):
    @extend_schema(operation_id="orders_retrieve", responses={200: OrderSerializer, **error_responses(404)})
    def get(self, request: Request, public_id: UUID) -> Response:
        order = get_object_or_404(selectors.orders_of_buyer(user=request.user), public_id=public_id)  # type: ignore[arg-type]
        return Response(OrderSerializer(order).data)


class LicenseListView(APIView):
    """The licenses held by your organizations."""

    @extend_schema(
        operation_id="licenses_list", responses={200: LicenseSerializer(many=True), **error_responses()}
    )
    def get(self, request: Request) -> Response:
        grants = selectors.grants_of_member(user=request.user)  # type: ignore[arg-type]
        return Response(LicenseSerializer(grants[:500], many=True, context={"request": request}).data)


def _grant(request: Request, public_id: UUID) -> LicenseGrant:
    grant = selectors.grant_of_member(user=request.user, public_id=public_id)  # type: ignore[arg-type]
    if grant is None:
        raise Http404
    return grant


class LicenseDetailView(APIView):
    @extend_schema(
        operation_id="licenses_retrieve", responses={200: LicenseSerializer, **error_responses(404)}
    )
    def get(self, request: Request, public_id: UUID) -> Response:
        return Response(LicenseSerializer(_grant(request, public_id), context={"request": request}).data)


class LicenseFilesView(APIView):
    """Every file of the licensed bundle with a download link; 403 while the license is suspended."""

    token_scopes = {"GET": ApiToken.Scope.DOWNLOAD}

    @extend_schema(
        operation_id="licenses_files_list",
        responses={
            200: FileLinkSerializer(many=True),
            **error_responses(403, 404, meanings={403: "The license is suspended (refunded or disputed)."}),
        },
    )
    def get(self, request: Request, public_id: UUID) -> Response:
        grant = _grant(request, public_id)
        if grant.status != LicenseGrant.Status.ACTIVE:
            raise PermissionDenied(f"This license is suspended: {grant.suspension_reason or 'see its page'}.")
        links = download_links(
            grant=grant, files=selectors.grant_files(grant=grant), absolute=request.build_absolute_uri
        )
        return Response(FileLinkSerializer(links, many=True).data)


class LicenseCertificateView(APIView):
    """The signed certificate: verify `signature` (Ed25519, base64) over the UTF-8 bytes of `signed_text`."""

    @extend_schema(
        operation_id="licenses_certificate_retrieve",
        responses={
            # JSON whatever the Accept header: the view answers the stored file, not through a renderer.
            (200, "application/json"): OpenApiResponse(CertificateSerializer),
            **error_responses(404),
        },
    )
    def get(self, request: Request, public_id: UUID) -> HttpResponse:
        return HttpResponse(
            selectors.certificate_document(_grant(request, public_id)), content_type="application/json"
        )
