"""The creators' part of the API: /api/v1/assets/."""

import re
from typing import Any
from uuid import UUID

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_schema import error_responses

from . import selectors, services
from .models import CreatorProfile, MediaAsset, UploadSession


def creator_of(user: Any) -> CreatorProfile:
    """The signed-in person's creator profile; only creators have media."""
    profile = getattr(user, "creator_profile", None) if user.is_authenticated else None
    if profile is None:
        raise PermissionDenied("Only creator accounts have media.")
    return profile


class TagListField(serializers.ListField):
    """Tags as a JSON list, or comma-separated (what an HTML form or `curl -F tags=a,b` sends)."""

    child = serializers.CharField(max_length=50)

    def to_internal_value(self, data: Any) -> list[str]:
        items = [data] if isinstance(data, str) else data
        if isinstance(items, list) and all(isinstance(item, str) for item in items):
            items = [part for item in items for part in item.split(",") if part.strip()]
        return super().to_internal_value(items)


class AssetSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    tags = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()
    preview_url = serializers.SerializerMethodField()
    duplicates = serializers.IntegerField(
        source="duplicate_count",
        read_only=True,
        default=None,
        allow_null=True,
        help_text="Possible duplicates among your media; in lists only, null elsewhere.",
    )

    class Meta:
        model = MediaAsset
        fields = (
            "id", "kind", "status", "rejection_reason", "ingest_progress", "title", "caption", "category",
            "tags", "original_name", "original_bytes", "mime_type", "sha256", "width", "height",
            "duration_seconds", "capture_time", "resolution_class", "blur_score", "exposure_mean",
            "motion_score", "face_count", "ai_generated", "duplicates", "thumbnail_url", "preview_url",
            "uploaded_at", "processed_at",
        )  # fmt: skip
        read_only_fields = fields

    def get_tags(self, asset: MediaAsset) -> list[str]:
        return sorted(tag.name for tag in asset.tags.all())

    def _file_url(self, asset: MediaAsset, variant: str) -> str | None:
        if not getattr(asset, variant):
            return None
        path = reverse("creators:asset-file", args=[asset.public_id, variant])
        return self.context["request"].build_absolute_uri(path)

    def get_thumbnail_url(self, asset: MediaAsset) -> str | None:
        return self._file_url(asset, "thumbnail")

    def get_preview_url(self, asset: MediaAsset) -> str | None:
        return self._file_url(asset, "preview")


class AssetWriteSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    caption = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    category = serializers.ChoiceField(choices=MediaAsset.Category.choices, required=False)
    tags = TagListField(required=False, max_length=services.MAX_TAGS_PER_ASSET)


class AssetUploadSerializer(AssetWriteSerializer):
    file = serializers.FileField(allow_empty_file=True, max_length=1000)


# Only creators have media: every other account is answered 403.
CREATOR_ONLY = {403: "Not a creator account."}

UpdatedCountSerializer = inline_serializer(
    "UpdatedCount", fields={"updated": serializers.IntegerField(help_text="How many assets changed.")}
)


class AssetFilterSerializer(serializers.Serializer):
    """The list's filters, checked like any input: a value that is not one of the choices is a 400."""

    status = serializers.ChoiceField(
        MediaAsset.Status.choices, required=False, help_text="Only assets in this state."
    )
    kind = serializers.ChoiceField(MediaAsset.Kind.choices, required=False)
    category = serializers.ChoiceField(MediaAsset.Category.choices, required=False)


class AssetListCreateView(APIView):
    """List your media (filters: status, kind, category), or upload one file (multipart, field `file`)."""

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        operation_id="assets_list",
        parameters=[AssetFilterSerializer],
        responses={
            200: inline_serializer("AssetList", fields={"results": AssetSerializer(many=True)}),
            **error_responses(400, 403, meanings=CREATOR_ONLY),
        },
    )
    def get(self, request: Request) -> Response:
        creator = creator_of(request.user)
        # A plain dict, not the QueryDict: DRF reads a blank value in a form-like input as "not given".
        filters = AssetFilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        assets = selectors.asset_list_for_creator(
            creator=creator,
            status=filters.validated_data.get("status", ""),
            kind=filters.validated_data.get("kind", ""),
            category=filters.validated_data.get("category", ""),
        )
        return Response({"results": AssetSerializer(assets, many=True, context={"request": request}).data})

    @extend_schema(
        operation_id="assets_create",
        request=AssetUploadSerializer,
        responses={201: AssetSerializer, **error_responses(400, 403, meanings=CREATOR_ONLY)},
    )
    def post(self, request: Request) -> Response:
        creator = creator_of(request.user)
        serializer = AssetUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        asset = services.asset_upload(
            creator=creator,
            upload=data["file"],
            title=data.get("title", ""),
            caption=data.get("caption", ""),
            category=data.get("category", MediaAsset.Category.OTHER),
            tags=data.get("tags", []),
        )
        body = AssetSerializer(asset, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED)


