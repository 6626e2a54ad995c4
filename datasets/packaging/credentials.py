"""Rights written into a delivered file: an XMP packet with IPTC's `plus:DataMining`, and a signed C2PA manifest.

Once a buyer copies a picture out of its shard, the file itself still says what it may be used for: the
CAWG training-and-data-mining assertion (`cawg.training-mining`) with the sample's permissions for data
mining, AI inference, AI training and generative AI training and the creator's constraint, beside the
license terms, consent and release ids it was sold under. The manifest's hash binding covers every byte of
the file, so a changed pixel shows as a failed validation in any C2PA reader.

Plain functions over files: no ORM, no Django. The signer (certificate chain and key) comes from the caller.
"""

import io
import json
import shutil
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import c2pa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from datasets.packaging.renditions import Method, Rendition, Series

PLUS_VOCABULARY = "http://ns.useplus.org/ldf/vocab/"
IPTC_SOURCE_TYPES = "http://cv.iptc.org/newscodes/digitalsourcetype/"
DIGITAL_CAPTURE = IPTC_SOURCE_TYPES + "digitalCapture"
TRAINING_MINING_LABEL = "cawg.training-mining"
# The site's own assertion: what the sample was licensed under. Entity-specific labels are the entity's.
RIGHTS_LABEL = "datamarket.rights"
# The CAWG uses, in the assertion's own names, from the manifest's use keys.
CAWG_ENTRY_NAMES = {
    "data_mining": "cawg.data_mining",
    "ai_inference": "cawg.ai_inference",
    "ai_training": "cawg.ai_training",
    "ai_generative_training": "cawg.ai_generative_training",
}
GRANTED = ("allowed", "constrained")
# The C2PA actions that say what was done to the upload to make the delivered file.
METHOD_ACTIONS: dict[Method, list[str]] = {
    Method.JPEG_AS_UPLOADED: ["c2pa.edited.metadata"],
    Method.JPEG_LOSSLESS_ROTATION: ["c2pa.orientation", "c2pa.edited.metadata"],
    Method.JPEG_REENCODED: ["c2pa.orientation", "c2pa.transcoded", "c2pa.edited.metadata"],
    Method.CONVERTED: ["c2pa.transcoded", "c2pa.edited.metadata"],
    Method.REMUXED: ["c2pa.repackaged", "c2pa.edited.metadata"],
    Method.TRANSCODED: ["c2pa.transcoded", "c2pa.edited.metadata"],
}
XMP_NAMESPACE_ID = b"http://ns.adobe.com/xap/1.0/\x00"


class Credentials(StrEnum):
    """What the manifest's `content_credentials` column says of a delivered file."""

    EMBEDDED = "c2pa"
    # c2pa-python cannot embed a manifest in a WebM (Matroska) file.
    NOT_SUPPORTED = "none: C2PA has no WebM binding"


@dataclass(frozen=True)
class Rights:
    """What a delivered sample may be used for, and under which records."""

    # CAWG use key -> (permission: allowed, notAllowed or constrained; the creator's constraint, or "").
    uses: Mapping[str, tuple[str, str]]
    license_terms: tuple[str, ...]  # "<terms slug>/<terms version>", as the manifest's license_terms
    consent_id: str
    release_ids: tuple[str, ...]
    digital_source_type: str  # an IPTC digital source type URI
    web_statement: str  # the page that states the terms: the dataset's page on the site


@dataclass(frozen=True)
class ContentSigner:
    """A C2PA signing credential: a private key (PKCS#8 PEM) and its certificate chain (PEM, end entity first)."""

    certificate_chain: bytes
    private_key: bytes

    def signer(self) -> c2pa.Signer:
        info = c2pa.C2paSignerInfo(
            alg=signing_algorithm(self.private_key).encode(),
            sign_cert=self.certificate_chain,
            private_key=self.private_key,
            ta_url=None,
        )
        return c2pa.Signer.from_info(info)


