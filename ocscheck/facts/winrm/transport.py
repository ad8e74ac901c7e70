"""WinRM transport (pywinrm): one shell per host, reused by every probe, with every wait bounded.

Commands are serialised on the shell (NTLM message encryption is a per-connection sequence). Every
HTTP exchange is bounded by the run's timeout and so is each command (a Receive loop with a
deadline, unlike pywinrm's run_cmd which retries operation timeouts forever). The shell is deleted
when the run closes its facts, or when the client is collected.
"""
from __future__ import annotations

import math
import threading
import time
import weakref
from typing import Any, Dict, List, Optional, Tuple

from ocscheck.collector import Probe
from ocscheck.config import WinrmHost
from ocscheck.facts.store import FactUnavailable, Reason

# Failures that concern the connection, not one command: later probes of the host fail at once.
# The most a probe may print (the largest real one, dcdiag /v of a big forest, is a few MB); the collector
# snapshot reader has its own cap for a whole snapshot file.
MAX_COMMAND_OUTPUT = 16 << 20
_STICKY = (Reason.TIMEOUT, Reason.UNREACHABLE, Reason.REFUSED, Reason.AUTH_FAILED, Reason.NOT_CONFIGURED,
           Reason.MISCONFIGURED, Reason.SECRET_MISSING)


def endpoint_url(settings: WinrmHost) -> str:
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    return f"{settings.scheme}://{host}:{settings.effective_port}/wsman"


class WinrmClient:
    """One WinRM shell on one host, reused by every probe, with every wait bounded."""

    def __init__(self, settings: WinrmHost, facts):
        self._settings = settings
        self._facts = facts
        self._lock = threading.Lock()
        self._protocol = None
        self._shell_id: Optional[str] = None
        self._broken: Optional[FactUnavailable] = None
        self._finalizer: Optional[weakref.finalize] = None
        self._health = {"broken": False}  # shared with the finalizer: no goodbye to a host that stopped answering
        self.endpoint = endpoint_url(settings)

    def run(self, probe: Probe) -> Tuple[bytes, bytes, int]:
        with self._lock:
            if self._broken is not None:
                raise FactUnavailable(self._broken.reason, self._broken.detail)
            try:
                if self._shell_id is None:
                    self._open()
                return self._command(probe)
            except FactUnavailable as exc:
                self._note(exc)
                raise
            except Exception as exc:  # pywinrm, requests, spnego, XML: a fault of the exchange
                failure = _translate(exc, self.endpoint, self._settings, self._facts.timeout)
                self._note(failure)
                raise failure from None

    def close(self) -> None:
        """Delete the shell now (the finalizer runs once: a later garbage collection does nothing)."""
        if self._finalizer is not None:
            self._finalizer()

    def _note(self, failure: FactUnavailable) -> None:
        if failure.reason in _STICKY:
            self._broken = failure
            self._health["broken"] = True

    def _open(self) -> None:
        from winrm.protocol import Protocol
        from winrm.transport import HAVE_KERBEROS

        s = self._settings
        timeout = self._facts.timeout
        # WinRM holds a Receive up to the operation timeout; the HTTP read timeout must exceed it.
        operation = max(1, math.floor(timeout * 2 / 3))
        read = max(timeout, operation + 0.5)
        kwargs: Dict[str, Any] = dict(
            endpoint=self.endpoint, transport=s.transport, username=s.user or None, password=None,
            server_cert_validation="validate" if s.verify_tls else "ignore",
            ca_trust_path=str(self._facts.site.tls.ca_bundle) if self._facts.site.tls.ca_bundle else None,
            read_timeout_sec=operation + 1, operation_timeout_sec=operation, proxy=None,
            message_encryption="auto")
        if s.transport in ("basic", "certificate") and s.scheme != "https":
            raise FactUnavailable(Reason.MISCONFIGURED,
                                  f"[winrm.{self._role()}] transport = {s.transport} needs scheme = https "
                                  f"(it would send the credentials in clear)")
        if s.transport == "kerberos" and not HAVE_KERBEROS:
            raise FactUnavailable(Reason.MISCONFIGURED, "transport = kerberos needs pywinrm[kerberos] "
                                                         "(pip install 'pywinrm[kerberos]')")
        if s.transport in ("ntlm", "basic"):
            if not s.user:
                raise FactUnavailable(Reason.MISCONFIGURED, f"[winrm.{self._role()}] user is not set")
            kwargs["password"] = self._facts.secret(s.password_env, f"WinRM password for {s.user} on {s.host}")
        if s.transport == "certificate":
            if not (s.client_cert and s.client_key):
                raise FactUnavailable(Reason.MISCONFIGURED, "transport = certificate needs client_cert and "
                                                             "client_key")
            kwargs.update(cert_pem=str(s.client_cert), cert_key_pem=str(s.client_key), username=None)
        protocol = Protocol(**kwargs)
        # pywinrm only takes whole seconds; the transport passes this straight to requests.
        protocol.transport.read_timeout_sec = read
        shell_id = protocol.open_shell(codepage=437, noprofile=True,
                                       idle_timeout=f"PT{max(60, int(timeout * 6))}S")
        self._protocol, self._shell_id = protocol, shell_id
        self._finalizer = weakref.finalize(self, _close_shell, protocol, shell_id, self._health)

    def _role(self) -> str:
        return "server" if self._facts.site.winrm_server is self._settings else "dc"

    def _command(self, probe: Probe) -> Tuple[bytes, bytes, int]:
        from winrm.exceptions import WinRMOperationTimeoutError

        protocol = self._protocol
        deadline = time.monotonic() + self._facts.timeout
        command_id = protocol.run_command(self._shell_id, probe.command_line())
        stdout: List[bytes] = []
        stderr: List[bytes] = []
        received = 0
        while True:
            try:
                out, err, code, done = protocol.get_command_output_raw(self._shell_id, command_id)
                stdout.append(out)
                stderr.append(err)
                received += len(out) + len(err)
            except WinRMOperationTimeoutError:
                done = False  # no output within the operation timeout: the command is still running
            if received > MAX_COMMAND_OUTPUT:
                # A host that answers endlessly must not fill the memory or feed the parsers megabytes.
                try:
                    protocol.cleanup_command(self._shell_id, command_id)
                except Exception:
                    pass
                raise FactUnavailable(Reason.PROTOCOL, f"{probe.name} on {self.endpoint} printed more than the "
                                                       f"{_size(MAX_COMMAND_OUTPUT)} a probe may print; "
                                                       f"stopped reading it")
            if done:
                break
            if time.monotonic() > deadline:
                try:
                    protocol.cleanup_command(self._shell_id, command_id)
                except Exception:  # the shell is being abandoned anyway
                    pass
                raise FactUnavailable(Reason.TIMEOUT, f"{probe.name} on {self.endpoint} still running after "
                                                      f"{self._facts.timeout:g} s (raise [run] timeout)")
        protocol.cleanup_command(self._shell_id, command_id)
        return b"".join(stdout), b"".join(stderr), code


