"""WinRM transport (pywinrm): the shells of one host, every wait bounded.

A run's planned probes run as batches (``run_batch``), each command in a shell of its own, on a connection
of its own (NTLM sends its NEGOTIATE with the first request: auth.py), so that a host's commands travel
at once; a batch's shell is deleted in the background as soon as its command is in, and ``close`` waits
for those deletions, bounded. A probe read on its own (``run``) uses one shell kept for such reads,
commands serialised (NTLM message encryption is a per-connection sequence), deleted at close or when the
client is collected. Every HTTP exchange is bounded by the run's timeout, and so is each probe: a Receive
loop with a deadline (pywinrm's run_cmd retries operation timeouts forever) that a batch restarts at each
section it receives, each probe having had its own timeout.
"""
from __future__ import annotations

import math
import re
import threading
import time
import weakref
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ocscheck.collector import Probe
from ocscheck.collector.batch import batch_command_line
from ocscheck.config import WinrmHost
from ocscheck.facts.store import FactUnavailable, Reason

# The most a probe may print (the largest real one, dcdiag /v of a big forest, is a few MB); the collector
# snapshot reader has its own cap for a whole snapshot file. In a batch it bounds each section.
MAX_COMMAND_OUTPUT = 16 << 20
# How long a shell's Delete may take, and close() may wait for the deletions under way.
DELETE_WAIT = 2.0
# Failures that concern the connection, not one command: later probes of the host fail at once.
STICKY = (Reason.TIMEOUT, Reason.UNREACHABLE, Reason.REFUSED, Reason.AUTH_FAILED, Reason.NOT_CONFIGURED,
           Reason.MISCONFIGURED, Reason.SECRET_MISSING)
_HEADER = re.compile(rb"\[probe ([a-z0-9-]{1,64}) exit=-?[0-9]{1,10}\]")


def endpoint_url(settings: WinrmHost) -> str:
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    return f"{settings.scheme}://{host}:{settings.effective_port}/wsman"


class Output:
    """What a command printed so far, and which of its probes is running and whose bytes are coming.

    A batch prints each probe's section (its header, its base64, an empty line) once the probe is done: a
    header is progress, and the bytes after it are that probe's, capped like a probe's whole output.
    """

    def __init__(self, names: Sequence[str], batch: bool):
        self.stdout = bytearray()
        self.stderr = bytearray()
        self._names = list(names)
        self._batch = batch
        self._last: Optional[str] = None  # the probe of the last section header
        self._section_start = 0
        self._overflow: Optional[str] = None  # the first probe whose section was over the cap

    def add(self, out: bytes, err: bytes) -> bool:
        """Append a Receive's streams; True when a batch section started (the deadline restarts)."""
        scan = max(self._section_start, len(self.stdout) - 80)  # a header may straddle two Receives
        self.stdout += out
        self.stderr += err
        headers = list(_HEADER.finditer(self.stdout, scan)) if self._batch else []
        for header in headers:  # one Receive may bring several sections: each is held to the cap
            if self._overflow is None and header.start() - self._section_start > _section_cap():
                self._overflow = self.printing
            self._last, self._section_start = header.group(1).decode(), header.end()
        return bool(headers)

    @property
    def printing(self) -> str:
        """The probe whose bytes are coming, or the first that printed too much."""
        return self._overflow or self._last or self._names[0]

    @property
    def running(self) -> str:
        """The probe running on the host: the one after the last section received."""
        if self._last not in self._names:
            return self._names[0]
        return self._names[min(self._names.index(self._last) + 1, len(self._names) - 1)]

    @property
    def overflowing(self) -> bool:
        if self._batch:  # stderr is the command's, not a section's: it has a probe's cap of its own
            return (self._overflow is not None or len(self.stdout) - self._section_start > _section_cap()
                    or len(self.stderr) > MAX_COMMAND_OUTPUT)
        return len(self.stdout) + len(self.stderr) > MAX_COMMAND_OUTPUT


def _section_cap() -> int:
    """The size of a section of MAX_COMMAND_OUTPUT bytes: base64 in CRLF-ended lines of 76 characters."""
    encoded = 4 * math.ceil(MAX_COMMAND_OUTPUT / 3)
    return 2 + encoded + 2 * math.ceil(encoded / 76) + 2


