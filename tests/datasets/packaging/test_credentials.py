"""Rights written into delivered files: the XMP values, the C2PA manifest, and who may sign it."""

import io
import re

import pytest
from cryptography.hazmat.primitives import serialization
from PIL import Image

from datasets.packaging.credentials import (
    DIGITAL_CAPTURE,
    ContentSigner,
    Rights,
    data_mining_value,
    read_manifest,
    rights_xmp,
    signing_algorithm,
    stamp,
)
from datasets.packaging.renditions import photo_rendition
from datasets.signing_key import content_signer

ALLOWED = ("allowed", "")
VOCABULARY = "http://ns.useplus.org/ldf/vocab/"


def rights(**uses: tuple[str, str]) -> Rights:
    every_use = dict.fromkeys(
        ("data_mining", "ai_inference", "ai_training", "ai_generative_training"), ALLOWED
    )
    return Rights(
        uses=every_use | uses,
        license_terms=("research/1",),
        consent_id="5b0e6f1a-7d3c-4e2b-9a8f-1c2d3e4f5a6b",
        release_ids=(),
        digital_source_type=DIGITAL_CAPTURE,
        web_statement="https://data.example.com/datasets/city-life/",
    )


@pytest.mark.parametrize(
    ("uses", "term"),
    [
        ({}, "DMI-ALLOWED"),
        ({"data_mining": ("notAllowed", "")}, "DMI-PROHIBITED"),
        ({"ai_training": ("notAllowed", "")}, "DMI-PROHIBITED-AIMLTRAINING"),
        ({"ai_generative_training": ("notAllowed", "")}, "DMI-PROHIBITED-GENAIMLTRAINING"),
        ({"ai_training": ("constrained", "Faces blurred")}, "DMI-PROHIBITED-SEECONSTRAINT"),
        ({"ai_inference": ("notAllowed", "")}, "DMI-PROHIBITED-SEEEMBEDDEDRIGHTSEXPR"),
    ],
)
def test_the_data_mining_value_matches_the_permissions(uses, term):
    assert data_mining_value(rights(**uses).uses) == VOCABULARY + term


def test_a_hostile_constraint_stays_text_inside_the_xmp():
    hostile = 'x"/><rdf:li>DMI-ALLOWED</rdf:li><!-- & ]]>'

    packet = rights_xmp(rights(ai_training=("constrained", hostile))).decode()

    assert "<rdf:li>DMI-ALLOWED" not in packet
    assert "x&quot;/&gt;&lt;rdf:li&gt;" in packet or 'x"/&gt;&lt;rdf:li&gt;' in packet
    assert re.search(r'plus:DataMining="[^"]*DMI-PROHIBITED-SEECONSTRAINT"', packet)


def _photo(tmp_path):
    source = tmp_path / "upload.jpg"
    Image.new("RGB", (64, 48), (120, 80, 40)).save(source, "JPEG")
    return photo_rendition(source, tmp_path)


def test_an_operators_certificate_signs_with_its_own_algorithm(settings, tmp_path, c2pa_test_chain):
    chain, key = c2pa_test_chain  # a certificate authority's ES256 chain: a key that is not the site's
    settings.C2PA_CERTIFICATE_CHAIN, settings.C2PA_PRIVATE_KEY = chain.decode(), key.decode()

    signer = content_signer()
    stamp(_photo(tmp_path), rights(), signer.signer(), title="sample.jpg", dest=tmp_path / "signed.jpg")
    manifest, state = read_manifest(tmp_path / "signed.jpg", "image/jpeg")

    assert signing_algorithm(key) == "es256"
    assert state == "Valid"
    assert manifest["signature_info"]["alg"] == "Es256"
    assert manifest["signature_info"]["common_name"] == "Test signer"


def test_without_an_operator_certificate_the_site_signing_key_signs(settings, tmp_path):
    settings.C2PA_CERTIFICATE_CHAIN = settings.C2PA_PRIVATE_KEY = ""

    stamp(_photo(tmp_path), rights(), content_signer().signer(), title="s.jpg", dest=tmp_path / "signed.jpg")
    manifest, state = read_manifest(tmp_path / "signed.jpg", "image/jpeg")

    assert state == "Valid"
    assert manifest["signature_info"]["alg"] == "Ed25519"


def test_a_key_c2pa_cannot_sign_with_is_refused():
    from cryptography.hazmat.primitives.asymmetric import dsa

    key = dsa.generate_private_key(2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )

    with pytest.raises(ValueError, match="C2PA cannot sign with a"):
        ContentSigner(certificate_chain=b"", private_key=key).signer()


def test_the_xmp_reaches_a_png_reader(tmp_path):
    source = tmp_path / "alpha.png"
    Image.new("RGBA", (32, 32), (0, 0, 0, 100)).save(source)
    made = photo_rendition(source, tmp_path)

    stamp(made, rights(), content_signer().signer(), title="a.png", dest=tmp_path / "signed.png")

    with Image.open(io.BytesIO((tmp_path / "signed.png").read_bytes())) as picture:
        assert "DMI-ALLOWED" in picture.info["XML:com.adobe.xmp"]
