"""croissant.json: MLCommons Croissant 1.0 metadata with the Responsible AI (RAI) 1.0 properties.

The record set "samples" reads manifest.parquet, one field per manifest column, so a Croissant loader
(`mlcroissant.Dataset(jsonld="croissant.json").records("samples")`) yields the manifest's rows. Each shard
series (photos, videos) is described as a FileSet for discovery; the media in them are read with WebDataset
(see README.md).

The RAI texts are made from the description's own numbers and from what the site does to every version
(the prose functions here are shared with DATASHEET.md), never from a template that could claim more.
"""

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa

from datasets.packaging.description import (
    SERIES_DESCRIPTIONS,
    SERIES_FILES,
    DatasetDescription,
    Series,
    by_count,
    counted,
    permitted_uses_text,
    prohibited_uses,
    reportable_groups,
    share,
    tier_names,
    tier_title,
)
from datasets.packaging.manifest import JSONL_NAME, PARQUET_NAME, SCHEMA

CROISSANT_1_0 = "http://mlcommons.org/croissant/1.0"
# The RAI specification asks a dataset that uses its vocabulary to declare this too.
RAI_1_0 = "http://mlcommons.org/croissant/RAI/1.0"

# The @context of the Croissant 1.0 specification (its example datasets carry the same), with the RAI
# namespace it lists.
CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}

RECORD_SET = "samples"

# What each manifest column holds, for the record set's fields (and the datasheet's composition section).
COLUMN_DESCRIPTIONS = {
    "key": "The sample's key: the member names of its media and JSON in the shards.",
    "sha256": "SHA-256 of the delivered media file, hex.",
    "bytes": "Size of the delivered media file in bytes.",
    "media_type": "MIME type of the delivered media file (image/jpeg, image/png, video/mp4, video/webm).",
    "rendition": (
        "How the delivered file was made from the upload: jpeg-as-uploaded (the compressed picture kept, its "
        "metadata left out), jpeg-lossless-rotation, jpeg-reencoded, converted, remuxed or transcoded."
    ),
    "source_media_type": "MIME type of the file the creator uploaded.",
    "content_credentials": (
        "'c2pa' when the delivered file embeds a signed C2PA manifest with its rights; otherwise why not."
    ),
    "digital_source_type": "The IPTC digital source type: what the upload declared, else digitalCapture.",
    "width": "Width in pixels of the delivered file, upright.",
    "height": "Height in pixels of the delivered file, upright.",
    "duration": "Duration in seconds; videos only.",
    "capture_time": "When the picture or video was taken (UTC), from its metadata; empty when unknown.",
    "tags": "The creator's tags.",
    "caption": "The creator's caption.",
    "license_terms": (
        "Every license tier the sample may be licensed under, as '<terms slug>/<terms version>' (e.g. "
        "'research/1'); a licensee's certificate names the one tier that applies to them."
    ),
    "consent_uses": "The CAWG uses the creator consented to for this sample.",
    "consent_constraints": "The creator's own words for uses consented to with a constraint.",
    "consent_id": "Identifier of the creator's consent the sample was sold under.",
    "release_ids": "Identifiers of the model and property releases covering the sample.",
    "creator_id": "Pseudonymous identifier of the creator, stable within the site.",
    "camera": "What the camera recorded: make, model, lens and exposure; empty when it recorded none.",
    "place": "Where it was taken, to a tenth of a degree (about 10 km); never the exact position.",
    "blur": "Sharpness: variance of the Laplacian at a fixed analysis size; higher is sharper.",
    "exposure": "Mean luminance, 0 (black) to 1 (white).",
    "resolution_class": "Resolution class (low, hd, high, very_high) by megapixels.",
    "motion": "Motion from 0 (still) to 1; videos only.",
    "face_count": "Faces detected at ingest.",
}
SUBFIELD_DESCRIPTIONS = {
    "consent_constraints": {
        "use": "The CAWG use constrained.",
        "text": "The constraint, as the creator wrote it.",
    },
    "camera": {
        "make": "Camera maker.",
        "model": "Camera model.",
        "lens": "Lens model.",
        "focal_length_mm": "Focal length in millimetres.",
        "exposure_time_s": "Exposure time in seconds.",
        "f_number": "Aperture as an f-number.",
        "iso": "ISO sensitivity.",
    },
    "place": {
        "latitude": "Latitude in degrees, rounded to 0.1.",
        "longitude": "Longitude in degrees, rounded to 0.1.",
    },
}


