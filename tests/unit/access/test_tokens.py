"""API key and link tokens, session cookies, CSRF tokens, one-time sign-in links."""

from __future__ import annotations

import pytest

from coreport.access import tokens


def test_issued_key_has_a_visible_prefix_and_only_its_digest_is_kept() -> None:
    issued = tokens.issue(tokens.KEY_KIND)
    assert issued.token.startswith(issued.prefix + "_")
    assert issued.prefix.startswith("cpk_")
    assert len(issued.prefix) == 12
    assert tokens.prefix_of(issued.token, tokens.KEY_KIND) == issued.prefix
    assert issued.digest != issued.token.encode()
    assert tokens.matches(issued.token, issued.digest)
    assert not tokens.matches(issued.token + "x", issued.digest)


def test_two_keys_differ() -> None:
    assert tokens.issue("cpk").token != tokens.issue("cpk").token


@pytest.mark.parametrize(
    "token",
    [
        "",
        "cpk",
        "cpk_1234abcd",
        "cpk_1234abcd_short",
        "csl_1234abcd_" + "x" * 43,  # a link token is not a key
        "cpk_1234ABCD_" + "x" * 43,  # the prefix is lower-case hex
        "cpk_1234abc_" + "x" * 43,
        "Bearer cpk_1234abcd_" + "x" * 43,
    ],
)
def test_malformed_tokens_have_no_prefix(token: str) -> None:
    assert tokens.prefix_of(token, tokens.KEY_KIND) is None


def test_a_secret_with_underscores_still_parses() -> None:
    assert tokens.prefix_of("cpk_0123abcd_a_b_c_d_e_f_g_h_i_j", "cpk") == "cpk_0123abcd"


def test_session_cookie_round_trips_and_forgeries_fail() -> None:
    signer = tokens.CookieSigner(b"k" * 32)
    cookie, id_hash = signer.new_session()
    assert signer.session_hash(cookie) == id_hash
    session_id, _, signature = cookie.rpartition(".")
    assert signer.session_hash(f"{session_id}x.{signature}") is None
    # Another last character (a 32-byte MAC's last of 43 is one of 16, "A" one time in 16).
    altered = "E" if signature.endswith("A") else "A"
    assert signer.session_hash(f"{session_id}.{signature[:-1]}{altered}") is None
    assert signer.session_hash(session_id) is None
    assert signer.session_hash("") is None
    assert tokens.CookieSigner(b"o" * 32).session_hash(cookie) is None


def test_csrf_token_is_bound_to_the_session_and_the_secret() -> None:
    signer = tokens.CookieSigner(b"k" * 32)
    _, first = signer.new_session()
    _, second = signer.new_session()
    assert signer.csrf_token(first) == signer.csrf_token(first)
    assert signer.csrf_token(first) != signer.csrf_token(second)
    assert tokens.CookieSigner(b"o" * 32).csrf_token(first) != signer.csrf_token(first)


def test_short_signing_secrets_are_refused() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        tokens.CookieSigner(b"short")


def test_signin_links_work_once() -> None:
    links = tokens.SigninLinks()
    token = links.issue()
    assert not links.consume("guess")
    assert links.consume(token)
    assert not links.consume(token)
