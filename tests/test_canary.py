"""The canary guarantee: a long secret never reaches a recording, in any of the forms it travels in.

The forms are those a credential takes on the wire or in tool output: plain, URL-encoded (userinfo,
form bodies), hex, UTF-16LE (Windows), base64 of its UTF-8 or UTF-16LE bytes at any alignment inside
a longer base64 value (Basic and NTLM headers, -EncodedCommand).
"""
from __future__ import annotations

import base64
import json
import urllib.parse

import pytest

from ocscheck.facts.store import FactStore, FactUnavailable, Reason, load_recording, save_recording
from ocscheck.secrets import Redactor, Secrets
from tests.helpers_pki import self_signed_pem

CANARY = "Canary-9f3e+/Pw=d&x é"


def encodings(secret: str):
    """Every way the test hides the secret in a fact, with a name for the failure message."""
    utf8, utf16 = secret.encode("utf-8"), secret.encode("utf-16-le")
    yield "plain", f"bind failed for {secret} at ldaps://dc"
    yield "userinfo", f"ldaps://reader:{urllib.parse.quote(secret, safe='')}@dc.todorovic.adds"
    yield "form", "user=x&password=" + urllib.parse.quote_plus(secret)
    yield "hex", "blob " + utf8.hex() + " " + utf16.hex().upper()
    yield "utf16-text", utf16.decode("latin-1")
    for prefix in (b"", b"u", b"us", b"usr:"):
        yield f"basic{len(prefix)}", "Authorization: Basic " + base64.b64encode(prefix + utf8).decode()
        yield f"utf16-b64-{len(prefix)}", base64.b64encode(prefix + utf16 + b"tail").decode()
        yield f"urlsafe{len(prefix)}", base64.urlsafe_b64encode(prefix + utf8 + b"!").decode()


def leaks(text: str, secret: str):
    """The forms of ``secret`` still readable in ``text``: plain, decoded from URL, hex or base64."""
    found = []
    utf8, utf16 = secret.encode("utf-8"), secret.encode("utf-16-le")
    if secret in text or secret in urllib.parse.unquote_plus(text) or utf16.decode("latin-1") in text:
        found.append("plain/url/utf16")
    if utf8.hex() in text.lower() or utf16.hex() in text.lower():
        found.append("hex")
    for word in text.replace(":", " ").replace("=", "= ").split():
        for candidate in (word, word.replace("-", "+").replace("_", "/")):
            try:
                decoded = base64.b64decode(candidate + "=" * (-len(candidate) % 4))
            except ValueError:
                continue
            if utf8 in decoded or utf16 in decoded:
                found.append(f"base64 {word[:20]}")
    return found


def test_encodings_of_the_canary_are_found_unredacted():
    # The oracle itself must see every form, or the next test proves nothing.
    for name, text in encodings(CANARY):
        assert leaks(text, CANARY), name


@pytest.mark.parametrize("name, text", list(encodings(CANARY)))
def test_canary_never_reaches_a_recording(tmp_path, name, text):
    redactor = Redactor()
    Secrets(redactor, environ={"PW": CANARY}).get("PW", "test password")
    store = FactStore(redactor)
    pem = self_signed_pem()
    store.get("fact:value", lambda: {"text": text, "list": [text], "pem": pem})

    def failing():
        raise FactUnavailable(Reason.AUTH_FAILED, text)

    with pytest.raises(FactUnavailable) as info:
        store.get("fact:error", failing)
    assert not leaks(str(info.value), CANARY), name
    save_recording(store.recording(), tmp_path / "facts.json", "post")
    raw = (tmp_path / "facts.json").read_text(encoding="utf-8")
    facts = load_recording(tmp_path / "facts.json")
    for shown in (json.dumps(facts["fact:value"]["value"], ensure_ascii=False), facts["fact:error"]["error"]["detail"],
                  raw):
        assert not leaks(shown, CANARY), (name, shown[:200])
    assert facts["fact:value"]["value"]["pem"] == pem  # certificates stay replayable
