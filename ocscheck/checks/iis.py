"""IIS HTTPS binding: 443 on the server answers TLS with the OCS certificate, and the front end's web
components are published there.

The network part is judged here; the binding itself (netsh http show sslcert, appcmd list site) comes from
the Windows host facts over WinRM when the site configures them, and the evidence says when it was not read.
"""
from __future__ import annotations

from typing import List, Optional, Tuple

from ocscheck.values import certs
from ocscheck.context import CheckContext
from ocscheck.values.iis import HttpsBinding
from ocscheck.facts.store import FactUnavailable, Reason
from ocscheck.model import Result
from ocscheck.registry import check

IIS_APPID = "{4dc3e181-e14b-4a21-b022-59fc669b0914}"  # the application id IIS registers its bindings with


def _host_binding(ctx: CheckContext) -> Tuple[Optional[HttpsBinding], Optional[FactUnavailable]]:
    """The binding read on the host, or None and why it could not be read."""
    try:
        return ctx.facts.host("server").https_binding(), None
    except FactUnavailable as exc:
        return None, exc


def _component(status: int) -> Optional[str]:
    """How a web component's answer reads: "present (...)", or None when it is missing or broken."""
    if status == 401:
        return "present (401, Windows authentication)"
    if 200 <= status < 400 or status == 403:
        return f"present ({status})"
    return None


@check("iis.https-binding", title="IIS answers HTTPS on 443 with the OCS certificate", phases=("post",),
       needs=("tls", "http"))
def https_binding(ctx: CheckContext) -> Result:
    """IIS must answer TLS on tls.https_port (443) of the server FQDN with the same certificate as the SIP TLS
    port (5061, thumbprints compared), and the internal web components (tls.web_paths: /ABS/int/Handler,
    /GroupExpansion/int/service.asmx, /Conf/Int ...) must answer there.

    Why: the address book, distribution-group expansion, meeting content and device updates are fetched by
    clients over https from the front end's IIS; the tutorial binds the OCS certificate to "Default Web Site"
    on 443 and runs iisreset. An anonymous GET of a component answers 401 (Windows authentication) when it is
    published, 404 when it is not; it is made with the site's CA bundle, like a domain client. When WinRM to
    the server is configured, the certificate hash bound to 0.0.0.0:443 (netsh) and the Default Web Site's
    https binding (appcmd) are compared too.
    Fix: IIS Manager > Default Web Site > Bindings > https 443 > the OCS certificate (or `netsh http add
    sslcert ipport=0.0.0.0:443 certhash=<thumbprint> appid={4dc3e181-e14b-4a21-b022-59fc669b0914}`), then
    iisreset; missing components: run the OCS setup's activation of the Standard Edition server again.
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
                           f"On {fqdn}: IIS Manager > Default Web Site > Bindings > Add: https, port {https_port}, the "
                           f"OCS certificate; then iisreset.")
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
    fixes: List[str] = []
    bind_fix = (f"On {fqdn}: IIS Manager > Default Web Site > Bindings > https ({https_port}) > SSL certificate: the "
                f"OCS certificate (thumbprint {sip_print}); or\nnetsh http delete sslcert ipport=0.0.0.0:{https_port}\n"
                f"netsh http add sslcert ipport=0.0.0.0:{https_port} certhash={sip_print} appid={IIS_APPID}\n"
                f"iisreset")
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
        evidence.append(f"host: sslcert 0.0.0.0:{https_port} hash {binding.sslcert_hash or '(none)'}; Default Web Site "
                        f"bindings {', '.join(binding.site_bindings) or '(none)'}")
        if (binding.sslcert_hash or "").upper() != sip_print:
            failures.append(f"the host binds {binding.sslcert_hash or 'no certificate'} to 0.0.0.0:{https_port}, "
                            f"not the OCS certificate {sip_print}")
            fixes.append(bind_fix)
        if not any(b.lower().startswith("https/") and b.split(":")[1:2] == [str(https_port)]
                   for b in binding.site_bindings):
            failures.append(f"Default Web Site has no https binding on port {https_port}")
            fixes.append(bind_fix)
    if failures:
        return Result.fail("; ".join(failures), evidence, "\n".join(dict.fromkeys(fixes)))
    if unread is not None and not unread.reason.skips:
        # A configured host that could not be read: the network half alone must not pass.
        return Result.error(f"{https_port} presents the OCS certificate, but the binding could not be read on the "
                            f"host ({unread.reason}: {unread.detail})", evidence)
    return Result.ok(f"{https_port} presents the OCS certificate ({sip_print}); {len(ctx.site.tls.web_paths)} web "
                     f"components answer", evidence)
