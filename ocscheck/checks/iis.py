"""IIS HTTPS binding: 443 on the server answers TLS with the OCS certificate, and the front end's web
components are published there.

The network part is judged here; the binding itself (netsh http show sslcert, appcmd list site) comes from
the Windows host facts over WinRM when the site configures them, and the evidence says when it was not read.
"""
from __future__ import annotations

from typing import List, Optional, Tuple

from ocscheck.collector import reads
from ocscheck.values import certs
from ocscheck.context import CheckContext
from ocscheck.checks.iis_binding import add_binding_fix, judge_host_binding, sslcert_fix
from ocscheck.values.iis import HttpsBinding
from ocscheck.facts.store import FactUnavailable, Reason
from ocscheck.model import Result
from ocscheck.registry import check



def _host_binding(ctx: CheckContext) -> Tuple[Optional[HttpsBinding], Optional[FactUnavailable]]:
    """The binding read on the host, or None and why it could not be read."""
    try:
        return ctx.facts.host("server").https_binding(), None
    except FactUnavailable as exc:
        return None, exc


def _sip_thumbprint(ctx: CheckContext, fqdn: str, port: int) -> str:
    """The OCS certificate's thumbprint (from 5061) for a fix, or a placeholder naming where to find it."""
    try:
        handshake = ctx.facts.tls.handshake(fqdn, port)
    except FactUnavailable:
        return "<thumbprint of the OCS certificate>"
    return certs.thumbprint(handshake.chain[0]) if handshake.chain_pem else "<thumbprint of the OCS certificate>"


def _component(status: int) -> Optional[str]:
    """How a web component's answer reads: "present (...)", or None when it is missing or broken."""
    if status == 401:
        return "present (401, Windows authentication)"
    if 200 <= status < 400 or status == 403:
        return f"present ({status})"
    return None


@check("iis.https-binding", title="IIS answers HTTPS on 443 with the OCS certificate", phases=("post",),
       needs=("tls", "http"))