def _close_shell(protocol, shell_id: str, health: Dict[str, bool]) -> None:
    """Delete the shell when the run's facts go away (best effort, short wait)."""
    if health["broken"]:
        return  # the shell expires on the host after its idle timeout
    try:
        protocol.transport.read_timeout_sec = min(protocol.transport.read_timeout_sec, 2.0)
        protocol.close_shell(shell_id)
    except Exception:  # an abandoned shell expires on the host after its idle timeout
        pass


def _translate(exc: Exception, endpoint: str, settings: WinrmHost, timeout: float) -> FactUnavailable:
    """A pywinrm/requests failure as a FactUnavailable whose text names the host, never the password."""
    import requests
    from winrm.exceptions import InvalidCredentialsError, WinRMTransportError, WSManFaultError

    raw = _short(exc)
    if isinstance(exc, requests.exceptions.SSLError):
        return FactUnavailable(Reason.PROTOCOL, f"TLS with {endpoint} failed: its certificate is not trusted by "
                                                f"tls.ca_bundle or does not match the host name", raw)
    if isinstance(exc, (requests.exceptions.ConnectTimeout, requests.exceptions.ReadTimeout)):
        return FactUnavailable(Reason.TIMEOUT, f"{endpoint}: no answer within {timeout:g} s", raw)
    if isinstance(exc, requests.exceptions.ConnectionError):
        lowered = raw.lower()
        if "refused" in lowered:
            return FactUnavailable(Reason.REFUSED, f"{endpoint}: connection refused (is the WinRM listener "
                                                   f"configured? winrm quickconfig)", raw)
        if "name or service not known" in lowered or "getaddrinfo" in lowered or "resolve" in lowered:
            return FactUnavailable(Reason.UNREACHABLE, f"{endpoint}: the host name does not resolve", raw)
        return FactUnavailable(Reason.UNREACHABLE, f"{endpoint}: the connection failed", raw)
    if isinstance(exc, (InvalidCredentialsError, PermissionError)):
        return FactUnavailable(Reason.AUTH_FAILED, f"{endpoint} rejected the credentials of {settings.user or '?'} "
                                                   f"({settings.transport})")
    if isinstance(exc, WSManFaultError):
        if exc.wsman_fault_code == 5:
            return FactUnavailable(Reason.AUTH_FAILED, f"{endpoint}: access denied to {settings.user or '?'} "
                                                       f"(WSManFault 5): the account must be a local administrator")
        return FactUnavailable(Reason.PROTOCOL, f"{endpoint}: WS-Management fault {exc.wsman_fault_code or exc.code}: "
                                                f"{' '.join(str(exc.reason or '').split())}")
    if isinstance(exc, WinRMTransportError):
        return FactUnavailable(Reason.PROTOCOL, f"{endpoint}: HTTP {exc.code}", _short(exc.response_text))
    return FactUnavailable(Reason.PROTOCOL, f"{endpoint}: {type(exc).__name__}", raw)


def _size(count: int) -> str:
    return f"{count >> 20} MiB" if count >= 1 << 20 else f"{count >> 10} KiB" if count >= 1 << 10 else f"{count} bytes"


def _short(value: Any) -> str:
    return " ".join(str(value).split())[:300]
