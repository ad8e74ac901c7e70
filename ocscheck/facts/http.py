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
import threading
from typing import Any, Dict, Iterable, Set
from urllib.parse import urlsplit

from ocscheck.facts import background
from ocscheck.facts.lazy import lazy
from ocscheck.facts.store import FactUnavailable, Reason
from ocscheck.facts.web import WebClient, root_cause as _root_cause
from ocscheck.values.certs import delta_crl_urls
from ocscheck.values.http import CrlFetch, WebAnswer

# Network clients load when a fetch first runs, not for a replay (ocscheck.facts.lazy).
ldap3 = lazy("ldap3")
ssl = lazy("ssl")
requests = lazy("requests")
ldap_errors = lazy("ldap3.core.exceptions")
_ldap_uri = lazy("ldap3.utils.uri")

# The cRLDistributionPoint attributes an LDAP CDP URL may name (MS-ADSC 2.28).
CRL_ATTRIBUTES = ("certificaterevocationlist", "deltarevocationlist", "authorityrevocationlist")
MAX_CRL_BYTES = 32 * 1024 * 1024  # a large enterprise CRL is a few MB; more is not a CRL


def parse_uri(url: str) -> Dict[str, Any]:
    return _ldap_uri.parse_uri(url)


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
        self._web = WebClient(facts.site.tls.ca_bundle, facts.timeout)  # its pools and context: one per run
        self._lock = threading.Lock()
        self._asked: Set[str] = set()

    @property
    def _verify(self) -> Any:
        return str(self._site.tls.ca_bundle) if self._site.tls.ca_bundle else True

    def crl(self, url: str) -> CrlFetch:
        """The CRL a client gets from ``url`` (http, https or ldap)."""
        data = self._store.get(crl_key(url), lambda: self._fetch_crl(url))
        return CrlFetch.from_json(data)

    def start_crls(self, urls: Iterable[str]) -> None:
        """Fetch the CRLs at ``urls`` now, all at once, and the delta CRLs each announces as it arrives; read
        them with ``crl`` in any order (a read waits for the fetch under way)."""
        with self._lock:
            new = [url for url in dict.fromkeys(urls) if url not in self._asked]
            self._asked.update(new)
        background.start(self._store, [lambda url=url: self._crl_and_deltas(url) for url in new])

    def _crl_and_deltas(self, url: str) -> None:
        fetched = self.crl(url)
        if fetched.status == 200:
            self.start_crls(delta_crl_urls(fetched.body))

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
        self._web.prepare()  # the SSL context is built while the address is looked up
        address, _source = self._facts.tls.address(name)
        # A TCP connect to address:port that already failed in this run (a handshake, another path) is not
        # retried: a dead host costs one timeout per run, however many facts dial it.
        self._facts.tls.dial_failure(address, port)
        try:
            return self._web.get(name, port, path, address)
        except FactUnavailable as exc:
            if getattr(exc, "dial_failed", False):
                self._facts.tls.remember_dial_failure(address, port, exc)
            raise

    def close(self) -> None:
        """Close the kept-alive HTTPS connections (Facts.close, once the checks are done)."""
        self._web.close()
