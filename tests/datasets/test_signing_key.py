import stat

import pytest

from datasets.checks import signing_keys_check
from datasets.packaging.checksums import generate_private_key_pem, load_private_key, public_key_pem
from datasets.signing_key import KEY_FILE_NAME, signing_key


def test_without_a_setting_a_key_is_generated_into_var_once_and_kept(settings, tmp_path):
    settings.SIGNING_KEY = ""
    settings.VAR_DIR = tmp_path

    first = signing_key()
    key_file = tmp_path / KEY_FILE_NAME

    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert public_key_pem(signing_key()) == public_key_pem(first)
    assert [path.name for path in tmp_path.iterdir()] == [KEY_FILE_NAME]


def test_the_setting_wins_over_the_var_file(settings, tmp_path):
    pem = generate_private_key_pem()
    settings.SIGNING_KEY = pem.decode()
    settings.VAR_DIR = tmp_path

    assert public_key_pem(signing_key()).startswith(b"-----BEGIN PUBLIC KEY-----")
    assert signing_key().private_bytes_raw() == load_private_key(pem).private_bytes_raw()
    assert not (tmp_path / KEY_FILE_NAME).exists()


def test_a_setting_that_is_not_an_ed25519_key_is_refused(settings):
    settings.SIGNING_KEY = "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n"

    with pytest.raises(ValueError, match="not an unencrypted PKCS#8 PEM private key"):
        signing_key()


@pytest.mark.parametrize(
    ("setting", "value", "check_id"),
    [
        ("SIGNING_KEY", "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----", "datasets.E001"),
        ("SIGNING_KEYS_RETIRED", "an old key, pasted badly", "datasets.E002"),
    ],
)
def test_a_malformed_signing_key_fails_the_system_checks(settings, setting, value, check_id):
    setattr(settings, setting, value)

    messages = signing_keys_check()

    assert [message.id for message in messages] == [check_id]


def test_well_formed_signing_keys_pass_the_system_checks(settings):
    private_pem = generate_private_key_pem()
    settings.SIGNING_KEY = private_pem.decode()
    settings.SIGNING_KEYS_RETIRED = public_key_pem(load_private_key(generate_private_key_pem())).decode()

    assert signing_keys_check() == []