class WinrmClient:
    """The WinRM shells of one host: one per batch, and one reused by the probes read on their own."""

    def __init__(self, settings: WinrmHost, facts):
        self._settings = settings
        self._facts = facts
        self._lock = threading.Lock()  # the reused shell: one command at a time
        self._shell: Optional[_Shell] = None
        self._broken: Optional[FactUnavailable] = None
        self._finalizer: Optional[weakref.finalize] = None
        self._health = {"broken": False}  # shared with the deletions: no goodbye to a host that stopped answering
        self._settling: List[threading.Event] = []  # per batch: set once its shell is deleted (or had none)
        self.endpoint = endpoint_url(settings)

    @property
    def timeout(self) -> float:
        return self._facts.timeout

    def run(self, probe: Probe) -> Tuple[bytes, bytes, int]:
        """Run ``probe`` alone on the reused shell: its stdout, stderr and exit code."""
        with self._lock:
            self._raise_if_broken()
            try:
                if self._shell is None:
                    shell = _Shell(self)
                    shell.open()
                    self._shell = shell
                    self._finalizer = weakref.finalize(self, _delete, shell.protocol, shell.id, self._health)
                output = Output([probe.name], batch=False)
                code = self._shell.command(probe.command_line(), output, signal=True)
                return bytes(output.stdout), bytes(output.stderr), code
            except Exception as exc:
                raise self._failed(exc) from None

    def run_batch(self, names: Sequence[str], output: Output) -> int:
        """Run the batch of probes ``names`` on a shell of its own: its exit code; ``output`` holds what it
        printed, also when this raises. The shell is deleted in the background as soon as it is done with."""
        self._raise_if_broken()
        settled = threading.Event()
        self._settling.append(settled)
        shell = _Shell(self)
        try:
            shell.open()
            return shell.command(batch_command_line(names), output, signal=False)
        except Exception as exc:
            raise self._failed(exc) from None
        finally:
            if shell.id is None:
                settled.set()
            else:  # off the checks' way: they have their sections once this returns
                threading.Thread(target=_delete, args=(shell.protocol, shell.id, self._health, settled),
                                 daemon=True, name=f"winrm delete {self.endpoint}").start()

    def close(self) -> None:
        """Delete the reused shell now, and wait (bounded) for the batches, running or done, to have their
        shells deleted."""
        if self._finalizer is not None:
            self._finalizer()  # runs once: a later garbage collection does nothing
        deadline = time.monotonic() + DELETE_WAIT
        for settled in list(self._settling):
            settled.wait(max(0.0, deadline - time.monotonic()))

    def _raise_if_broken(self) -> None:
        if self._broken is not None:
            raise FactUnavailable(self._broken.reason, self._broken.detail)

    def _failed(self, exc: Exception) -> FactUnavailable:
        """``exc`` as the FactUnavailable to raise; a connection failure breaks the host for later probes."""
        failure = exc if isinstance(exc, FactUnavailable) else \
            _translate(exc, self.endpoint, self._settings, self._facts.timeout)  # pywinrm, requests, spnego, XML
        if failure.reason in STICKY:
            self._broken = failure
            self._health["broken"] = True
        return failure

    def protocol(self):
        """A pywinrm Protocol on a connection of its own, authenticated (and, over http, sealing)."""
        from winrm.protocol import Protocol
        from winrm.transport import HAVE_KERBEROS

        from ocscheck.facts.winrm.adapter import dialled_adapter

        s = self._settings
        timeout = self._facts.timeout
        # WinRM holds a Receive up to the operation timeout; the HTTP read timeout must exceed it.
        operation = max(1, math.floor(timeout * 2 / 3))
        kwargs: Dict[str, Any] = dict(
            endpoint=self.endpoint, transport=s.transport, username=s.user or None, password=None,
            server_cert_validation="validate" if s.verify_tls else "ignore",
            ca_trust_path=str(self._facts.site.tls.ca_bundle) if self._facts.site.tls.ca_bundle else None,
            read_timeout_sec=operation + 1, operation_timeout_sec=operation, proxy=None,
            # NTLM: no handshake inside pywinrm (it would first send the request unauthenticated); below.
            message_encryption="never" if s.transport == "ntlm" else "auto")
        role = "server" if self._facts.site.winrm_server is s else "dc"
        if s.transport in ("basic", "certificate") and s.scheme != "https":
            raise FactUnavailable(Reason.MISCONFIGURED, f"[winrm.{role}] transport = {s.transport} needs scheme = "
                                                        f"https (it would send the credentials in clear)")
        if s.transport == "kerberos" and not HAVE_KERBEROS:
            raise FactUnavailable(Reason.MISCONFIGURED, "transport = kerberos needs pywinrm[kerberos] "
                                                         "(pip install 'pywinrm[kerberos]')")
        if s.transport in ("ntlm", "basic"):
            if not s.user:
                raise FactUnavailable(Reason.MISCONFIGURED, f"[winrm.{role}] user is not set")
            kwargs["password"] = self._facts.secret(s.password_env, f"WinRM password for {s.user} on {s.host}")
        if s.transport == "certificate":
            if not (s.client_cert and s.client_key):
                raise FactUnavailable(Reason.MISCONFIGURED, "transport = certificate needs client_cert and "
                                                             "client_key")
            kwargs.update(cert_pem=str(s.client_cert), cert_key_pem=str(s.client_key), username=None)
        protocol = Protocol(**kwargs)
        transport = protocol.transport
        # pywinrm only takes whole seconds; the transport passes this straight to requests.
        transport.read_timeout_sec = max(timeout, operation + 0.5)
        session = transport.build_session()  # sends nothing (NTLM: encryption is "never" for now)
        session.mount(f"{s.scheme}://", dialled_adapter(self._facts.dials, timeout))  # preconnected, remembered
        if s.transport == "ntlm":
            from ocscheck.facts.winrm.auth import NegotiateFirstNtlm

            session.auth = NegotiateFirstNtlm(s.user, kwargs["password"], send_cbt=transport.send_cbt)
            if s.scheme == "http":  # WinRM's message encryption, as pywinrm's "auto" does over http
                transport.setup_encryption(session)  # NEGOTIATE, then AUTHENTICATE, with an empty body
        return protocol


