"""HTTP and LDAP facts: CRLs at their distribution points, and the IIS web components over HTTPS.

A CRL fact is what a client would get at the URL: an HTTP status and the body (base64), or the attribute
an ldap:// URL names (``certificateRevocationList``, or ``deltaRevocationList`` for a delta CRL). An ldap:/// URL without a host (what AD CS
writes) is read from the site's domain controller (``[ldap] url``), with the site's bind account, over
LDAPS or StartTLS whenever a password is sent. Any other host is read anonymously, as a Windows client's
CRL fetch is: the URL comes from a certificate not yet trusted, and the site's password must never go to
a host that certificate names. HTTP CRL fetches honour the environment's proxy settings like a client.
"""
from __future__ import annotations

import base64
import math
import re
import ssl
import warnings
from typing import Any, Dict
from urllib.parse import urlsplit

import ldap3
import requests
from ldap3.core import exceptions as ldap_errors
from ldap3.utils.uri import parse_uri
from requests.adapters import HTTPAdapter

from ocscheck.facts.store import FactUnavailable, Reason
from ocscheck.values.http import CrlFetch, WebAnswer

# The cRLDistributionPoint attributes an LDAP CDP URL may name (MS-ADSC 2.28).
CRL_ATTRIBUTES = ("certificaterevocationlist", "deltarevocationlist", "authorityrevocationlist")
MAX_CRL_BYTES = 32 * 1024 * 1024  # a large enterprise CRL is a few MB; more is not a CRL


class _PinnedAddress(HTTPAdapter):
    """Send the request to a fixed address while TLS (SNI, certificate name) uses the server's name."""

    def __init__(self, name: str, **kwargs: Any):
        self._name = name
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["server_hostname"] = self._name
        kwargs["assert_hostname"] = self._name
        kwargs["ssl_context"] = legacy_client_context()
        super().init_poolmanager(*args, **kwargs)


def legacy_client_context() -> ssl.SSLContext:
    """A verifying client context that still speaks to IIS 7.5 on Windows Server 2008 R2 (TLS 1.0 only,
    1024-bit keys): the key and protocol are judged by the checks, not refused here."""
    context = ssl.create_default_context()
    with warnings.catch_warnings():  # deprecated, and exactly what the server speaks
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    return context


def crl_key(url: str) -> str:
    """The recording key of the CRL at ``url`` (http:// or ldap://)."""
    return f"crl:{url}"


def web_key(name: str, port: int, path: str) -> str:
    """The recording key of an anonymous GET of https://``name``:``port````path``."""
    return f"https:{name}:{port}{path}"