def croissant_jsonld(description: DatasetDescription) -> dict[str, Any]:
    """The version's Croissant 1.0 + RAI 1.0 metadata as a JSON-LD document."""
    return {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": [CROISSANT_1_0, RAI_1_0],
        "name": description.bundle_name,
        "alternateName": description.title,
        "description": description.description,
        "url": description.page_url,
        "license": [tier.url for tier in description.licenses],
        "version": f"{description.version}.0.0",
        "dateCreated": description.created.isoformat(),
        "datePublished": description.published.isoformat(),
        "isAccessibleForFree": False,
        "citeAs": citation(description),
        "creator": _organization(description),
        "publisher": _organization(description),
        "keywords": _keywords(description),
        "distribution": _distribution(description),
        "recordSet": [_record_set(), *map(_media_record_set, description.shard_series())],
        "rai:dataCollection": collection_text(description),
        "rai:dataCollectionType": ["User-generated content data", "Manual Human Curator"],
        **_timeframe(description),
        "rai:dataPreprocessingProtocol": preprocessing_texts(description),
        "rai:dataAnnotationProtocol": annotation_text(description),
        "rai:personalSensitiveInformation": sensitive_texts(description),
        "rai:dataBiases": bias_texts(description),
        "rai:dataLimitations": limitation_texts(description),
        "rai:dataUseCases": use_case_texts(description),
        "rai:dataSocialImpact": social_impact_text(description),
        "rai:dataReleaseMaintenancePlan": maintenance_text(description),
        # Not a term of RAI 1.0, but read by tools that check for synthetic data: what the samples declare.
        "rai:hasSyntheticData": has_synthetic_data(description),
    }


def write_croissant(description: DatasetDescription, path: Path) -> Path:
    """Write croissant.json (sorted keys, UTF-8, a final newline): the same description, the same bytes."""
    text = json.dumps(croissant_jsonld(description), indent=2, ensure_ascii=False, sort_keys=True)
    path.write_bytes(f"{text}\n".encode())
    return path


def citation(description: DatasetDescription) -> str:
    return (
        f"{description.publisher_name}. {description.title}, version {description.version} "
        f"({description.bundle_name}), {description.published.year}. {description.page_url}"
    )


def _organization(description: DatasetDescription) -> dict[str, str]:
    return {"@type": "sc:Organization", "name": description.publisher_name, "url": description.publisher_url}


def _keywords(description: DatasetDescription) -> list[str]:
    keywords = [description.category, *(value for value, _ in by_count(description.distributions.categories))]
    if description.counts.images:
        keywords.append("photos")
    if description.counts.videos:
        keywords.append("videos")
    keywords += ["consented data", "model releases", "WebDataset", *tier_names(description)]
    return list(dict.fromkeys(keywords))  # in order, without repeats


