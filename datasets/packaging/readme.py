"""README.md (what the bundle is, how to verify and load it, the license in brief) and LICENSE.txt."""

from pathlib import Path

from datasets.packaging.checksums import SIGNATURE_NAME, SUMS_NAME
from datasets.packaging.croissant import CROISSANT_NAME, RECORD_SET, citation
from datasets.packaging.datasheet import DATASHEET_NAME
from datasets.packaging.description import DatasetDescription, use_label
from datasets.packaging.manifest import JSONL_NAME, PARQUET_NAME

README_NAME = "README.md"
LICENSE_NAME = "LICENSE.txt"
# What the README tells buyers to save the site's public key as, so its openssl command runs as written.
PUBLIC_KEY_FILE = "site-public-key.pem"


def readme_markdown(description: DatasetDescription) -> str:
    """README.md's text."""
    name, counts, tier = description.bundle_name, description.counts, description.license
    uses = ", ".join(use_label(use) for use in tier.uses) or "none"
    return f"""# {description.title}, version {description.version}

{description.description}

{counts.samples} samples ({counts.images} photos, {counts.videos} videos, {counts.total_bytes} bytes of media) from \
{counts.creators} creators, published {description.published.isoformat()} by {description.publisher_name}. \
Every sample had its creator's active consent for the licensed uses, and releases for the people and \
property shown, when this version was built. Dataset page: {description.page_url}

## Layout

```
{name}/
  {README_NAME}            how to load it (webdataset, Hugging Face datasets), license summary
  {DATASHEET_NAME}         the seven sections of "Datasheets for Datasets", filled from the version's data and stats
  {CROISSANT_NAME}       MLCommons Croissant 1.0 with the Responsible-AI 1.0 properties
  {PARQUET_NAME}     one row per sample (also {JSONL_NAME}): key, sha256, bytes, media type, width,
                       height, duration, capture time, tags, caption, license terms id+version, consent
                       scopes, release ids, pseudonymous creator id, quality signals
  {LICENSE_NAME}          the license terms of this version's tier
  shards/{name}-000000.tar ...   WebDataset: <key>.jpg|.mp4 + <key>.json (the sample's manifest row)
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

From the bundle's folder. With [webdataset](https://github.com/webdataset/webdataset) (`pip install webdataset`):

```python
import glob

import webdataset as wds

shards = sorted(glob.glob("shards/*.tar"))
dataset = wds.WebDataset(shards, shardshuffle=False).decode("pil")
for sample in dataset:
    row = sample["json"]  # the sample's manifest row, as a dict
    media = sample["jpg"] if "jpg" in sample else sample["mp4"]  # a PIL image, or a video's bytes
    print(sample["__key__"], row["media_type"], row["width"], row["height"], row["consent_uses"])
```

With Hugging Face [datasets](https://huggingface.co/docs/datasets) (`pip install datasets`):

```python
from datasets import load_dataset

dataset = load_dataset("webdataset", data_files={{"train": "shards/*.tar"}}, split="train")
print(dataset[0]["json"]["key"])
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
import mlcroissant as mlc

for record in mlc.Dataset(jsonld="{CROISSANT_NAME}").records("{RECORD_SET}"):
    print(record["{RECORD_SET}/key"].decode())  # text fields come as bytes
```

## License

Licensed under **{tier.name}, version {tier.version}** ({tier.url}); the full terms are in {LICENSE_NAME}, \
and your signed license certificate names you as licensee.

- Permitted uses: {uses}.
- Commercial use: {"permitted" if tier.commercial else "not permitted"}.
- Generating the likeness of people shown: {"permitted, within the limits of the terms" if tier.likeness_generation else "not permitted"}.
- Withdrawal: when a creator withdraws consent for a sample in this version, you are told through the \
revocation feed ({description.maintenance.revocation_feed_url}), a signed webhook and email, and must delete \
that sample, and any copy of it, within {description.maintenance.deletion_days} days. A new version without it \
is offered to you at no charge.

Cite as: {citation(description)}

Questions: {description.maintenance.contact}
"""


def license_text(description: DatasetDescription) -> str:
    """LICENSE.txt: a header naming the dataset version and the terms, then the terms' exact text."""
    tier = description.license
    return (
        f"{description.title} ({description.bundle_name}), version {description.version}\n"
        f"Licensed under: {tier.name} ({tier.slug}), terms version {tier.version}\n"
        f"{tier.url}\n"
        "\n"
        f"{tier.text}"
    )


def write_readme(description: DatasetDescription, path: Path) -> Path:
    path.write_bytes(readme_markdown(description).encode())
    return path


def write_license(description: DatasetDescription, path: Path) -> Path:
    path.write_bytes(license_text(description).encode())
    return path
