"""README.md (what the bundle is, how to verify and load it, the license in brief) and LICENSE.txt."""

from dataclasses import dataclass
from pathlib import Path

from datasets.packaging.checksums import SIGNATURE_NAME, SUMS_NAME
from datasets.packaging.croissant import RECORD_SET, citation
from datasets.packaging.description import (
    CROISSANT_NAME,
    DATASHEET_NAME,
    SERIES_FILES,
    SHARDS_DIR,
    DatasetDescription,
    LicenseTier,
    Series,
    counted,
    permitted_uses_text,
    shard_pattern,
    shard_prefix,
    tier_title,
)
from datasets.packaging.manifest import JSONL_NAME, PARQUET_NAME, license_terms_item

README_NAME = "README.md"
LICENSE_NAME = "LICENSE.txt"
# What the README tells buyers to save the site's public key as, so its openssl command runs as written.
PUBLIC_KEY_FILE = "site-public-key.pem"


@dataclass(frozen=True)
class SeriesMedia:
    """The media member of a shard series' samples, and how the Hugging Face snippet reads and shows it."""

    extension: str
    feature_class: str  # of Hugging Face `datasets`
    feature: str
    first_sample: str  # the snippet's lines that print the series' first sample
    credentials: bool  # whether its files carry a C2PA manifest


SERIES_MEDIA = {
    Series.PHOTOS: SeriesMedia(
        SERIES_FILES[Series.PHOTOS][0],
        "Image",
        "Image()",
        'print(photos[0]["json"]["key"], photos[0]["jpg"].size)  # the manifest row, and a PIL image',
        credentials=True,
    ),
    Series.PHOTOS_PNG: SeriesMedia(
        SERIES_FILES[Series.PHOTOS_PNG][0],
        "Image",
        "Image()",
        'print(photos_png[0]["json"]["key"], photos_png[0]["png"].mode)  # RGB, RGBA, LA or I;16',
        credentials=True,
    ),
    Series.VIDEOS: SeriesMedia(
        SERIES_FILES[Series.VIDEOS][0],
        "Video",
        "Video(decode=False)",
        "# Undecoded, a video is its file's bytes; decoding needs torchcodec (pip install torchcodec).\n"
        'print(videos[0]["json"]["key"], len(videos[0]["mp4"]["bytes"]))',
        credentials=True,
    ),
    Series.VIDEOS_WEBM: SeriesMedia(
        SERIES_FILES[Series.VIDEOS_WEBM][0],
        "Video",
        "Video(decode=False)",
        'print(videos_webm[0]["json"]["key"], len(videos_webm[0]["webm"]["bytes"]))',
        # C2PA has no binding for Matroska files.
        credentials=False,
    ),
}


