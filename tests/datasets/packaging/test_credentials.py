"""Rights written into delivered files: the XMP values, the C2PA manifest, and who may sign it."""

import datetime as dt
import io
import re

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
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


def _operator_chain() -> tuple[bytes, bytes]:
    """A certificate authority's ECDSA P-256 root and an end-entity certificate it issued, as an operator
    would get one: a key that is not the site's signing key."""
    now = dt.datetime.now(dt.UTC)
    root_key, end_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())

    def name(common_name: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])

    def certificate(subject: str, key: ec.EllipticCurvePrivateKey) -> x509.CertificateBuilder:
        return (
            x509.CertificateBuilder()
            .subject_name(name(subject))
            .issuer_name(name("Example Trust Services root"))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=365))
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False
            )
        )

    root = (
        certificate("Example Trust Services root", root_key)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(root_key, hashes.SHA256())
    )
    end = (
        certificate("Datamarket content credentials", end_key)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    chain = b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in (end, root))
    key = end_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return chain, key


def _photo(tmp_path):
    source = tmp_path / "upload.jpg"
    Image.new("RGB", (64, 48), (120, 80, 40)).save(source, "JPEG")
    return photo_rendition(source, tmp_path)


def test_an_operators_certificate_signs_with_its_own_algorithm(settings, tmp_path):
    chain, key = _operator_chain()
    settings.C2PA_CERTIFICATE_CHAIN, settings.C2PA_PRIVATE_KEY = chain.decode(), key.decode()

    signer = content_signer()
    stamp(_photo(tmp_path), rights(), signer.signer(), title="sample.jpg", dest=tmp_path / "signed.jpg")
    manifest, state = read_manifest(tmp_path / "signed.jpg", "image/jpeg")

    assert signing_algorithm(key) == "es256"
    assert state == "Valid"
    assert manifest["signature_info"]["alg"] == "Es256"
    assert manifest["signature_info"]["common_name"] == "Datamarket content credentials"


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
