"""OpenPGP public keys as apt repositories publish them: the fingerprints of their primary keys,
so a downloaded repository key can be checked against a pinned fingerprint before apt trusts it."""
from __future__ import annotations

import base64
import binascii
import hashlib

from ansible.errors import AnsibleFilterError

PUBLIC_KEY = 6  # OpenPGP packet tag of a primary public key (subkeys are 14)


def _dearmor(text: str) -> bytes:
    """The binary packets of an ASCII-armored key (RFC 4880 section 6), or the bytes as they are."""
    if "-----BEGIN PGP PUBLIC KEY BLOCK-----" not in text:
        raise AnsibleFilterError("not an ASCII-armored OpenPGP public key block")
    body = text.split("-----BEGIN PGP PUBLIC KEY BLOCK-----", 1)[1].split("-----END PGP PUBLIC KEY BLOCK-----", 1)[0]
    lines = body.strip().splitlines()
    # armor headers ("Version: ...", "Comment: ...") end at the first empty line
    if any(not line.strip() for line in lines):
        lines = lines[next(i for i, line in enumerate(lines) if not line.strip()) + 1:]
    data = "".join(line.strip() for line in lines if line.strip() and not line.startswith("="))
    try:
        return base64.b64decode(data, validate=True)
    except binascii.Error as exc:
        raise AnsibleFilterError(f"the key's armor is not base64 ({exc})") from None


def _packets(data: bytes):
    """(tag, body) of each packet, old and new formats."""
    pos = 0
    while pos < len(data):
        header = data[pos]
        if not header & 0x80:
            raise AnsibleFilterError(f"not an OpenPGP packet at byte {pos}")
        if header & 0x40:  # new format
            tag, pos = header & 0x3F, pos + 1
            first = data[pos]
            if first < 192:
                length, pos = first, pos + 1
            elif first < 224:
                length, pos = ((first - 192) << 8) + data[pos + 1] + 192, pos + 2
            elif first == 255:
                length, pos = int.from_bytes(data[pos + 1:pos + 5], "big"), pos + 5
            else:
                raise AnsibleFilterError("partial body lengths do not occur in public keys")
        else:  # old format
            tag, kind, pos = (header >> 2) & 0x0F, header & 0x03, pos + 1
            if kind == 3:
                raise AnsibleFilterError("indeterminate packet lengths do not occur in public keys")
            size = (1, 2, 4)[kind]
            length, pos = int.from_bytes(data[pos:pos + size], "big"), pos + size
        if pos + length > len(data):
            raise AnsibleFilterError("the key is truncated")
        yield tag, data[pos:pos + length]
        pos += length


def gateway_openpgp_fingerprints(text: str) -> list[str]:
    """Upper-case hex fingerprints of the primary keys in an ASCII-armored public key block
    (version 4 keys: SHA-1 over 0x99, the two-byte length and the key packet)."""
    fingerprints = []
    for tag, body in _packets(_dearmor(str(text))):
        if tag != PUBLIC_KEY:
            continue
        if not body or body[0] != 4:
            raise AnsibleFilterError(f"version {body[0] if body else '?'} keys are not supported (only version 4)")
        digest = hashlib.sha1(b"\x99" + len(body).to_bytes(2, "big") + body, usedforsecurity=False)
        fingerprints.append(digest.hexdigest().upper())
    return fingerprints


class FilterModule:
    def filters(self):
        return {"gateway_openpgp_fingerprints": gateway_openpgp_fingerprints}