def _distribution(description: DatasetDescription) -> list[dict[str, Any]]:
    formats = {PARQUET_NAME: "application/x-parquet", JSONL_NAME: "application/jsonlines"}
    manifests = {file.name: file for file in description.manifests}
    if PARQUET_NAME not in manifests:
        raise ValueError(f"the description lists no {PARQUET_NAME}, which the record set reads")
    objects: list[dict[str, Any]] = [
        {
            "@type": "cr:FileObject",
            "@id": name,
            "name": name,
            "description": "The manifest: one row per sample.",
            "contentUrl": name,
            "contentSize": f"{manifests[name].size} B",
            "encodingFormat": formats[name],
            "sha256": manifests[name].sha256,
        }
        for name in (PARQUET_NAME, JSONL_NAME)
        if name in manifests
    ]
    for series, shards in description.shard_series().items():
        extension, media_type = SERIES_FILES[Series(series)]
        objects += [
            {
                "@type": "cr:FileObject",
                "@id": shard.name,
                "name": shard.name,
                "description": (
                    f"A WebDataset shard of {SERIES_DESCRIPTIONS[Series(series)]}: each sample is "
                    f"<key>.{extension} (the delivered media file) followed by <key>.json (its manifest row)."
                ),
                "contentUrl": shard.name,
                "contentSize": f"{shard.size} B",
                "encodingFormat": "application/x-tar",
                "sha256": shard.sha256,
            }
            for shard in shards
        ]
        objects.append(
            {
                "@type": "cr:FileSet",
                "@id": media_set_id(series),
                "name": media_set_id(series),
                "description": (
                    f"The {SERIES_DESCRIPTIONS[Series(series)]} in {len(shards)} shard(s) "
                    f"({sum(shard.size for shard in shards)} bytes): the .{extension} members of the shards."
                ),
                "containedIn": [{"@id": shard.name} for shard in shards],
                "encodingFormat": media_type,
                "includes": f"*.{extension}",
            }
        )
    return objects


def media_set_id(series: str) -> str:
    """The @id of the FileSet of one shard series' media files."""
    return f"{series}-files"


def _record_set() -> dict[str, Any]:
    return {
        "@type": "cr:RecordSet",
        "@id": RECORD_SET,
        "name": RECORD_SET,
        "description": "One record per sample, read from manifest.parquet.",
        "key": {"@id": f"{RECORD_SET}/key"},
        "field": [_field(field) for field in SCHEMA],
    }


# What mlcroissant gives for a media file: a PIL image for a photo, the file's bytes for a video.
MEDIA_DATA_TYPES = {
    Series.PHOTOS: "sc:ImageObject",
    Series.PHOTOS_PNG: "sc:ImageObject",
    Series.VIDEOS: "sc:VideoObject",
    Series.VIDEOS_WEBM: "sc:VideoObject",
}


def _media_record_set(series: str) -> dict[str, Any]:
    """One record per media file of a shard series: its sample key (the file's name less its extension), which
    is its row's key in the samples record set, and its content."""
    extension = SERIES_FILES[Series(series)][0]
    files = {"fileSet": {"@id": media_set_id(series)}}
    return {
        "@type": "cr:RecordSet",
        "@id": series,
        "name": series,
        "description": f"The {SERIES_DESCRIPTIONS[Series(series)]}, read from the shards' .{extension} members.",
        "key": {"@id": f"{series}/key"},
        "field": [
            {
                "@type": "cr:Field",
                "@id": f"{series}/key",
                "name": "key",
                "description": "The sample's key: its row in the samples record set.",
                "dataType": "sc:Text",
                "references": {"field": {"@id": f"{RECORD_SET}/key"}},
                # Up to the first dot, as WebDataset splits a member's name (some readers give the name
                # with its extension, some without).
                "source": {
                    **files,
                    "extract": {"fileProperty": "filename"},
                    "transform": {"regex": "^([^.]+)"},
                },
            },
            {
                "@type": "cr:Field",
                "@id": f"{series}/content",
                "name": "content",
                "description": "The delivered media file, upright, with its rights in its C2PA manifest.",
                "dataType": MEDIA_DATA_TYPES[Series(series)],
                "source": {**files, "extract": {"fileProperty": "content"}},
            },
        ],
    }


def _field(field: pa.Field) -> dict[str, Any]:
    kind = field.type.value_type if pa.types.is_list(field.type) else field.type
    node: dict[str, Any] = {
        "@type": "cr:Field",
        "@id": f"{RECORD_SET}/{field.name}",
        "name": field.name,
        "description": COLUMN_DESCRIPTIONS[field.name],
    }
    if pa.types.is_struct(kind):
        node["subField"] = [
            {
                "@type": "cr:Field",
                "@id": f"{RECORD_SET}/{field.name}/{child.name}",
                "name": child.name,
                "description": SUBFIELD_DESCRIPTIONS[field.name][child.name],
                "dataType": _data_type(child.type),
                "source": _source(field.name, json_path=child.name),
            }
            for child in kind
        ]
    else:
        node["dataType"] = _data_type(kind)
    node["source"] = _source(field.name)
    if pa.types.is_list(field.type):
        node["repeated"] = True
    return node


