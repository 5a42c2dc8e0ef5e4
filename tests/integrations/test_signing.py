"""The signature a receiver checks: HMAC-SHA256 over the timestamp and the raw body."""
from __future__ import annotations

import hashlib
import hmac

import pytest

from ideas.integrations import signing

# Pure rules, no database: the same on either backend, so `make test` runs them on one
# (`once`, docs/testing.md).
pytestmark = pytest.mark.once

BODY = b'{"event":"decision","id":7}'


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body():
    expected = hmac.new(b"whsec_secret", b"1794232800." + BODY, hashlib.sha256).hexdigest()
    assert signing.signature("whsec_secret", 1794232800, BODY) == f"sha256={expected}"


def test_it_verifies_with_the_secret_and_fails_with_another():
    header = signing.signature("whsec_right", 1000, BODY)
    assert signing.verify("whsec_right", BODY, "1000", header, now=1010)
    assert not signing.verify("whsec_wrong", BODY, "1000", header, now=1010)


def test_any_change_to_body_or_timestamp_breaks_it():
    header = signing.signature("whsec_right", 1000, BODY)
    assert not signing.verify("whsec_right", BODY + b" ", "1000", header, now=1000)
    assert not signing.verify("whsec_right", BODY, "1001", header, now=1001)


def test_an_old_timestamp_is_a_replay():
    header = signing.signature("whsec_right", 1000, BODY)
    assert signing.verify("whsec_right", BODY, "1000", header, now=1000 + signing.TOLERANCE_SECONDS)
    assert not signing.verify("whsec_right", BODY, "1000", header, now=1001 + signing.TOLERANCE_SECONDS)


def test_missing_or_garbled_headers_do_not_verify():
    header = signing.signature("whsec_right", 1000, BODY)
    assert not signing.verify("whsec_right", BODY, None, header, now=1000)
    assert not signing.verify("whsec_right", BODY, "soon", header, now=1000)
    assert not signing.verify("whsec_right", BODY, "1000", None, now=1000)
    assert not signing.verify("whsec_right", BODY, "1000", "sha1=abc", now=1000)


def test_new_secrets_are_long_random_and_recognisable():
    one, two = signing.new_secret(), signing.new_secret()
    assert one != two and one.startswith("whsec_") and len(one) >= 40