# C2PA's name of the signature algorithm for each kind of elliptic curve key.
EC_ALGORITHMS = {"secp256r1": "es256", "secp384r1": "es384", "secp521r1": "es512"}


def signing_algorithm(private_key_pem: bytes) -> str:
    """The C2PA signature algorithm a key signs with: ed25519, es256/384/512 by curve, or ps256 for RSA."""
    key = serialization.load_pem_private_key(private_key_pem, password=None)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ed25519"
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name in EC_ALGORITHMS:
        return EC_ALGORITHMS[key.curve.name]
    if isinstance(key, rsa.RSAPrivateKey):
        return "ps256"
    raise ValueError(f"C2PA cannot sign with a {type(key).__name__}: use Ed25519, ECDSA P-256/384/521 or RSA")


def data_mining_value(uses: Mapping[str, tuple[str, str]]) -> str:
    """IPTC's `plus:DataMining` value (a PLUS vocabulary URI) that matches the CAWG permissions."""

    def permission(use: str) -> str:
        return uses.get(use, ("notAllowed", ""))[0]

    if permission("data_mining") not in GRANTED:
        term = "DMI-PROHIBITED"
    elif any(permission(use) == "constrained" for use in CAWG_ENTRY_NAMES):
        term = "DMI-PROHIBITED-SEECONSTRAINT"
    elif permission("ai_training") not in GRANTED:
        term = "DMI-PROHIBITED-AIMLTRAINING"
    elif permission("ai_generative_training") not in GRANTED:
        term = "DMI-PROHIBITED-GENAIMLTRAINING"
    elif permission("ai_inference") not in GRANTED:
        # PLUS has no term for inference alone: the embedded C2PA assertion states it.
        term = "DMI-PROHIBITED-SEEEMBEDDEDRIGHTSEXPR"
    else:
        term = "DMI-ALLOWED"
    return PLUS_VOCABULARY + term


def rights_xmp(rights: Rights) -> bytes:
    """An XMP packet with the data-mining value, the constraints in words, the terms' page and the source type."""
    constraints = "; ".join(
        f"{use}: {text}"
        for use, (permission, text) in sorted(rights.uses.items())
        if permission == "constrained"
    )
    other = (
        '<plus:OtherConstraints><rdf:Alt><rdf:li xml:lang="x-default">'
        f"{escape(constraints)}</rdf:li></rdf:Alt></plus:OtherConstraints>"
        if constraints
        else ""
    )
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about=""'
        ' xmlns:plus="http://ns.useplus.org/ldf/xmp/1.0/"'
        ' xmlns:xmpRights="http://ns.adobe.com/xap/1.0/rights/"'
        ' xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"'
        f" plus:DataMining={quoteattr(data_mining_value(rights.uses))}"
        f" xmpRights:WebStatement={quoteattr(rights.web_statement)}"
        f" Iptc4xmpExt:DigitalSourceType={quoteattr(rights.digital_source_type)}>"
        f"{other}</rdf:Description></rdf:RDF></x:xmpmeta>"
        '<?xpacket end="r"?>'
    ).encode()


def manifest_definition(rights: Rights, rendition: Rendition, title: str) -> dict[str, object]:
    """The C2PA manifest a delivered file carries."""
    actions = [{"action": "c2pa.created", "digitalSourceType": rights.digital_source_type}]
    actions += [{"action": action} for action in METHOD_ACTIONS[rendition.method]]
    entries = {}
    for use, entry in CAWG_ENTRY_NAMES.items():
        permission, constraint = rights.uses.get(use, ("notAllowed", ""))
        entries[entry] = {"use": permission} | ({"constraint_info": constraint} if constraint else {})
    return {
        "claim_generator_info": [{"name": "datamarket", "version": "1"}],
        "title": title,
        "format": rendition.media_type,
        "assertions": [
            {"label": "c2pa.actions.v2", "data": {"actions": actions}},
            {"label": TRAINING_MINING_LABEL, "data": {"entries": entries}},
            {
                "label": RIGHTS_LABEL,
                "data": {
                    "license_terms": list(rights.license_terms),
                    "consent_id": rights.consent_id,
                    "release_ids": list(rights.release_ids),
                    "web_statement": rights.web_statement,
                },
            },
        ],
    }