def _data_type(kind: pa.DataType) -> str:
    if pa.types.is_string(kind):
        return "sc:Text"
    if pa.types.is_integer(kind):
        return "sc:Integer"
    if pa.types.is_floating(kind):
        return "sc:Float"
    if pa.types.is_timestamp(kind):
        return "sc:DateTime"
    if pa.types.is_date(kind):
        return "sc:Date"
    if pa.types.is_boolean(kind):
        return "sc:Boolean"
    raise TypeError(f"no Croissant data type for Arrow type {kind}")


def _source(column: str, *, json_path: str = "") -> dict[str, Any]:
    source: dict[str, Any] = {"fileObject": {"@id": PARQUET_NAME}, "extract": {"column": column}}
    if json_path:
        source["transform"] = {"jsonPath": json_path}
    return source


def _timeframe(description: DatasetDescription) -> dict[str, list[str]]:
    # The RAI 1.0 vocabulary spells it dataCollectionTimeframe: the start and end of the capture dates.
    if description.capture_start is None or description.capture_end is None:
        return {}
    return {
        "rai:dataCollectionTimeframe": [
            description.capture_start.isoformat(),
            description.capture_end.isoformat(),
        ]
    }


# The prose below is shared by croissant.json and DATASHEET.md.


# IPTC digital source types of media made by a model or an algorithm, in whole or in part.
SYNTHETIC_SOURCE_TYPES = frozenset(
    {
        "trainedAlgorithmicMedia",
        "compositeWithTrainedAlgorithmicMedia",
        "algorithmicMedia",
        "compositeSynthetic",
        "dataDrivenMedia",
    }
)


def has_synthetic_data(description: DatasetDescription) -> bool:
    """Whether any sample declares itself synthetic, in whole or in part."""
    return any(
        count and term in SYNTHETIC_SOURCE_TYPES
        for term, count in description.distributions.source_types.items()
    )


def collection_text(description: DatasetDescription) -> str:
    counts = description.counts
    timeframe = (
        f" Capture dates run from {description.capture_start.isoformat()} to {description.capture_end.isoformat()}."
        if description.capture_start and description.capture_end
        else " No sample carries a capture date."
    )
    return (
        f"{counts.samples} samples ({counts.images} photos, {counts.videos} videos) uploaded to "
        f"{description.publisher_name} by {counted(counts.creators, 'creator')} (photographers and videographers) who "
        "made them. Each creator attached a model release for every identifiable person and a property "
        "release where one was needed, and consented per sample to each CAWG use (data mining, AI inference, "
        "AI training, generative AI training) under versioned license terms. Reviewers checked every release "
        "and consent before the sample could be sold. The samples were chosen from those whose consent was "
        f"active for every use of every tier offered ({', '.join(tier_names(description))}), by the curation "
        "filters: "
        f"{filters_text(description.curation_filters)}. Consent was re-checked when the version was sealed."
        + timeframe
    )


