"""The host half of iis.https-binding: Default Web Site's https bindings (appcmd) and the certificate
http.sys serves them with (netsh), judged against the OCS certificate. Pure: no I/O, no check registered."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List

from ocscheck.values.iis import HttpsBinding, SiteBinding

IIS_APPID = "{4dc3e181-e14b-4a21-b022-59fc669b0914}"  # the application id IIS registers its bindings with
APPCMD = r"%windir%\system32\inetsrv\appcmd.exe"


@dataclass
class HostVerdict:
    evidence: List[str] = field(default_factory=list)
    failures: List[str] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)
    fixes: List[str] = field(default_factory=list)


def sslcert_fix(fqdn: str, ipport: str, thumbprint: str) -> str:
    return (f"On {fqdn}: IIS Manager > Default Web Site > Bindings > https > SSL certificate: the OCS certificate "
            f"(thumbprint {thumbprint}); or\nnetsh http delete sslcert ipport={ipport}\n"
            f"netsh http add sslcert ipport={ipport} certhash={thumbprint} appid={IIS_APPID}\niisreset")


def add_binding_fix(fqdn: str, port: int, thumbprint: str) -> str:
    """The appcmd line that adds the https binding the tutorial makes (all addresses, no host name)."""
    return (f"On {fqdn} (cmd.exe, as administrator):\n"
            f"{APPCMD} set site /site.name:\"Default Web Site\" "
            f"/+bindings.[protocol='https',bindingInformation='*:{port}:']\n"
            f"netsh http add sslcert ipport=0.0.0.0:{port} certhash={thumbprint} appid={IIS_APPID}\niisreset")


def _host_name_fix(fqdn: str, binding: SiteBinding) -> str:
    info = f"{binding.ip}:{binding.port}:{binding.host}"
    return (f"On {fqdn} (cmd.exe): remove the host name from the https binding (IIS Manager > Default Web Site > "
            f"Bindings > https > Host name: empty), or\n{APPCMD} set site /site.name:\"Default Web Site\" "
            f"/bindings.[protocol='https',bindingInformation='{info}'].bindingInformation:"
            f"{binding.ip}:{binding.port}:\niisreset")


def judge_host_binding(binding: HttpsBinding, fqdn: str, port: int, thumbprint: str) -> HostVerdict:
    verdict = HostVerdict()
    https = binding.https_bindings(port)
    verdict.evidence.append(f"host: Default Web Site bindings {', '.join(binding.site_bindings) or '(none)'}; "
                            f"sslcert entries " + (", ".join(f"{k} hash {v}" for k, v in
                                                              sorted(binding.sslcert_hashes.items())) or "(none)"))
    if not https:
        verdict.failures.append(f"Default Web Site has no https binding on port {port}")
        verdict.fixes.append(add_binding_fix(fqdn, port, thumbprint))
        if (binding.sslcert_hash or "").upper() not in ("", thumbprint):
            verdict.failures.append(f"the host binds {binding.sslcert_hash} to 0.0.0.0:{port}, not the OCS "
                                    f"certificate {thumbprint}")
        return verdict
    for site_binding in https:
        ipport, bound = binding.hash_for(site_binding)
        shown = f"https/{site_binding.ip}:{site_binding.port}:{site_binding.host}"
        verdict.evidence.append(f"host: {shown} served by sslcert {ipport} hash {bound or '(none)'}")
        if (bound or "").upper() != thumbprint:
            verdict.failures.append(f"the host binds {bound or 'no certificate'} to {ipport}, not the OCS "
                                    f"certificate {thumbprint}")
            verdict.fixes.append(sslcert_fix(fqdn, ipport or f"0.0.0.0:{port}", thumbprint))
        if site_binding.host:
            message = (f"the https binding {shown} has a host name (the tutorial: no host name; IIS 7.5 answers "
                       f"404 to requests under any other name)")
            (verdict.warnings if site_binding.host.lower() == fqdn.lower() else verdict.failures).append(message)
            verdict.fixes.append(_host_name_fix(fqdn, site_binding))
    return verdict