class _Shell:
    """One cmd shell, on a Protocol (a connection and its NTLM context) of its own."""

    def __init__(self, client: WinrmClient):
        self._client = client
        self.protocol: Any = None
        self.id: Optional[str] = None

    def open(self) -> None:
        self.protocol = self._client.protocol()
        timeout = self._client.timeout
        self.id = self.protocol.open_shell(codepage=437, noprofile=True,
                                           idle_timeout=f"PT{max(60, int(timeout * 6))}S")

    def command(self, line: str, output: Output, signal: bool) -> int:
        """Run ``line``, its output into ``output``: the exit code. ``signal``: end the command once done
        (a shell that is reused; a batch's shell is deleted instead, its command with it)."""
        from winrm.exceptions import WinRMOperationTimeoutError

        client, protocol = self._client, self.protocol
        timeout = client.timeout
        deadline = time.monotonic() + timeout
        command_id = protocol.run_command(self.id, line)
        while True:
            try:
                out, err, code, done = protocol.get_command_output_raw(self.id, command_id)
                if output.add(out, err):
                    deadline = time.monotonic() + timeout  # a probe is in: the next one has its own time
            except WinRMOperationTimeoutError:
                done = False  # no output within the operation timeout: the command is still running
            if output.overflowing:
                # A host that answers endlessly must not fill the memory or feed the parsers megabytes.
                self._abandon(command_id)
                raise FactUnavailable(Reason.PROTOCOL, f"{output.printing} on {client.endpoint} printed more than "
                                                       f"the {_size(MAX_COMMAND_OUTPUT)} a probe may print; "
                                                       f"stopped reading it")
            if done:
                break
            if time.monotonic() > deadline:
                self._abandon(command_id)
                raise FactUnavailable(Reason.TIMEOUT, f"{output.running} on {client.endpoint} still running after "
                                                      f"{timeout:g} s (raise [run] timeout)")
        if signal:
            protocol.cleanup_command(self.id, command_id)
        return code

    def _abandon(self, command_id: str) -> None:
        try:
            self.protocol.cleanup_command(self.id, command_id)
        except Exception:  # the shell is being abandoned anyway
            pass


def _delete(protocol, shell_id: str, health: Dict[str, bool], done: Optional[threading.Event] = None) -> None:
    """Delete a shell (best effort, short wait); an abandoned shell expires on the host after its idle timeout."""
    try:
        if not health["broken"]:
            protocol.transport.read_timeout_sec = min(protocol.transport.read_timeout_sec, DELETE_WAIT)
            protocol.close_shell(shell_id)
    except Exception:
        pass
    finally:
        if done is not None:
            done.set()


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