def stamp(
    rendition: Rendition, rights: Rights, signer: c2pa.Signer, *, title: str, dest: Path
) -> Credentials:
    """Write `dest`: the rendition with its rights in XMP (photos) and in a signed C2PA manifest (where embeddable).

    A photo is stamped in memory (its size is bounded by ingest's pixel limit); a video streams from file to
    file, whatever its length.
    """
    if rendition.series == Series.VIDEOS_WEBM:
        shutil.copyfile(rendition.path, dest)
        return Credentials.NOT_SUPPORTED
    builder = c2pa.Builder(manifest_definition(rights, rendition, title), context=_context())
    if rendition.series == Series.VIDEOS:
        with rendition.path.open("rb") as source, dest.open("w+b") as signed:
            builder.sign(signer, rendition.media_type, source, signed)
        return Credentials.EMBEDDED
    data = rendition.path.read_bytes()
    with_xmp = _png_with_xmp if rendition.series == Series.PHOTOS_PNG else _jpeg_with_xmp
    # Signed in memory and written once: c2pa reads and writes through Python callbacks, each a file call.
    output = io.BytesIO()
    builder.sign(signer, rendition.media_type, io.BytesIO(with_xmp(data, rights_xmp(rights))), output)
    dest.write_bytes(output.getbuffer())
    return Credentials.EMBEDDED


_CONTEXT: c2pa.Context | None = None


def _context() -> c2pa.Context:
    """How c2pa signs here: no thumbnail in the manifest (the file is the picture, and a thumbnail would add tens
    of KB to each), and video hashed in 1 MB Merkle-tree chunks with anything above 8 MB of scratch spilled to
    a temporary file: hashed whole, a video is held in memory whole (a 200 MB one took 400 MB more)."""
    global _CONTEXT
    if _CONTEXT is None:
        _CONTEXT = c2pa.Context.from_dict(
            {
                "builder": {"thumbnail": {"enabled": False}},
                "core": {"merkle_tree_chunk_size_in_kb": 1024, "backing_store_memory_threshold_in_mb": 8},
            }
        )
    return _CONTEXT


def _jpeg_with_xmp(data: bytes, xmp: bytes) -> bytes:
    """The XMP packet as an APP1 segment, after the JFIF header where there is one (as the standard asks)."""
    segment_body = XMP_NAMESPACE_ID + xmp
    segment = b"\xff\xe1" + (len(segment_body) + 2).to_bytes(2, "big") + segment_body
    at = 2
    if data[2:4] == b"\xff\xe0":
        at += 2 + int.from_bytes(data[4:6], "big")
    return data[:at] + segment + data[at:]


def _png_with_xmp(data: bytes, xmp: bytes) -> bytes:
    """The XMP packet as an iTXt chunk (keyword XML:com.adobe.xmp), after IHDR and before the pixels."""
    chunk_data = b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + xmp
    chunk = len(chunk_data).to_bytes(4, "big") + b"iTXt" + chunk_data
    chunk += zlib.crc32(b"iTXt" + chunk_data).to_bytes(4, "big")
    end_of_header = 8 + 8 + 13 + 4  # signature, IHDR's length and type, its 13 bytes, its CRC
    return data[:end_of_header] + chunk + data[end_of_header:]


def read_manifest(path: Path, media_type: str) -> tuple[dict[str, object], str | None]:
    """The active C2PA manifest of a file and c2pa's validation state (Invalid, Valid or Trusted)."""
    with path.open("rb") as stream, c2pa.Reader(media_type, stream) as reader:
        store = json.loads(reader.json())
        return store["manifests"][store["active_manifest"]], reader.get_validation_state()