@reads("server", "sslcert", "sites")
def https_binding(ctx: CheckContext) -> Result:
    """IIS must answer TLS on tls.https_port (443) of the server FQDN with the same certificate as the SIP TLS
    port (5061, thumbprints compared), and the internal web components (tls.web_paths: /ABS/int/Handler,
    /GroupExpansion/int/service.asmx, /Conf/Int ...) must answer there.

    Why: the address book, distribution-group expansion, meeting content and device updates are fetched by
    clients over https from the front end's IIS; the tutorial binds the OCS certificate to "Default Web Site"
    on 443 and runs iisreset. An anonymous GET of a component answers 401 (Windows authentication) when it is
    published, 404 when it is not; it is made with the site's CA bundle, like a domain client. When WinRM to
    the server is configured, the Default Web Site's https bindings (appcmd) and the certificate http.sys
    serves them with (netsh: the binding's own IP:port entry, else 0.0.0.0:port) are compared too: a binding
    on all addresses (*:443) or on the server's address (10.0.0.20:443) is right; a host name in the binding
    is flagged (the tutorial: "N'entrez pas de nom d'hôte"; IIS 7.5 has no SNI, and requests under any other
    name get 404): another name than the server FQDN fails, the FQDN itself warns.
    Fix: IIS Manager > Default Web Site > Bindings > https 443 > the OCS certificate (or `netsh http add
    sslcert ipport=0.0.0.0:443 certhash=<thumbprint> appid={4dc3e181-e14b-4a21-b022-59fc669b0914}`), then
    iisreset; no https binding: `appcmd set site /site.name:"Default Web Site"
    /+bindings.[protocol='https',bindingInformation='*:443:']` then the netsh line; a host name: remove the
    binding and add it again without one; missing components: run the OCS setup's activation again.
    Source: the deployment tutorial (IIS binding); TechNet (internal web component virtual directories).
    """
    fqdn = ctx.site.deployment.server_fqdn
    https_port, sip_port = ctx.site.tls.https_port, ctx.site.tls.sip_port
    try:
        web = ctx.facts.tls.handshake(fqdn, https_port)
    except FactUnavailable as exc:
        if exc.reason not in (Reason.REFUSED, Reason.PROTOCOL):
            raise
        return Result.fail(f"IIS does not answer TLS on {fqdn}:{https_port} ({exc.reason}: {exc.detail})", [],
                           f"IIS Manager > Default Web Site > Bindings > Add: https, port {https_port}, no host name, "
                           f"the OCS certificate; then iisreset. Or " +
                           add_binding_fix(fqdn, https_port, _sip_thumbprint(ctx, fqdn, sip_port)))
    sip = ctx.facts.tls.handshake(fqdn, sip_port)
    if not web.chain_pem or not sip.chain_pem:
        raise FactUnavailable(Reason.PROTOCOL, f"{fqdn}: no certificate presented on "
                                               f"{https_port if not web.chain_pem else sip_port}")
    web_leaf, sip_leaf = web.chain[0], sip.chain[0]
    web_print, sip_print = certs.thumbprint(web_leaf), certs.thumbprint(sip_leaf)
    evidence = [f"{https_port}: {web.endpoint} {web.protocol}, certificate {certs.subject(web_leaf)}, "
                f"thumbprint {web_print}",
                f"{sip_port}: certificate {certs.subject(sip_leaf)}, thumbprint {sip_print}"]
    failures: List[str] = []
    warnings: List[str] = []
    fixes: List[str] = []
    bind_fix = sslcert_fix(fqdn, f"0.0.0.0:{https_port}", sip_print)
    if web_print != sip_print:
        failures.append(f"port {https_port} presents a different certificate ({web_print}) than {sip_port} "
                        f"({sip_print})")
        fixes.append(bind_fix)
    missing = []
    for path in ctx.site.tls.web_paths:
        try:
            answer = ctx.facts.http.web(fqdn, https_port, path)
        except FactUnavailable as exc:
            if exc.reason is Reason.NOT_RECORDED:
                raise
            # The connection itself failed: every other component would fail the same way; stop here.
            failures.append(f"the web components cannot be fetched as a domain client would ({exc.reason}: "
                            f"{exc.detail})")
            if "certificate" in exc.detail.lower() and web_print == sip_print:
                fixes.append(f"Clients refuse the OCS certificate itself, which {https_port} and {sip_port} share (see "
                             f"cert.validity, cert.chain, cert.san): replace it, bind the new one to {https_port} "
                             f"(IIS Manager > Default Web Site > Bindings > https) and iisreset.")
            elif "certificate" in exc.detail.lower():
                fixes.append(f"Clients refuse the certificate IIS presents on {https_port}; bind the OCS certificate "
                             f"to it:\n{bind_fix}")
            else:
                fixes.append(f"On {fqdn}: check that IIS runs (`iisreset /status`) and that the firewall lets TCP "
                             f"{https_port} in.")
            break
        reading = _component(answer.status)
        evidence.append(f"GET {path}: {reading or answer.status}")
        if reading is None:
            missing.append(f"{path} ({answer.status})")
    if missing:
        failures.append(f"web components missing or failing: {', '.join(missing)}")
        fixes.append(f"On {fqdn}: list the virtual directories (`%windir%\\system32\\inetsrv\\appcmd list vdir`); "
                     f"if the OCS ones are missing, run the OCS 2007 R2 setup again (Deploy Standard Edition Server > "
                     f"Activate) and iisreset.")
    binding, unread = _host_binding(ctx)
    if unread is not None:
        evidence.append(f"binding not read on the host ({unread.reason}: {unread.detail})")
    if binding is not None:
        judged = judge_host_binding(binding, fqdn, https_port, sip_print)
        evidence += judged.evidence
        failures += judged.failures
        warnings += judged.warnings
        fixes += judged.fixes
    if failures:
        return Result.fail("; ".join(failures), evidence, "\n".join(dict.fromkeys(fixes)))
    if warnings:
        return Result.warn("; ".join(warnings), evidence, "\n".join(dict.fromkeys(fixes)))
    if unread is not None and not unread.reason.skips:
        # A configured host that could not be read: the network half alone must not pass.
        return Result.error(f"{https_port} presents the OCS certificate, but the binding could not be read on the "
                            f"host ({unread.reason}: {unread.detail})", evidence)
    return Result.ok(f"{https_port} presents the OCS certificate ({sip_print}); {len(ctx.site.tls.web_paths)} web "
                     f"components answer", evidence)
