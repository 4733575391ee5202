"""The Caddy repository key check: fingerprints of primary keys in an ASCII-armored block,
compared with what gpg prints for the same key (tests/unit/fixtures/test-repo-key.asc, a
throwaway key made with `gpg --quick-gen-key` for this test: 1F89D00A...2D2DFFCA)."""
import base64
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

from ollama_gate_filters import load

openpgp = load("openpgp")

KEY = (Path(__file__).parent / "fixtures/test-repo-key.asc").read_text()
GPG_FINGERPRINT = "1F89D00A118EE568CE0B8CB9DB70C0B32D2DFFCA"  # gpg --list-keys --with-colons


def armored(data: bytes) -> str:
    return "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n" + base64.b64encode(data).decode() + "\n-----END PGP PUBLIC KEY BLOCK-----\n"


def test_fingerprint_is_gpgs():
    assert openpgp.gateway_openpgp_fingerprints(KEY) == [GPG_FINGERPRINT]


def test_new_format_packets_give_the_same_fingerprint():
    data = openpgp._dearmor(KEY)
    rebuilt = b""
    for tag, body in openpgp._packets(data):
        assert len(body) < 192
        rebuilt += bytes([0xC0 | tag, len(body)]) + body
    assert openpgp.gateway_openpgp_fingerprints(armored(rebuilt)) == [GPG_FINGERPRINT]


def test_two_primary_keys_are_both_listed():
    data = openpgp._dearmor(KEY)
    assert openpgp.gateway_openpgp_fingerprints(armored(data + data)) == [GPG_FINGERPRINT] * 2


def test_an_altered_key_has_another_fingerprint():
    data = bytearray(openpgp._dearmor(KEY))
    data[20] ^= 0x01  # a byte of the key material
    assert openpgp.gateway_openpgp_fingerprints(armored(bytes(data))) != [GPG_FINGERPRINT]


@pytest.mark.parametrize("text", ["<html>Not Found</html>", armored(b"\x00\x01"), armored(b"\x98\x05\x04")])
def test_what_is_not_a_key_is_an_error(text):
    with pytest.raises(AnsibleFilterError):
        openpgp.gateway_openpgp_fingerprints(text)