class AssetDetailView(APIView):
    # Edits are JSON: a form could not tell the tag "false" from the value false.
    parser_classes = [JSONParser]

    def _asset(self, request: Request, public_id: UUID) -> MediaAsset:
        return get_object_or_404(
            selectors.assets_of_creator(creator=creator_of(request.user)), public_id=public_id
        )

    @extend_schema(
        operation_id="assets_retrieve",
        responses={200: AssetSerializer, **error_responses(403, 404, meanings=CREATOR_ONLY)},
    )
    def get(self, request: Request, public_id: UUID) -> Response:
        return Response(AssetSerializer(self._asset(request, public_id), context={"request": request}).data)

    @extend_schema(
        operation_id="assets_partial_update",
        request=AssetWriteSerializer,
        responses={200: AssetSerializer, **error_responses(400, 403, 404, meanings=CREATOR_ONLY)},
    )
    def patch(self, request: Request, public_id: UUID) -> Response:
        asset = self._asset(request, public_id)
        serializer = AssetWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        if not serializer.validated_data:
            raise serializers.ValidationError(
                {"non_field_errors": [f"Send at least one of: {', '.join(AssetWriteSerializer().fields)}."]}
            )
        asset = services.asset_update(asset=asset, **serializer.validated_data)
        return Response(AssetSerializer(asset, context={"request": request}).data)

    @extend_schema(
        operation_id="assets_destroy",
        responses={204: None, **error_responses(403, 404, 409, meanings=CREATOR_ONLY)},
    )
    def delete(self, request: Request, public_id: UUID) -> Response:
        services.asset_delete(asset=self._asset(request, public_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class AssetBulkUpdateSerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.UUIDField(), min_length=1, max_length=1000)
    category = serializers.ChoiceField(choices=MediaAsset.Category.choices, required=False)
    caption = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    add_tags = TagListField(required=False)
    remove_tags = TagListField(required=False)


class AssetBulkUpdateView(APIView):
    """Change many of your assets at once: set a category or caption, add or remove tags."""

    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="assets_bulk_update",
        request=AssetBulkUpdateSerializer,
        responses={200: UpdatedCountSerializer, **error_responses(400, 403, meanings=CREATOR_ONLY)},
    )
    def post(self, request: Request) -> Response:
        creator = creator_of(request.user)
        serializer = AssetBulkUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        changed = services.assets_bulk_update(
            creator=creator,
            public_ids=data["ids"],
            category=data.get("category"),
            caption=data.get("caption"),
            add_tags=data.get("add_tags", []),
            remove_tags=data.get("remove_tags", []),
        )
        return Response({"updated": changed})


class AssetImportSerializer(serializers.Serializer):
    file = serializers.FileField(max_length=1000)


class AssetMetadataImportView(APIView):
    """Titles, captions, tags and categories for many assets from one CSV (multipart, field `file`)."""

    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="assets_import_metadata",
        request=AssetImportSerializer,
        responses={200: UpdatedCountSerializer, **error_responses(400, 403, meanings=CREATOR_ONLY)},
    )
    def post(self, request: Request) -> Response:
        creator = creator_of(request.user)
        serializer = AssetImportSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["file"]
        updated = services.assets_import_metadata_csv(
            creator=creator, csv_bytes=upload.read(services.CSV_MAX_BYTES + 1)
        )
        return Response({"updated": updated})


# --- Chunked uploads ---------------------------------------------------------------------------------------

CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")


class UploadSessionSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    offset = serializers.IntegerField(source="received", read_only=True)
    chunk_size = serializers.SerializerMethodField()

    class Meta:
        model = UploadSession
        fields: tuple[str, ...] = ("id", "file_name", "size", "offset", "chunk_size", "expires_at")
        read_only_fields = fields

    def get_chunk_size(self, session: UploadSession) -> int:
        return settings.UPLOAD_CHUNK_BYTES


class UploadSessionStartedSerializer(UploadSessionSerializer):
    """A new upload session; with `direct`, also the form to post the file to object storage with (schema only)."""

    s3 = inline_serializer(
        "PresignedPost",
        fields={
            "url": serializers.URLField(),
            "fields": serializers.DictField(
                child=serializers.CharField(), help_text="Send these form fields first, then the `file`."
            ),
        },
        required=False,
        help_text="Only for a direct upload, when the site stores media in object storage.",
    )

    class Meta(UploadSessionSerializer.Meta):
        fields = (*UploadSessionSerializer.Meta.fields, "s3")
        read_only_fields = fields


class UploadSessionStartSerializer(serializers.Serializer):
    file_name = serializers.CharField(max_length=1000)
    size = serializers.IntegerField(min_value=1)
    # With object storage, `direct` gives a presigned POST to send the whole file straight to the bucket.
    direct = serializers.BooleanField(default=False)
    content_type = serializers.CharField(max_length=40, required=False, default="")


