"""NTLM over HTTP for pywinrm, with the NEGOTIATE message on the first request of the connection.

requests_ntlm (what pywinrm uses) first sends each new connection's request unauthenticated, waits for the
401, then runs NEGOTIATE / CHALLENGE / AUTHENTICATE: one round trip for nothing, on every host. Windows'
WinRM client sends ``Authorization: Negotiate <NEGOTIATE>`` at once, and so does this wrapper; the
rest is requests_ntlm's own (channel binding over https, the session security that pywinrm's message
encryption wraps and unwraps with). Used on the handshake request pywinrm sends with an empty body to
set up encryption, like Windows' client: a body is sealed only once the context exists.
"""
from __future__ import annotations

import base64
from typing import Any, Optional
from urllib.parse import urlparse

import requests
import spnego
from requests_ntlm import HttpNtlmAuth
from requests_ntlm.requests_ntlm import ShimSessionSecurity

SCHEME = "Negotiate"  # what WinRM offers (WWW-Authenticate: Negotiate); raw NTLM tokens are accepted in it


class NegotiateFirstNtlm(HttpNtlmAuth):
    """requests_ntlm's HttpNtlmAuth, sending the NEGOTIATE message with the connection's first request."""

    def __init__(self, username: str, password: str, send_cbt: bool = True) -> None:
        super().__init__(username, password, send_cbt=send_cbt)
        self._context: Optional[Any] = None  # the NTLM client context between NEGOTIATE and AUTHENTICATE

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Connection"] = "Keep-Alive"  # NTLM authenticates the connection, not each request
        if self.session_security is None:
            self._context = spnego.client(self.username, self.password, protocol="ntlm",
                                          hostname=urlparse(request.url).hostname, service="http",
                                          options=spnego.NegotiateOptions.use_ntlm)
            request.headers["Authorization"] = f"{SCHEME} {base64.b64encode(self._context.step()).decode()}"
            request.register_hook("response", self._challenged)
        return request

    def _challenged(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        """Answer the CHALLENGE of a 401 with the AUTHENTICATE message, on the same connection."""
        context, self._context = self._context, None
        challenge = _token(response.headers.get("WWW-Authenticate", ""))
        if response.status_code != 401 or context is None or challenge is None:
            return response  # no challenge: refused outright (pywinrm reports the 401)
        server_hash = self._get_server_cert(response)  # https: bind the credentials to this TLS channel
        bindings = spnego.channel_bindings.GssChannelBindings(
            application_data=b"tls-server-end-point:" + server_hash) if server_hash else None
        authenticate = context.step(challenge, channel_bindings=bindings)
        response.content  # read it all, so that the connection goes back to the pool for the next send
        response.raw.release_conn()
        request = response.request.copy()
        if request.body is not None and hasattr(request.body, "seek"):
            request.body.seek(0)
        request.headers["Authorization"] = f"{SCHEME} {base64.b64encode(authenticate).decode()}"
        answer = response.connection.send(request, **kwargs)  # type: ignore[attr-defined]
        answer.history.append(response)
        if answer.status_code != 401:
            self.session_security = ShimSessionSecurity(context)
        return answer


def _token(header: str) -> Optional[bytes]:
    """The NTLM token of a ``WWW-Authenticate: Negotiate <token>`` header (None when there is none)."""
    for offer in header.split(","):
        scheme, _, token = offer.strip().partition(" ")
        if scheme.lower() == SCHEME.lower() and token.strip():
            try:
                return base64.b64decode(token.strip(), validate=True)
            except ValueError:
                return None
    return None
