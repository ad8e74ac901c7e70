"""SIP over TLS: the listener clients find through DNS answers TLS with the right name, and a SIP stack
answers behind it.

The target is what a client uses: the _sip._tls.<SIP domain> SRV target, read from the internal DNS view
when the site has one ([dns] internal), else the server FQDN; the evidence says which.
"""
from __future__ import annotations

from typing import Dict, List, Tuple

from ocscheck.values import certs
from ocscheck.context import CheckContext
from ocscheck.facts.store import FactUnavailable, Reason
from ocscheck.model import Result
from ocscheck.registry import check
from ocscheck.values.tls import Handshake


def sip_targets(ctx: CheckContext) -> List[Tuple[str, str]]:
    """(target name, how it was found) for every distinct SIP TLS target of the site's SIP domains."""
    fqdn = ctx.site.deployment.server_fqdn
    if not ctx.site.dns.internal:
        return [(fqdn, "the server FQDN (no [dns] internal in the site file: the _sip._tls SRV record was not read)")]
    found: Dict[str, List[str]] = {}
    ctx.facts.dns.start(("internal", f"_sip._tls.{domain}", "SRV") for domain in ctx.site.deployment.sip_domains)
    for domain in ctx.site.deployment.sip_domains:
        name = f"_sip._tls.{domain}"
        answer = ctx.facts.dns.lookup("internal", name, "SRV")
        if answer.srv:
            record = answer.srv[0]  # sorted by priority then weight: what a client tries first
            port_note = "" if record.port == ctx.site.tls.sip_port else \
                f", SRV port {record.port} ignored: testing {ctx.site.tls.sip_port} (see dns.sip-tls-srv)"
            found.setdefault(record.target, []).append(f"SRV {name} -> {record}{port_note}")
        else:
            found.setdefault(fqdn, []).append(f"the server FQDN ({name} has no SRV record, {answer.rcode}; "
                                              f"see dns.sip-tls-srv)")
    return [(target, "; ".join(hows)) for target, hows in found.items()]


def carries_name(handshake: Handshake, target: str) -> bool:
    """Whether the certificate presented in ``handshake`` carries ``target`` (sip.tls fails without it, and
    sip.options is skipped: the prefetch sends no OPTIONS then)."""
    return bool(handshake.chain_pem) and certs.covers(handshake.chain[0], target)


def _down_fix(ctx: CheckContext, target: str) -> str:
    port = ctx.site.tls.sip_port
    return (f"On {ctx.site.deployment.server_fqdn}: start the Front End (`net start RtcSrv`), check that it listens "
            f"(`netstat -ano | findstr :{port}`) and that the firewall lets TCP {port} in (`netsh advfirewall firewall "
            f'add rule name="OCS SIP TLS" dir=in action=allow protocol=TCP localport={port}`); check that {target} '
            f"resolves to the server.")


@check("sip.tls", title="SIP over TLS answers on the SRV target, port 5061", phases=("post",),
       severity="critical", needs=("tls",))
def sip_tls(ctx: CheckContext) -> Result:
    """The SIP TLS target (the _sip._tls SRV target, or the server FQDN when no internal DNS view is configured)
    must accept a TCP connection and a TLS handshake on tls.sip_port (5061) within run.timeout, with a
    certificate that carries the target's name.

    Why: this is the first thing Communicator does when it signs in. A refused connection (service stopped,
    firewall rejecting) fails at once; a connection that gets no answer (filtered, host down) is an error
    after the timeout. The handshake is tried without SNI first (as Communicator 2007 R2 on Windows XP does);
    the negotiated protocol and cipher and whether the server asks for a client certificate are reported.
    Fix: start the Front End (`net start RtcSrv`), open TCP 5061 in the firewall, assign a certificate whose
    SAN carries the SRV target (see cert.san).
    Source: TechNet dd572514 (client sign-in); RFC 3261 / RFC 5922 (SIP over TLS, name matching).
    """
    port = ctx.site.tls.sip_port
    evidence, failures, fixes = [], [], []
    for target, how in sip_targets(ctx):
        evidence.append(f"target {target}:{port}: {how}")
        try:
            handshake = ctx.facts.tls.handshake(target, port)
        except FactUnavailable as exc:
            if exc.reason is Reason.REFUSED:
                failures.append(f"{target}:{port} refused the connection (nothing listens)")
                fixes.append(_down_fix(ctx, target))
                continue
            if exc.reason is Reason.PROTOCOL:
                failures.append(f"TLS handshake with {target}:{port} failed: {exc.detail}")
                fixes.append(f"On {ctx.site.deployment.server_fqdn}: check which program holds the port "
                             f"(`netstat -abno | findstr :{port}`: it must be RtcSrv); assign the OCS certificate to "
                             f"the Front End (Certificate Wizard > Assign an existing certificate) and restart it "
                             f"(net stop RtcSrv && net start RtcSrv).")
                continue
            if exc.reason in (Reason.TIMEOUT, Reason.UNREACHABLE):
                return Result.error(f"{target}:{port}: {exc.reason}: {exc.detail}", evidence, _down_fix(ctx, target))
            raise
        mtls = ", client certificate requested (MTLS)" if handshake.client_cert_requested else ""
        sni = f"SNI {handshake.sni} needed (no-SNI attempt: {handshake.no_sni_error})" if handshake.sni else "no SNI"
        evidence.append(f"{handshake.endpoint}: {handshake.protocol} {handshake.cipher}, "
                        f"{handshake.seconds * 1000:.0f} ms, {sni}{mtls}")
        if not handshake.chain_pem:
            failures.append(f"{target}:{port} presented no certificate")
            continue
        leaf = handshake.chain[0]
        names = certs.names_for_matching(leaf)
        evidence.append(f"certificate names: {', '.join(certs.printable(n) for n in names) or '(none)'}")
        if not carries_name(handshake, target):
            failures.append(f"the certificate on {target}:{port} does not carry the name {target} "
                            f"(clients refuse it)")
            fixes.append(f"Add {target} to the certificate's SAN (see cert.san for the request) and assign the new "
                         f"certificate to the Front End.")
    if failures:
        return Result.fail("; ".join(failures), evidence, "\n".join(dict.fromkeys(fixes)))
    return Result.ok(f"TLS on {', '.join(t for t, _ in sip_targets(ctx))}:{port} answers with a matching "
                     f"certificate", evidence)


