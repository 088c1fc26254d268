"""RFC 3161 time-stamps against a local TSA (openssl ts -reply on loopback), checked offline."""

from __future__ import annotations

import hashlib
import logging
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from tests.support.local_tsa import LocalTsa, refused_url

from jikimi.errors import SettingsError, TimestampError
from jikimi.evidence.timestamps import (
    TimeStamper,
    load_roots,
    stamper_for,
    timestamp_request,
    token_time,
    trusted_roots,
    tsa_name,
    verify_token,
)
from jikimi.settings import load_settings

DIGEST = hashlib.sha256(b"evidence manifest").digest()
OTHER_DIGEST = hashlib.sha256(b"another manifest").digest()


def test_stamp_then_verify_offline(local_tsa: LocalTsa) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    tokens = TimeStamper([local_tsa.url]).stamp(DIGEST)
    assert len(tokens) == 1
    token = tokens[0]
    assert token.tsa == local_tsa.url
    assert token.time.tzinfo is not None and token.time >= before
    assert token_time(token.token) == token.time

    check = verify_token(token.token, DIGEST, roots=[local_tsa.root_pem])
    assert check.ok, check.problem
    assert check.time == token.time
    assert check.tsa is not None and "local TSA" in check.tsa
    assert check.problem is None


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")
def test_the_kept_token_verifies_with_openssl_too(local_tsa: LocalTsa, tmp_path: Path) -> None:
    token = TimeStamper([local_tsa.url]).stamp(DIGEST)[0].token
    (tmp_path / "token.der").write_bytes(token)
    (tmp_path / "root.pem").write_bytes(local_tsa.root_pem)
    run = subprocess.run(
        [
            "openssl",
            "ts",
            "-verify",
            "-token_in",
            "-in",
            str(tmp_path / "token.der"),
            "-digest",
            DIGEST.hex(),
            "-CAfile",
            str(tmp_path / "root.pem"),
        ],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert "Verification: OK" in run.stdout


def test_a_token_for_another_digest_fails(local_tsa: LocalTsa) -> None:
    token = TimeStamper([local_tsa.url]).stamp(DIGEST)[0].token
    check = verify_token(token, OTHER_DIGEST, roots=[local_tsa.root_pem])
    assert not check.ok
    assert check.problem == "the token is for another digest"


def test_a_token_from_an_untrusted_root_fails(local_tsa: LocalTsa, other_tsa: LocalTsa) -> None:
    token = TimeStamper([other_tsa.url]).stamp(DIGEST)[0].token
    check = verify_token(token, DIGEST, roots=[local_tsa.root_pem])
    assert not check.ok
    assert check.problem is not None and "does not verify" in check.problem
    assert verify_token(token, DIGEST, roots=[local_tsa.root_pem, other_tsa.root_pem]).ok


def test_an_edited_token_fails(local_tsa: LocalTsa) -> None:
    token = bytearray(TimeStamper([local_tsa.url]).stamp(DIGEST)[0].token)
    token[-10] ^= 0x01  # inside the signature
    check = verify_token(bytes(token), DIGEST, roots=[local_tsa.root_pem])
    assert not check.ok


def test_garbage_or_no_roots_fail_clearly(local_tsa: LocalTsa) -> None:
    garbage = verify_token(b"not a token", DIGEST, roots=[local_tsa.root_pem])
    assert not garbage.ok and garbage.time is None
    assert garbage.problem is not None and "not an RFC 3161" in garbage.problem
    token = TimeStamper([local_tsa.url]).stamp(DIGEST)[0].token
    unchecked = verify_token(token, DIGEST, roots=[])
    assert not unchecked.ok and unchecked.problem is not None and "roots" in unchecked.problem


@pytest.mark.parametrize(
    ("mode", "said"),
    [
        ("down", "unreachable"),
        ("garbage", "not an RFC 3161 TimeStampResp"),
        ("http500", "HTTP 500"),
        ("reject", "refused the request: status rejection"),
        ("wrong_nonce", "nonce"),
    ],
)
def test_a_failing_tsa_is_named_with_its_problem(local_tsa: LocalTsa, mode: str, said: str) -> None:
    local_tsa.mode = mode  # type: ignore[assignment]
    with pytest.raises(TimestampError) as caught:
        TimeStamper([local_tsa.url], timeout=5).stamp(DIGEST)
    message = str(caught.value)
    assert local_tsa.url in message and said in message
    assert [tsa for tsa, _ in caught.value.failures] == [local_tsa.url]
    assert local_tsa.requests == 1


def test_a_refused_connection_is_named() -> None:
    url = refused_url()
    with pytest.raises(TimestampError, match="unreachable") as caught:
        TimeStamper([url], timeout=5).stamp(DIGEST)
    assert url in str(caught.value)


def test_one_tsa_down_of_two_gives_one_token_and_the_failure(local_tsa: LocalTsa) -> None:
    down = refused_url()
    stamper = TimeStamper([down, local_tsa.url], timeout=5)
    tokens = stamper.stamp(DIGEST)
    assert [t.tsa for t in tokens] == [local_tsa.url]
    assert [f.tsa for f in stamper.last_failures] == [down]
    assert "unreachable" in stamper.last_failures[0].problem
    # the next call starts afresh
    stamper.urls = [local_tsa.url]
    stamper.stamp(DIGEST)
    assert stamper.last_failures == []


def test_two_tsas_give_two_tokens(local_tsa: LocalTsa, other_tsa: LocalTsa) -> None:
    tokens = TimeStamper([local_tsa.url, other_tsa.url]).stamp(DIGEST)
    roots = [local_tsa.root_pem, other_tsa.root_pem]
    assert [t.tsa for t in tokens] == [local_tsa.url, other_tsa.url]
    assert all(verify_token(t.token, DIGEST, roots=roots).ok for t in tokens)


def test_a_given_client_is_used_and_left_open(local_tsa: LocalTsa) -> None:
    with httpx.Client() as client:
        TimeStamper([local_tsa.url], client=client).stamp(DIGEST)
        assert not client.is_closed


def test_no_tsa_configured_or_a_wrong_digest_is_refused() -> None:
    with pytest.raises(TimestampError, match="tsa_urls"):
        TimeStamper([]).stamp(DIGEST)
    with pytest.raises(ValueError, match="32 bytes"):
        TimeStamper(["http://127.0.0.1:9/"]).stamp(b"short")


def test_request_encoding_matches_rfc_3161() -> None:
    from rfc3161_client._rust import parse_timestamp_request

    request = parse_timestamp_request(timestamp_request(DIGEST, 2**62 + 5))
    assert request.version == 1
    assert request.nonce == 2**62 + 5
    assert request.cert_req is True
    assert request.message_imprint.message == DIGEST
    assert request.message_imprint.hash_algorithm.dotted_string == "2.16.840.1.101.3.4.2.1"


def test_roots_from_settings(local_tsa: LocalTsa, tmp_path: Path) -> None:
    bundle = tmp_path / "roots.pem"
    bundle.write_bytes(local_tsa.root_pem + local_tsa.root_pem)
    settings = load_settings(home=tmp_path, tsa_certificates=bundle, tsa_urls=[local_tsa.url])
    assert trusted_roots(settings) == load_roots(bundle.read_bytes())
    token = stamper_for(settings).stamp(DIGEST)[0].token
    assert verify_token(token, DIGEST, roots=trusted_roots(settings)).ok
    assert trusted_roots(load_settings(home=tmp_path)) == []
    bundle.write_text("not pem")
    with pytest.raises(SettingsError, match="tsa_certificates"):
        trusted_roots(settings)


def test_the_interface_others_code_against_is_exported() -> None:
    import jikimi.evidence.timestamps as module

    interface = {"TimeStamper", "TimestampToken", "TokenCheck", "verify_token"}
    assert interface <= set(module.__all__)
    assert [name for name in module.__all__ if not hasattr(module, name)] == []


def test_a_tsa_is_named_without_credentials_or_query(
    local_tsa: LocalTsa, caplog: pytest.LogCaptureFixture
) -> None:
    def secret(url: str) -> str:
        return url.replace("http://", "http://tsa-user:s3cret-pw@") + "?key=q-secret"

    down = refused_url()
    stamper = TimeStamper([secret(local_tsa.url), secret(down)], timeout=5)
    with caplog.at_level(logging.INFO, logger="httpx"):
        [token] = stamper.stamp(DIGEST)
    assert token.tsa == local_tsa.url
    [failure] = stamper.last_failures
    assert failure.tsa == down
    assert "s3cret-pw" not in failure.problem and "q-secret" not in failure.problem
    assert caplog.records and "s3cret-pw" not in caplog.text
    with pytest.raises(TimestampError) as raised:
        TimeStamper([secret(down)], timeout=5).stamp(DIGEST)
    assert down in str(raised.value)
    assert "s3cret-pw" not in str(raised.value) and "q-secret" not in str(raised.value)
    assert "tsa-user" not in str(raised.value)
    assert tsa_name("https://u:p@tsa.example:8443/ts?k=v#f") == "https://tsa.example:8443/ts"