def readme_markdown(description: DatasetDescription) -> str:
    """README.md's text."""
    name, counts = description.bundle_name, description.counts
    shard_lines = "\n".join(
        f"  {SHARDS_DIR}/{shard_prefix(name, series)}-000000.tar ...   WebDataset: <key>.{media.extension} + "
        "<key>.json (the sample's manifest row)"
        for series, media in _series_media(description).items()
    )
    tiers = "\n\n".join(_tier_summary(tier) for tier in description.licenses)
    return f"""# {description.title}, version {description.version}

{description.description}

{counted(counts.samples, "sample")} ({counted(counts.images, "photo")}, {counted(counts.videos, "video")}, \
{counts.total_bytes} bytes of media) from \
{counted(counts.creators, "creator")}, published {description.published.isoformat()} by {description.publisher_name}. \
Every sample had its creator's active consent for the licensed uses, and releases for the people and \
property shown, when this version was built. Dataset page: {description.page_url}

Each file is a delivery rendition of its upload, made for training: every photo upright (its width and \
height those of the decoded pixels), photos as JPEG (PNG where transparency or 16-bit depth would be lost), \
videos as MP4 (WebM kept as WebM), and no location, serial number, owner name, maker note or thumbnail in \
any of them. The manifest's `rendition` column says how each was made: `jpeg-as-uploaded` (the upload's \
compressed data, its metadata left out), `jpeg-lossless-rotation` (turned upright on whole JPEG blocks), \
`jpeg-reencoded` (turned upright with the upload's own quantization), `converted` (from HEIC, TIFF, WebP or \
PNG at a quality no eye tells apart), `remuxed` (video streams copied) or `transcoded` (the picture encoded \
again to turn it upright, or a stream MP4 cannot hold encoded as H.264 or AAC). Camera settings, and the place rounded to a tenth of a degree (about 11 km: the \
city), are manifest columns.

## Layout

```
{name}/
  {README_NAME}            how to load it (webdataset, Hugging Face datasets), license summary
  {DATASHEET_NAME}         the seven sections of "Datasheets for Datasets", filled from the version's data and stats
  {CROISSANT_NAME}       MLCommons Croissant 1.0 with the Responsible-AI 1.0 properties
  {PARQUET_NAME}     one row per sample (also {JSONL_NAME}): key, sha256, bytes, media type, how the
                       file was made from the upload, width, height, duration, capture time, tags,
                       caption, license tiers, consent scopes, consent and release ids, pseudonymous
                       creator id, camera settings, rounded place, quality signals
  {LICENSE_NAME}          the license terms of every tier this version is offered under
{shard_lines}
  {SUMS_NAME}           every file above
  {SIGNATURE_NAME}       Ed25519 signature; the public key is published by the site
```

## Verify

In the bundle's folder, check every file against {SUMS_NAME}:

```sh
sha256sum -c {SUMS_NAME}
```

Then check that {SUMS_NAME} is the one the site signed. {SIGNATURE_NAME} is the raw Ed25519 signature of \
{SUMS_NAME}'s bytes; save the site's public key (PEM) from {description.public_key_url} as \
`{PUBLIC_KEY_FILE}` and run (OpenSSL 3.0 or later):

```sh
openssl pkeyutl -verify -pubin -inkey {PUBLIC_KEY_FILE} -rawin -in {SUMS_NAME} -sigfile {SIGNATURE_NAME}
```

It prints `Signature Verified Successfully` for an untouched bundle.

## Load

From the bundle's folder. With [webdataset](https://github.com/webdataset/webdataset) (`pip install webdataset`), each shard \
series with its own media member:

```python
{_webdataset_snippet(description)}
```

With Hugging Face [datasets](https://huggingface.co/docs/datasets) (`pip install "datasets[vision]"`, which \
brings Pillow for the photos):

```python
{_hugging_face_snippet(description)}
```

The manifest with [pyarrow](https://arrow.apache.org/docs/python/) (or pandas, polars, DuckDB):

```python
import pyarrow.parquet as pq

manifest = pq.read_table("{PARQUET_NAME}")
print(manifest.num_rows, manifest.column_names)
```

The same rows through Croissant, with [mlcroissant](https://github.com/mlcommons/croissant) \
(`pip install mlcroissant`):

```python
{_croissant_snippet(description)}
```

{_rights_section(description)}## License

This version is offered under the license tiers below; the full terms of each are in {LICENSE_NAME}. Your \
signed license certificate names you as licensee and the tier you bought: only that tier's terms license you.

{tiers}

Withdrawal, under every tier: when a creator withdraws consent for a sample in this version, you are told \
through the revocation feed ({description.maintenance.revocation_feed_url}), a signed webhook and email, and \
must delete that sample, and any copy of it, within {description.maintenance.deletion_days} days. A new version \
without it is offered to you at no charge.

Cite as: {citation(description)}

Questions: {description.maintenance.contact}
"""


def _series_media(description: DatasetDescription) -> dict[Series, SeriesMedia]:
    """The media of each shard series the version has."""
    return {Series(series): SERIES_MEDIA[Series(series)] for series in description.shard_series()}


def _webdataset_snippet(description: DatasetDescription) -> str:
    """Reads each shard series the version has, naming the media member its samples hold."""
    members = "".join(
        f'\n    "{shard_pattern(description.bundle_name, series)}": "{media.extension}",'
        for series, media in _series_media(description).items()
    )
    return f"""import glob

import webdataset as wds

# Each shard series and its samples' media member: a PIL image (jpg, png) or a video's bytes (mp4, webm).
series_media = {{{members}\n}}
for pattern, member in series_media.items():
    dataset = wds.WebDataset(sorted(glob.glob(pattern)), shardshuffle=False).decode("pil")
    for sample in dataset:
        row, media = sample["json"], sample[member]  # the sample's manifest row as a dict, and its media
        print(sample["__key__"], row["media_type"], row["width"], row["height"], row["consent_uses"])"""


def _croissant_snippet(description: DatasetDescription) -> str:
    """The manifest's rows, then the media of the first shard series, through Croissant's record sets."""
    series, media = next(iter(_series_media(description).items()))
    shown = (
        f'record["{series}/content"].size)  # a PIL image'
        if media.feature_class == "Image"
        else f'len(record["{series}/content"]))  # the video file\'s bytes'
    )
    return f"""import mlcroissant as mlc

dataset = mlc.Dataset(jsonld="{CROISSANT_NAME}")
for record in dataset.records("{RECORD_SET}"):
    print(record["{RECORD_SET}/key"].decode())  # text fields come as bytes
# The media, one record set per shard series ({", ".join(_series_media(description))}). mlcroissant extracts the
# shards into its cache (CROISSANT_CACHE, else ~/.cache/croissant) by file name: clear it after shards change.
for record in dataset.records("{series}"):
    print(record["{series}/key"].decode(), {shown}"""