@check("sip.options", title="The SIP stack answers an OPTIONS request", phases=("post",), severity="high",
       needs=("sip",), depends=("sip.tls",))
def sip_options(ctx: CheckContext) -> Result:
    """A SIP OPTIONS sent over TLS to the SIP TLS target must get a SIP response that says the Front End
    is alive: 2xx, or an authentication answer (401, 403, 407); a 5xx fails naming the status; any other
    status (another 4xx, a 3xx, a 6xx) warns.

    Why: a TLS handshake proves a listener, not a SIP stack, and a status line alone does not prove a
    working Front End: 503 Service Unavailable or 504 Server Time-out come from a front end that is up while
    its services or its back end (the RTC SQL instance) are not, and users cannot sign in. 200 OK, or the
    authentication challenge an anonymous OPTIONS gets from OCS (401/407 with NTLM/Kerberos, 403), mean the
    SIP stack parses and routes requests. Silence until run.timeout, a closed connection or non-SIP bytes
    fail, and what was received is shown (control characters escaped, truncated). The request is a
    well-formed out-of-dialog OPTIONS: Via with a z9hG4bK branch, Max-Forwards, From with a tag, To without
    one (a To tag would make it an in-dialog request, answered 481), Call-ID, CSeq, Content-Length 0.
    Fix: check the Front End service (`net start RtcSrv`) and its event log, and that no other program holds
    the port (`netstat -abno | findstr :5061`); on a 5xx, the back end (`sc query MSSQL$RTC`, host.sql-backend)
    and the Office Communications Server event log.
    Source: RFC 3261 §11 (OPTIONS), §8.1.1 (request header fields), §21.5 (5xx server failures), §22.2-22.3
    (401/407 challenges).
    """
    port = ctx.site.tls.sip_port
    evidence, failures, answered = [], [], []
    server_errors: List[str] = []
    odd: List[str] = []
    for target, how in sip_targets(ctx):
        answer = ctx.facts.sip.options(target, port)
        shown = certs.printable(answer.received.decode("latin-1"), 160)
        where = f"{target} ({answer.address}):{port}"
        if answer.status is not None:
            status_line = f"SIP/2.0 {answer.status} {certs.printable(answer.reason, 80)}"
            answered.append(f"{target} {status_line}")
            evidence.append(f"{where}: {status_line} in {answer.seconds * 1000:.0f} ms ({how})")
            kind = status_kind(answer.status)
            if kind == "server-error":
                server_errors.append(f"{where} answers {status_line}: the Front End is up but cannot serve "
                                     f"requests")
            elif kind == "other":
                odd.append(f"{where} answers {status_line}, neither success nor an authentication challenge")
            continue
        evidence.append(f"{where}: received {answer.received_total} bytes: '{shown}'" if answer.received_total else
                        f"{where}: received nothing")
        if answer.ended == "timeout" and not answer.received_total:
            failures.append(f"no SIP response from {where} within {ctx.site.run.timeout:g} s")
        elif answer.ended == "timeout":
            failures.append(f"{where} sent {answer.received_total} bytes that are not a complete SIP response "
                            f"within {ctx.site.run.timeout:g} s: '{shown}'")
        elif not answer.received_total:
            failures.append(f"{where} closed the connection without answering")
        else:
            failures.append(f"{where} answered with non-SIP bytes: '{shown}'")
    if failures:
        return Result.fail("; ".join(failures + server_errors), evidence,
                           f"The port speaks TLS but no SIP stack answers. On {ctx.site.deployment.server_fqdn}: "
                           f"check the Front End (`sc query RtcSrv`, `net start RtcSrv`) and the Office "
                           f"Communications Server event log, and which program holds the port "
                           f"(`netstat -abno | findstr :{port}`).")
    fqdn = ctx.site.deployment.server_fqdn
    if server_errors:
        return Result.fail("; ".join(server_errors), evidence,
                           f"On {fqdn}: the SIP stack answers but refuses service. Check that every OCS service runs "
                           f"(`sc query RtcSrv`, host.services) and the back end (`sc query MSSQL$RTC`, "
                           f"host.sql-backend; `net start MSSQL$RTC`), then read the Office Communications Server "
                           f"event log for the Front End's errors and restart it (`net stop RtcSrv && net start "
                           f"RtcSrv`).")
    if odd:
        return Result.warn("; ".join(odd), evidence,
                           f"On {fqdn}: an OCS Front End answers an anonymous OPTIONS with 200 or an authentication "
                           f"challenge (401/407); check that RtcSrv, not another program, holds port {port} "
                           f"(`netstat -abno | findstr :{port}`) and read the Office Communications Server event log.")
    return Result.ok("; ".join(answered), evidence)


ALIVE_STATUSES = (401, 403, 407)  # the authentication answers of a Front End to an anonymous request


def status_kind(status: int) -> str:
    """How a SIP final status reads for a liveness probe: "alive", "server-error" (5xx) or "other"."""
    if 200 <= status < 300 or status in ALIVE_STATUSES:
        return "alive"
    if 500 <= status < 600:
        return "server-error"
    return "other"