def preprocessing_texts(description: DatasetDescription) -> list[str]:
    return [
        "The media files in the shards are delivery renditions of the creators' uploads, never resized or "
        "cropped: every photo turned upright, JPEGs keeping their compressed data where the turn allows it "
        "(else re-encoded with their own quantization), HEIC, TIFF, WebP and PNG converted to JPEG at quality "
        "95 without chroma subsampling (PNG where transparency or 16-bit depth would be lost), videos remuxed "
        "into MP4, the picture encoded again as H.264 only to turn it upright (or from a codec MP4 cannot hold), "
        "sound MP4 cannot hold as AAC. The manifest's rendition column says which.",
        "No embedded metadata of the uploads reaches the bundle: EXIF, XMP, IPTC, maker notes, thumbnails "
        "and container tags are left out, so no location, serial number or owner name. Capture time, camera "
        "settings and a place rounded to 0.1 degree (about 11 km) are manifest columns instead. Each file "
        "carries its rights: IPTC plus:DataMining in XMP and a signed C2PA manifest with the CAWG "
        "training-and-data-mining assertion (not WebM, which C2PA cannot carry).",
        "At ingest each file is sniffed and probed (dimensions, duration, capture time, EXIF/XMP/C2PA), "
        "hashed with SHA-256 (exact duplicates) and a 64-bit DCT perceptual hash (near duplicates, "
        "keyframe hashes for video), and measured for blur (variance of the Laplacian), exposure (mean "
        "luminance), resolution class, motion (video) and faces (a Haar cascade count).",
        "Files whose C2PA manifest or XMP digital source type declares them AI-generated (trained "
        "algorithmic media, or composites with it) are flagged at ingest and rejected at review, as are "
        "duplicates of another account's work.",
        f"Curation: {filters_text(description.curation_filters)}.",
    ]


def annotation_text(description: DatasetDescription) -> str:
    return (
        "Captions and tags are the creators' own, written at upload (one caption per sample at most); no "
        "crowd workers were used and no model generated labels. Capture time, dimensions and duration are "
        "read from the files, and the quality signals and face count measured, by the ingest pipeline. Staff reviewers verified every model and property "
        "release (signatures, names, shoot dates against capture times, guardians for minors) and every "
        "consent before the sample entered the dataset. Consent uses and constraints are the creators' "
        "statements, recorded per sample in the manifest."
    )


def sensitive_texts(description: DatasetDescription) -> list[str]:
    groups = reportable_groups(description)
    faces = sum(count for value, count in description.quality.face_counts.items() if value != "0")
    texts = [
        f"Faces: {faces} of {description.counts.samples} samples show at least one detected face. Every "
        "identifiable person signed a model release (a parent or guardian too for a minor), or a reviewer "
        "marked the sample as showing no one.",
        "Biometric data: face geometry may be used only where the person gave a separate written biometric "
        "consent for a stated retention period; the license terms forbid identifying anyone shown.",
        "Names and contact details of the people shown stay in the site's releases and are not in the bundle; "
        "creators appear only as pseudonymous identifiers.",
        "Geography: no file carries a GPS position; the manifest's place is rounded to 0.1 degree (about "
        "11 km), the city and never the street.",
    ]
    if groups:
        fields = ", ".join(field_label(field) for field in groups)
        texts.append(
            f"Self-identification ({fields}): optional, given by the people shown, kept apart from their "
            "releases and reported only in aggregate; groups smaller than 5 are not reported."
        )
    else:
        texts.append(
            "Self-identification: no group of 5 or more people to report; groups smaller than 5 are not reported."
        )
    return texts


def bias_texts(description: DatasetDescription) -> list[str]:
    counts, distributions = description.counts, description.distributions
    texts = []
    for label, values, unit in (
        ("category", distributions.categories, "samples"),
        ("creator country", distributions.creator_countries, "creators"),
        ("capture year", distributions.capture_years, "samples"),
        ("resolution class", distributions.resolution_classes, "samples"),
    ):
        if values:
            total = sum(values.values())
            value, count = by_count(values)[0]
            texts.append(
                f"The largest {label} is {value}: {count} of {total} {unit} ({share(count, total)}), out of "
                f"{len(values)} distinct values."
            )
    texts.append(
        f"Media: {counts.images} photos ({share(counts.images, counts.samples)}) and {counts.videos} videos "
        f"({share(counts.videos, counts.samples)})."
    )
    texts.append(
        "The data comes only from creators who chose to sell on the site and from people who signed releases: "
        "it reflects who those are, not any population."
    )
    for field, values in reportable_groups(description).items():
        total = sum(values.values())
        rows = ", ".join(f"{value} {count} ({share(count, total)})" for value, count in values.items())
        texts.append(f"Self-identified {field_label(field).lower()} (people, reported groups only): {rows}.")
    return texts


