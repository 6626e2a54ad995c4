"""Revocations for buyers: the feed of samples to delete (/api/v1/revocations/), and the webhook endpoints
that are posted each notice, with their delivery logs (/api/v1/webhooks/)."""

import datetime
from typing import cast
from uuid import UUID

from django.http import Http404
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_schema import error_responses
from marketplace import selectors
from marketplace.models import Organization, User, WebhookDelivery, WebhookEndpoint
from marketplace.services import revocations


class RevocationSerializer(serializers.Serializer):
    """A notice: samples of a licensed version to delete from every copy (see `revocation_notice_document`)."""

    id = serializers.UUIDField(help_text="The notice's id.")
    license = serializers.UUIDField(help_text="The license (grant) whose version holds the samples.")
    dataset = serializers.SlugField()
    version = serializers.IntegerField()
    bundle = serializers.CharField(help_text="The bundle's folder name, `<dataset>-v<version>`.")
    sample_keys = serializers.ListField(child=serializers.CharField(), help_text="The keys of the samples.")
    reason = serializers.CharField()
    withdrawn_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField(help_text="When the notice was made: what `since` compares.")
    replacement_version = serializers.IntegerField(
        allow_null=True, help_text="The version without these samples, given to the licensee at no charge."
    )


class RevocationFeedSerializer(serializers.Serializer):
    results = RevocationSerializer(many=True)
    next_since = serializers.DateTimeField(
        allow_null=True, help_text="Pass it as `since` for the next page; null when this page is empty."
    )


def _since(request: Request) -> datetime.datetime | None:
    raw = request.query_params.get("since")
    if raw is None:
        return None
    try:
        moment = parse_datetime(raw)
        if moment is None and (day := parse_date(raw)) is not None:
            moment = datetime.datetime.combine(day, datetime.time())
        if moment is not None:
            # In UTC, as it is compared; a moment at the very edge of the calendar cannot be, and is refused.
            aware = moment if timezone.is_aware(moment) else timezone.make_aware(moment, datetime.UTC)
            return aware.astimezone(datetime.UTC)
    except (ValueError, OverflowError):
        pass
    raise serializers.ValidationError(
        {"since": "Use an ISO 8601 date and time, such as 2026-01-31T12:00:00Z."}
    )


class RevocationFeedView(APIView):
    """Samples your organizations' licenses cover whose consent was withdrawn: delete them from your copies.

    Oldest first, 500 at most per page; ask again with `since` set to `next_since` until `results` is empty.
    """

    @extend_schema(
        operation_id="revocations_list",
        parameters=[
            OpenApiParameter(
                "since",
                OpenApiTypes.DATETIME,
                description="Only notices made after this moment (ISO 8601); all of them without it.",
            )
        ],
        responses={200: RevocationFeedSerializer, **error_responses(400)},
    )
    def get(self, request: Request) -> Response:
        page = selectors.revocation_feed_page(user=cast(User, request.user), since=_since(request))
        documents = [selectors.revocation_notice_document(notice) for notice in page]
        return Response(
            {"results": documents, "next_since": documents[-1]["created_at"] if documents else None}
        )


class WebhookEndpointSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    organization = serializers.UUIDField(source="organization.public_id", read_only=True)

    class Meta:
        model = WebhookEndpoint
        fields: tuple[str, ...] = ("id", "url", "organization", "is_active", "created_at")
        read_only_fields = fields


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(
        read_only=True,
        help_text="Verifies the Datamarket-Signature header of each notice. Shown only in this answer.",
    )

    class Meta(WebhookEndpointSerializer.Meta):
        fields = (*WebhookEndpointSerializer.Meta.fields, "secret")
        read_only_fields = fields


class WebhookEndpointCreateSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=500, help_text="https:// (plain http only to localhost).")
    organization = serializers.UUIDField(
        required=False, help_text="One of your organizations; your own when left out. You must own it."
    )


class WebhookDeliverySerializer(serializers.ModelSerializer):
    notice = serializers.UUIDField(source="notice.public_id", read_only=True)
    license = serializers.UUIDField(source="notice.grant.public_id", read_only=True)
    bundle = serializers.CharField(source="notice.revocation.version.name", read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = ("notice", "license", "bundle", "status", "attempts", "last_status_code", "last_error",
                  "next_attempt_at", "delivered_at", "created_at")  # fmt: skip
        read_only_fields = fields


class WebhookEndpointListView(APIView):
    """Where your organizations' revocation notices are posted (GET), or a new endpoint (POST)."""

    @extend_schema(
        operation_id="webhooks_list",
        responses={200: WebhookEndpointSerializer(many=True), **error_responses()},
    )
    def get(self, request: Request) -> Response:
        endpoints = selectors.webhook_endpoints_of_member(user=cast(User, request.user))
        return Response(WebhookEndpointSerializer(endpoints, many=True).data)

    @extend_schema(
        operation_id="webhooks_create",
        request=WebhookEndpointCreateSerializer,
        responses={
            201: WebhookEndpointCreatedSerializer,
            **error_responses(
                400,
                403,
                409,
                meanings={
                    403: "Not an owner of the organization, or not a buyer account.",
                    409: "The organization has as many endpoints as it may have.",
                },
            ),
        },
    )
    def post(self, request: Request) -> Response:
        chosen = WebhookEndpointCreateSerializer(data=request.data)
        chosen.is_valid(raise_exception=True)
        user = cast(User, request.user)
        organization = None
        if "organization" in chosen.validated_data:
            organization = Organization.objects.filter(
                public_id=chosen.validated_data["organization"], memberships__user=user
            ).first()
            if organization is None:
                raise serializers.ValidationError(
                    {"organization": "You are not a member of this organization."}
                )
        endpoint = revocations.webhook_endpoint_create(
            actor=user, url=chosen.validated_data["url"], organization=organization
        )
        return Response(WebhookEndpointCreatedSerializer(endpoint).data, status=status.HTTP_201_CREATED)


def _endpoint(request: Request, public_id: UUID) -> WebhookEndpoint:
    endpoint = selectors.webhook_endpoint_of_member(user=cast(User, request.user), public_id=public_id)
    if endpoint is None:
        raise Http404
    return endpoint


class WebhookEndpointDetailView(APIView):
    @extend_schema(
        operation_id="webhooks_destroy",
        responses={
            204: None,
            **error_responses(403, 404, meanings={403: "Only an owner of the organization deletes it."}),
        },
    )
    def delete(self, request: Request, public_id: UUID) -> Response:
        revocations.webhook_endpoint_delete(
            endpoint=_endpoint(request, public_id), actor=cast(User, request.user)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookDeliveryListView(APIView):
    """The endpoint's delivery log, newest first (200 at most)."""

    @extend_schema(
        operation_id="webhooks_deliveries_list",
        responses={200: WebhookDeliverySerializer(many=True), **error_responses(404)},
    )
    def get(self, request: Request, public_id: UUID) -> Response:
        deliveries = selectors.webhook_deliveries_of_endpoint(endpoint=_endpoint(request, public_id))
        return Response(WebhookDeliverySerializer(deliveries, many=True).data)