class UploadSessionListView(APIView):
    """Start an upload: `{"file_name", "size"}`, then PUT the chunks and POST .../complete/; or, with
    `"direct": true` and the file's `content_type`, post the file to the returned `s3` form, then complete."""

    parser_classes = [JSONParser, FormParser]

    @extend_schema(
        operation_id="uploads_create",
        request=UploadSessionStartSerializer,
        responses={
            201: UploadSessionStartedSerializer,
            **error_responses(
                400,
                403,
                409,
                meanings={
                    **CREATOR_ONLY,
                    409: "Too many uploads under way, or too many bytes announced by them.",
                },
            ),
        },
    )
    def post(self, request: Request) -> Response:
        creator = creator_of(request.user)
        serializer = UploadSessionStartSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        session = services.upload_session_start(creator=creator, **serializer.validated_data)
        body = dict(UploadSessionSerializer(session).data)
        if session.direct_key:
            body["s3"] = services.upload_session_presigned_post(session=session)
        return Response(body, status=status.HTTP_201_CREATED)


class UploadSessionDetailView(APIView):
    """GET: where the upload stands (resume from `offset`). PUT: one chunk, with `Content-Range`. DELETE: abort."""

    # The chunk is read straight from the request stream, never parsed or held whole in memory.
    parser_classes: list = []

    def _session(self, request: Request, public_id: UUID) -> UploadSession:
        creator = creator_of(request.user)
        return get_object_or_404(UploadSession.objects.filter(creator=creator), public_id=public_id)

    @extend_schema(
        operation_id="uploads_retrieve",
        responses={200: UploadSessionSerializer, **error_responses(403, 404, meanings=CREATOR_ONLY)},
    )
    def get(self, request: Request, public_id: UUID) -> Response:
        return Response(UploadSessionSerializer(self._session(request, public_id)).data)

    @extend_schema(
        operation_id="uploads_append_chunk",
        request={"application/octet-stream": OpenApiTypes.BINARY},
        parameters=[
            OpenApiParameter(
                "Content-Range",
                location=OpenApiParameter.HEADER,
                required=True,
                pattern=CONTENT_RANGE.pattern,
                description="`bytes START-END/TOTAL`: START is the session's `offset`, END inclusive.",
            )
        ],
        responses={
            200: OpenApiResponse(
                UploadSessionSerializer, description="The chunk is stored; `offset` moved on."
            ),
            **error_responses(
                400,
                403,
                404,
                409,
                meanings={**CREATOR_ONLY, 409: "The chunk does not start at the session's `offset`."},
            ),
        },
    )
    def put(self, request: Request, public_id: UUID) -> Response:
        session = self._session(request, public_id)
        match = CONTENT_RANGE.match(request.headers.get("Content-Range", ""))
        if not match:
            raise ValidationError(
                {"range": "Send the chunk with a Content-Range header: bytes START-END/TOTAL."}
            )
        start, end, total = (int(group) for group in match.groups())
        length = end - start + 1
        try:
            declared = int(request.headers.get("Content-Length", ""))
        except ValueError:
            declared = -1
        if end < start or declared != length:
            raise ValidationError({"range": "The Content-Range does not match the chunk's length."})
        session = services.upload_session_append(
            session=session, start=start, length=length, total=total, stream=request._request
        )
        return Response(UploadSessionSerializer(session).data)

    @extend_schema(
        operation_id="uploads_destroy",
        responses={204: None, **error_responses(403, 404, 409, meanings=CREATOR_ONLY)},
    )
    def delete(self, request: Request, public_id: UUID) -> Response:
        services.upload_session_abort(session=self._session(request, public_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class UploadSessionCompleteView(APIView):
    """Finish a chunked upload with the asset's title, caption, category and tags; answers the new asset."""

    parser_classes = [JSONParser, FormParser]

    @extend_schema(
        operation_id="uploads_complete",
        request=AssetWriteSerializer,
        responses={
            201: AssetSerializer,
            **error_responses(
                400,
                403,
                404,
                409,
                meanings={
                    **CREATOR_ONLY,
                    409: "Not all of the file has arrived yet, or another request is completing this upload.",
                },
            ),
        },
    )
    def post(self, request: Request, public_id: UUID) -> Response:
        creator = creator_of(request.user)
        session = get_object_or_404(UploadSession.objects.filter(creator=creator), public_id=public_id)
        serializer = AssetWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        asset = services.upload_session_complete(
            session=session,
            description=services.AssetDescription(
                title=data.get("title", ""),
                caption=data.get("caption", ""),
                category=data.get("category", MediaAsset.Category.OTHER),
                tags=tuple(data.get("tags", ())),
            ),
        )
        return Response(
            AssetSerializer(asset, context={"request": request}).data, status=status.HTTP_201_CREATED
        )