def limitation_texts(description: DatasetDescription) -> list[str]:
    counts, quality = description.counts, description.quality
    per_creator = counts.samples / counts.creators if counts.creators else 0.0
    texts = [
        f"{counts.samples} samples from {counted(counts.creators, 'creator')} ({per_creator:.1f} per creator on average): "
        "samples by one creator share their style, equipment and places, so they are not independent.",
    ]
    if quality.blur_percentiles:
        texts.append(
            f"Blur (variance of the Laplacian, higher is sharper): {_percentiles(quality.blur_percentiles)}."
        )
    if quality.exposure_percentiles:
        texts.append(f"Exposure (mean luminance, 0 to 1): {_percentiles(quality.exposure_percentiles)}.")
    unknown = description.distributions.capture_years.get("unknown", 0)
    if unknown:
        texts.append(f"{unknown} samples have no capture time in their metadata.")
    texts += [
        "Faces are counted by a Haar cascade, which misses small, turned and occluded faces: the count is a "
        "lower bound, not a label.",
        "AI-generated media is excluded when its C2PA manifest or XMP metadata declares it; undeclared "
        "synthetic media cannot be detected that way.",
        "Self-identification is optional: the aggregates cover only people who answered, and small groups are "
        "not reported.",
        "Samples whose consent is withdrawn after this version was built are removed from later versions, not "
        "from this one: see the maintenance plan.",
    ]
    return texts


def use_case_texts(description: DatasetDescription) -> list[str]:
    """The intended uses, then what each tier permits and does not: a licensee holds the tier their
    certificate names."""
    texts = [f"Intended use: {use}." for use in description.intended_uses]
    for tier in description.licenses:
        texts.append(
            f"Licensed under {tier_title(tier)}: {permitted_uses_text(tier)}"
            f"; {'commercial use permitted' if tier.commercial else 'non-commercial use only'}"
            f"; {'likeness generation permitted' if tier.likeness_generation else 'no likeness generation'}."
        )
        texts += [f"{tier.name}, not permitted: {use}." for use in prohibited_uses(tier)]
    return texts


def social_impact_text(description: DatasetDescription) -> str:
    without_likeness = [tier.name for tier in description.licenses if not tier.likeness_generation]
    likeness = (
        f"; {', '.join(without_likeness)} also {'forbids' if len(without_likeness) == 1 else 'forbid'} "
        "generating their likeness"
        if without_likeness
        else ""
    )
    return (
        "Every sample is sold with its creator's consent for the licensed uses and with releases from the "
        "people shown, and creators are paid a share of each sale. Models trained on photos of people can "
        "still be misused (surveillance, impersonation, stereotyping): every license tier forbids identifying "
        f"anyone shown{likeness}, and the dataset's composition (see the biases) limits how well such models "
        "generalise."
    )


def maintenance_text(description: DatasetDescription) -> str:
    maintenance = description.maintenance
    texts = [
        f"Version {description.version} is immutable. Maintained by {description.publisher_name}; contact "
        f"{maintenance.contact}.",
        "When a creator withdraws consent or a release is revoked, this version is superseded: a new version "
        "without those samples is built and offered to every licensee at no charge, and licensees are told "
        f"through the revocation feed ({maintenance.revocation_feed_url}), a signed webhook and email. "
        f"Licensees must delete the withdrawn samples, and any copy, within {maintenance.deletion_days} days.",
    ]
    if description.previous is not None:
        previous = description.previous
        texts.append(
            f"Supersedes version {previous.version} ({previous.url}): {previous.removed_samples} samples "
            f"removed ({previous.reason})."
        )
    return " ".join(texts)


def filters_text(filters: tuple[str, ...]) -> str:
    return "; ".join(filters) or "none"


def _percentiles(values: Mapping[int, float]) -> str:
    return ", ".join(f"p{percentile} {value:g}" for percentile, value in sorted(values.items()))


def field_label(field: str) -> str:
    return field.replace("_", " ").capitalize()
