"""The server's signing key lives in a file made on first use, readable by the owner only."""

import stat
from pathlib import Path

import pytest

from consult.lib import server_key
from consult.lib.crypto import ecdsa_verify, public_key_bytes, unb64u


@pytest.fixture
def key_file(tmp_path: Path, settings: object) -> Path:
    path = tmp_path / "keys" / "server-key.pem"
    settings.COMITY_SERVER_KEY_FILE = path  # type: ignore[attr-defined]
    server_key._load.cache_clear()
    yield path
    server_key._load.cache_clear()


def test_server_key__made_on_first_use_with_mode_0600(key_file: Path) -> None:
    assert not key_file.exists()
    public = server_key.server_public_key_b64u()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(unb64u(public)) == 65


def test_server_key__same_key_on_every_load(key_file: Path) -> None:
    first = server_key.server_public_key_b64u()
    server_key._load.cache_clear()
    assert server_key.server_public_key_b64u() == first


def test_server_key__signatures_verify_with_the_published_key(key_file: Path) -> None:
    from consult.lib.crypto import ecdsa_sign, load_public_key

    signature = ecdsa_sign(server_key.server_private_key(), b"record")
    public = load_public_key(unb64u(server_key.server_public_key_b64u()))
    assert ecdsa_verify(public, signature, b"record")
    assert public_key_bytes(public) == public_key_bytes(server_key.server_private_key())


def test_server_key__refuses_a_file_that_is_not_a_p256_key(key_file: Path) -> None:
    key_file.parent.mkdir(parents=True)
    key_file.write_text("not a key")
    with pytest.raises(ValueError):
        server_key.server_private_key()