class HttpFacts:
    def __init__(self, facts) -> None:
        self._facts = facts
        self._store = facts.store
        self._site = facts.site

    @property
    def _verify(self) -> Any:
        return str(self._site.tls.ca_bundle) if self._site.tls.ca_bundle else True

    def crl(self, url: str) -> CrlFetch:
        """The CRL a client gets from ``url`` (http, https or ldap)."""
        data = self._store.get(crl_key(url), lambda: self._fetch_crl(url))
        return CrlFetch.from_json(data)

    def _fetch_crl(self, url: str) -> Dict[str, Any]:
        try:
            scheme = urlsplit(url).scheme.lower()
        except ValueError as exc:  # a URL from a certificate: hostile or broken, never a crash
            raise FactUnavailable(Reason.PROTOCOL, f"{url}: cannot be parsed ({exc})") from None
        if scheme in ("http", "https"):
            return self._http_crl(url)
        if scheme in ("ldap", "ldaps"):
            return self._ldap_crl(url)
        raise FactUnavailable(Reason.PROTOCOL, f"{url}: unsupported CRL URL scheme {scheme!r}")

    def _http_crl(self, url: str) -> Dict[str, Any]:
        timeout = self._facts.timeout
        try:
            with requests.get(url, timeout=(timeout, timeout), stream=True, verify=self._verify) as response:
                body = bytearray()
                if response.status_code == 200:
                    for chunk in response.iter_content(65536):
                        body += chunk
                        if len(body) > MAX_CRL_BYTES:
                            raise FactUnavailable(Reason.PROTOCOL, f"{url}: more than {MAX_CRL_BYTES} bytes")
                return {"url": url, "status": response.status_code, "body_b64": base64.b64encode(body).decode(),
                        "source": urlsplit(response.url).netloc}
        except requests.exceptions.ConnectTimeout:
            raise FactUnavailable(Reason.TIMEOUT, f"{url}: no connection within {timeout:g} s") from None
        except requests.exceptions.ReadTimeout:
            raise FactUnavailable(Reason.TIMEOUT, f"{url}: no answer within {timeout:g} s") from None
        except requests.exceptions.SSLError as exc:
            raise FactUnavailable(Reason.PROTOCOL, f"{url}: TLS failed: {_root_cause(exc)}") from None
        except requests.exceptions.ConnectionError as exc:
            cause = _root_cause(exc)
            reason = Reason.REFUSED if "refused" in cause.lower() else Reason.UNREACHABLE
            raise FactUnavailable(reason, f"{url}: {cause}") from None
        except requests.exceptions.RequestException as exc:
            raise FactUnavailable(Reason.PROTOCOL, f"{url}: {_root_cause(exc)}") from None

    def _ldap_crl(self, url: str) -> Dict[str, Any]:
        try:
            parts = parse_uri(url)
        except Exception:  # ldap3 raises assorted errors on malformed URLs
            parts = None
        if not parts:  # and returns None on others (a port out of range, an IPv6 literal)
            raise FactUnavailable(Reason.PROTOCOL, f"{url}: cannot be parsed as an LDAP URL") from None
        # The attribute the URL names: a delta URL (AD CS: ?deltaRevocationList?base?...) is read as the delta.
        attribute = next((a for a in parts.get("attributes") or () if a.lower() in CRL_ATTRIBUTES),
                         "certificateRevocationList")
        host, port, use_ssl = parts["host"], parts["port"], parts["ssl"]
        ldap = self._site.ldap
        site_dc = urlsplit(ldap.url).hostname if ldap.url else None
        at_site_dc = not host or (site_dc is not None and host.lower() == site_dc.lower())
        if not host:
            # ldap:///CN=...: "the directory of the client's domain"; ask the site's DC.
            if not ldap.url:
                raise FactUnavailable(Reason.NOT_CONFIGURED, f"{url} has no host and the site file has no "
                                                             f"[ldap] url to read it from")
            site_url = urlsplit(ldap.url)
            host, port, use_ssl = site_url.hostname, site_url.port, site_url.scheme == "ldaps"
        port = port or (636 if use_ssl else 389)
        timeout = self._facts.timeout
        tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=str(self._site.tls.ca_bundle)) \
            if self._site.tls.ca_bundle else ldap3.Tls(validate=ssl.CERT_REQUIRED)
        server = ldap3.Server(host, port=port, use_ssl=use_ssl, tls=tls, connect_timeout=timeout, get_info=ldap3.NONE)
        user, password = None, None
        if ldap.user and at_site_dc:
            user, password = ldap.user, self._facts.secret(ldap.password_env, f"LDAP password for {ldap.user}")
        # ldap3 packs receive_timeout into SO_RCVTIMEO as whole seconds: it must be an int.
        connection = ldap3.Connection(server, user=user, password=password, receive_timeout=math.ceil(timeout),
                                      authentication=ldap3.SIMPLE if user else ldap3.ANONYMOUS, raise_exceptions=True)
        where = f"{host}:{port}"
        try:
            connection.open()
            if user and not use_ssl:
                connection.start_tls()  # never a bind in clear
            connection.bind()
            connection.search(parts["base"], f"({parts['filter'] or 'objectClass=*'})",
                              search_scope={"BASE": ldap3.BASE, "LEVEL": ldap3.LEVEL}.get(parts["scope"], ldap3.BASE),
                              attributes=[attribute])
            entries = list(connection.response or [])  # read before unbind, which clears it
        except ldap_errors.LDAPNoSuchObjectResult:
            return {"url": url, "status": 404, "body_b64": "", "source": f"{where} {parts['base']}"}
        except ldap_errors.LDAPInvalidCredentialsResult:
            raise FactUnavailable(Reason.AUTH_FAILED, f"{url}: bind as {user} refused by {where}") from None
        except ldap_errors.LDAPSocketOpenError as exc:
            text = str(exc)
            reason = Reason.TIMEOUT if "timed out" in text else \
                Reason.REFUSED if "refused" in text else Reason.UNREACHABLE
            raise FactUnavailable(reason, f"{url}: cannot connect to {where}: {text}") from None
        except ldap_errors.LDAPSocketReceiveError:
            raise FactUnavailable(Reason.TIMEOUT, f"{url}: no answer from {where} within {timeout:g} s") from None
        except ldap_errors.LDAPException as exc:
            raise FactUnavailable(Reason.PROTOCOL, f"{url}: {where}: {exc}") from None
        finally:
            connection.unbind()
        values = [v for entry in entries if entry.get("type") == "searchResEntry"
                  for name, found in entry.get("raw_attributes", {}).items()
                  if name.split(";")[0].lower() == attribute.lower() for v in found]
        status = 200 if values else 404
        return {"url": url, "status": status, "body_b64": base64.b64encode(values[0] if values else b"").decode(),
                "source": f"{where} {parts['base']}"}

    def web(self, name: str, port: int, path: str) -> WebAnswer:
        """An anonymous GET of ``path`` on https://``name``:``port`` (redirects not followed)."""
        return WebAnswer.from_json(self._store.get(web_key(name, port, path), lambda: self._get(name, port, path)))

    def _get(self, name: str, port: int, path: str) -> Dict[str, Any]:
        address, _source = self._facts.tls.address(name)
        url = f"https://{name}:{port}{path}"
        host = f"[{address}]" if ":" in address else address
        timeout = self._facts.timeout
        with requests.Session() as session:
            session.trust_env = False  # an internal server: no proxy from the environment
            session.mount("https://", _PinnedAddress(name))
            try:
                response = session.get(f"https://{host}:{port}{path}", headers={"Host": name}, timeout=timeout,
                                       allow_redirects=False, verify=self._verify)
            except requests.exceptions.SSLError as exc:
                raise FactUnavailable(Reason.PROTOCOL, f"{url} ({address}): TLS failed: {_root_cause(exc)}") from None
            except requests.exceptions.Timeout:
                raise FactUnavailable(Reason.TIMEOUT, f"{url} ({address}): no answer within {timeout:g} s") from None
            except requests.exceptions.ConnectionError as exc:
                cause = _root_cause(exc)
                reason = Reason.REFUSED if "refused" in cause.lower() else Reason.UNREACHABLE
                raise FactUnavailable(reason, f"{url} ({address}): {cause}") from None
            response.close()
        return {"url": url, "address": address, "status": response.status_code,
                "authenticate": response.headers.get("WWW-Authenticate", "")}


def _root_cause(exc: BaseException) -> str:
    """The innermost reason of a requests/urllib3 exception chain, short."""
    seen = exc
    while True:
        inner = getattr(seen, "reason", None) or seen.__cause__ or seen.__context__
        if inner is None or inner is seen or not isinstance(inner, BaseException):
            break
        seen = inner
    text = re.sub(r"\s*\(_ssl\.c:\d+\)", "", str(seen))  # CPython's source line: noise for an admin
    return text[:300] if text else type(seen).__name__
