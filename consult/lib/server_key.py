"""The server's ECDSA P-256 signing key, kept in a file (DESIGN §5).

The file's path is the setting ``COMITY_SERVER_KEY_FILE``. It is made on first
use if missing, with mode 0600, atomically: several workers starting together
agree on one key because only one ``O_EXCL`` creation can win.
"""

import functools
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from consult.conf import comity_settings
from consult.lib.crypto import b64u, generate_private_key, public_key_bytes


def _create(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = generate_private_key().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # another worker won the race; use its key
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)


@functools.lru_cache(maxsize=4)
def _load(path: str) -> ec.EllipticCurvePrivateKey:
    file = Path(path)
    if not file.exists():
        _create(file)
    key = serialization.load_pem_private_key(file.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ValueError(f"{path} does not hold a P-256 private key")
    return key


def server_private_key() -> ec.EllipticCurvePrivateKey:
    return _load(str(comity_settings.COMITY_SERVER_KEY_FILE))


def server_public_key_b64u() -> str:
    """The 65-byte public point, base64url: what threads pin and clients verify."""
    return b64u(public_key_bytes(server_private_key()))