def _rights_section(description: DatasetDescription) -> str:
    """How a buyer reads the rights a delivered file carries; nothing when no file of the version has C2PA."""
    carrying = [series for series, media in _series_media(description).items() if media.credentials]
    if not carrying:
        return ""
    series = carrying[0]
    media = SERIES_MEDIA[series]
    snippet = f"""import glob
import io
import json
import tarfile

import c2pa

shard = sorted(glob.glob("{shard_pattern(description.bundle_name, series)}"))[0]
with tarfile.open(shard) as tar:
    member = next(m for m in tar.getmembers() if m.name.endswith(".{media.extension}"))
    data = tar.extractfile(member).read()
with c2pa.Reader("{SERIES_FILES[series][1]}", io.BytesIO(data)) as reader:
    store = json.loads(reader.json())
    manifest = store["manifests"][store["active_manifest"]]
    print(member.name, reader.get_validation_state())
    for assertion in manifest["assertions"]:
        if assertion["label"] in ("cawg.training-mining", "datamarket.rights"):
            print(assertion["label"], assertion["data"])"""
    return f"""## Rights in every file

Every delivered file states its own rights, so they stay with a picture copied out of its shard. Photos \
carry IPTC's `plus:DataMining` in XMP, and photos and MP4 videos a signed C2PA manifest with the CAWG \
training-and-data-mining assertion (`cawg.training-mining`: data mining, AI inference, AI training and \
generative AI training, each allowed, notAllowed or constrained, with the creator's constraint), and the \
license terms, consent id and release ids the sample was sold under (`datamarket.rights`). The manifest's \
`content_credentials` column says which files have one (C2PA has no WebM binding). The manifest's hash \
binding covers every byte, so a changed file no longer validates. Read it with \
[c2pa-python](https://github.com/contentauth/c2pa-python) (`pip install c2pa-python`):

```python
{snippet}
```

The validation state it prints is `Valid` for an untouched file (`Trusted` once the certificate that signed \
it is in your C2PA trust list) and `Invalid` for a changed one. The site's client checks every file at once, each against \
its manifest row: `datamarket verify --content-credentials <bundle folder>` (installed with its `c2pa` extra).

"""


def _hugging_face_snippet(description: DatasetDescription) -> str:
    """Loads each shard series the version has as a dataset of its own."""
    series_media = _series_media(description)
    imports = sorted({"Features", "Value", *(media.feature_class for media in series_media.values())})
    loads = "\n".join(
        f'{series.replace("-", "_")} = load_series("{shard_pattern(description.bundle_name, series)}", '
        f'{{"{media.extension}": {media.feature}}})\n{media.first_sample}'
        for series, media in series_media.items()
    )
    return f"""import pyarrow.parquet as pq
from datasets import {", ".join(imports)}, load_dataset

# Each sample's JSON typed by the manifest's schema: inferred from a shard's first few samples instead, a
# column empty in all of them (captions, say) would be typed null and the first value after them fail to load.
row = Features.from_arrow_schema(pq.read_schema("{PARQUET_NAME}"))


def load_series(shards, media):
    # One dataset per shard series: the webdataset builder wants the same file types in every sample.
    features = Features({{**media, "json": row, "__key__": Value("string"), "__url__": Value("string")}})
    return load_dataset("webdataset", data_files={{"train": shards}}, split="train", features=features)


{loads}"""


def _tier_summary(tier: LicenseTier) -> str:
    """A tier's heading (its manifest name too, to find the samples it covers) and what it permits."""
    return f"""**{tier_title(tier)}** ({tier.url}), `{license_terms_item(tier.slug, tier.version)}` in the \
manifest's `license_terms`:

- Permitted uses: {permitted_uses_text(tier)}.
- Commercial use: {"permitted" if tier.commercial else "not permitted"}.
- Generating the likeness of people shown: \
{"permitted, within the limits of the terms" if tier.likeness_generation else "not permitted"}."""


def license_text(description: DatasetDescription) -> str:
    """LICENSE.txt: a header naming the dataset version and saying which tier applies, then each tier's exact
    text under a separator line naming it."""
    header = (
        f"{description.title} ({description.bundle_name}), version {description.version}\n"
        f"This version is offered under {len(description.licenses)} license tier(s), each in full below. Your "
        "license certificate names the tier that applies to you; only that tier's terms license you.\n"
    )
    return header + "".join(
        f"\n{license_separator(tier)}\n\n{_ending_a_line(tier.text)}" for tier in description.licenses
    )


def _ending_a_line(text: str) -> str:
    # The next tier's separator must start a line of its own.
    return text if text.endswith("\n") else f"{text}\n"


def license_separator(tier: LicenseTier) -> str:
    """The line above a tier's text in LICENSE.txt."""
    return f"===== {tier.name} ({tier.slug}), terms version {tier.version}: {tier.url} ====="


def write_readme(description: DatasetDescription, path: Path) -> Path:
    path.write_bytes(readme_markdown(description).encode())
    return path


def write_license(description: DatasetDescription, path: Path) -> Path:
    path.write_bytes(license_text(description).encode())
    return path
