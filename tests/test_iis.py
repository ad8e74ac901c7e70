"""iis.https-binding against nginx standing in for IIS on 443 and Kamailio on 5061; the host side of the binding
from a collector snapshot holding real netsh/appcmd output (tests/fixtures/windows)."""
from __future__ import annotations

import pytest

import base64
from pathlib import Path

from ocscheck.values import certs
from ocscheck.facts import Inputs
from ocscheck.model import Status
from tests.helpers import judge, make_site
from tests.lab.nginx import WEB_COMPONENTS
from tests.lab.pki import Pki
from tests.lab.tls_lab import GOOD_SANS, good_lab_thumbprint, start_good_lab

WINDOWS = Path(__file__).parent / "fixtures" / "windows"
ID = "iis.https-binding"


def snapshot(tmp_path: Path, thumbprint: str, sites_fixture: str = "appcmd-list-site.cp437.txt") -> Path:
    """A collect.ps1 snapshot of the server whose netsh output binds ``thumbprint`` to 0.0.0.0:443."""
    netsh = (WINDOWS / "netsh-sslcert-443.cp437.txt").read_bytes().replace(
        b"5e2c8a1f0b7d43e9a6c1f2d3b4a5968778695a4b", thumbprint.lower().encode())
    sites = (WINDOWS / sites_fixture).read_bytes()
    path = tmp_path / "server.snapshot"
    path.write_text("ocscheck-snapshot 1\nhost=OCS\ntaken=2026-11-27T08:00:00Z\n"
                    f"[probe sslcert exit=0]\n{base64.b64encode(netsh).decode()}\n"
                    f"[probe sites exit=0]\n{base64.b64encode(sites).decode()}\n")
    return path


def test_same_certificate_and_components_present(tls_lab):
    lab = tls_lab()
    outcome = judge(make_site(lab.site()), [ID])[ID]
    assert outcome.status is Status.PASS
    assert outcome.summary.endswith("7 web components answer")
    assert "GET /GroupExpansion/int/service.asmx: present (401, Windows authentication)" in outcome.evidence
    assert any(e.startswith("binding not read on the host (not configured: ") for e in outcome.evidence)


def test_iis_speaking_tls_1_0_only_like_windows_2008_r2(tls_lab):
    outcome = judge(make_site(tls_lab(web_tls10_only=True).site()), [ID])[ID]
    assert outcome.status is Status.PASS, outcome.summary
    assert outcome.evidence[0].startswith("443: ocs.todorovic.adds (127.0.0.20, tls.server_address):443 TLSv1, ")


def test_443_certificate_differs_from_5061(tls_lab):
    pki = Pki()
    sip_leaf, web_leaf = pki.leaf(sans=GOOD_SANS), pki.leaf(sans=GOOD_SANS, key_role="web")
    lab = tls_lab(pki=pki, leaf=sip_leaf, web_leaf=web_leaf)
    outcome = judge(make_site(lab.site()), [ID])[ID]
    sip_print, web_print = certs.thumbprint(sip_leaf.cert), certs.thumbprint(web_leaf.cert)
    assert outcome.status is Status.FAIL
    assert outcome.summary == f"port 443 presents a different certificate ({web_print}) than 5061 ({sip_print})"
    assert f"netsh http add sslcert ipport=0.0.0.0:443 certhash={sip_print} " \
           f"appid={{4dc3e181-e14b-4a21-b022-59fc669b0914}}" in outcome.remediation
    assert any(web_print in e for e in outcome.evidence) and any(sip_print in e for e in outcome.evidence)


def test_missing_web_component(tls_lab):
    lab = tls_lab(web_present=[p for p in WEB_COMPONENTS if p != "/ABS/int/Handler"])
    outcome = judge(make_site(lab.site()), [ID])[ID]
    assert outcome.status is Status.FAIL
    assert outcome.summary == "web components missing or failing: /ABS/int/Handler (404)"
    assert "appcmd list vdir" in outcome.remediation


def test_web_paths_are_the_sites(tls_lab):
    lab = tls_lab(web_present=["/ABS/int/Handler"])
    site = make_site(lab.site(web_paths=["/ABS/int/Handler"]))
    assert judge(site, [ID])[ID].status is Status.PASS


def test_nothing_on_443(tls_lab):
    lab = tls_lab(https=False)
    outcome = judge(make_site(lab.site()), [ID])[ID]
    assert outcome.status is Status.FAIL
    assert outcome.summary.startswith("IIS does not answer TLS on ocs.todorovic.adds:443 (refused: ")
    assert "Bindings > Add: https, port 443" in outcome.remediation
    assert ("appcmd.exe set site /site.name:\"Default Web Site\" /+bindings.[protocol='https',"
            "bindingInformation='*:443:']") in outcome.remediation


def test_host_binding_read_from_a_snapshot_matches(tls_lab, tmp_path):
    pki = Pki()
    leaf = pki.leaf(sans=GOOD_SANS)
    lab = tls_lab(pki=pki, leaf=leaf)
    inputs = Inputs(host_snapshots={"server": snapshot(tmp_path, certs.thumbprint(leaf.cert))})
    outcome = judge(make_site(lab.site()), [ID], inputs=inputs)[ID]
    assert outcome.status is Status.PASS, outcome.summary
    assert f"host: https/*:443: served by sslcert 0.0.0.0:443 hash {certs.thumbprint(leaf.cert)}" in outcome.evidence


def test_host_binding_of_another_certificate_and_no_https_binding(tls_lab, tmp_path):
    lab = tls_lab()
    inputs = Inputs(host_snapshots={"server": snapshot(tmp_path, "AB" * 20, "appcmd-list-site-nohttps.cp437.txt")})
    outcome = judge(make_site(lab.site()), [ID], inputs=inputs)[ID]
    assert outcome.status is Status.FAIL
    assert f"the host binds {'AB' * 20} to 0.0.0.0:443, not the OCS certificate" in outcome.summary
    assert "Default Web Site has no https binding on port 443" in outcome.summary


@pytest.mark.lab
def test_good_labs_together_read_the_binding_over_winrm(tmp_path):
    """The example's pairing: this area's good lab and the WinRM lab reporting its thumbprint on 0.0.0.0:443."""
    from tests import winrm_endpoint

    tls_overrides, stop_tls = start_good_lab(tmp_path / "tls", pin_address=True)
    try:
        winrm_overrides, stop_winrm = winrm_endpoint.start_good_lab(tmp_path / "winrm",
                                                                    good_lab_thumbprint(tmp_path / "tls"))
        try:
            site = make_site({**tls_overrides, **winrm_overrides})
            outcome = judge(site, [ID], env=winrm_endpoint.env())[ID]
        finally:
            stop_winrm()
    finally:
        stop_tls()
    assert outcome.status is Status.PASS, outcome.summary
    assert f"host: https/*:443: served by sslcert 0.0.0.0:443 hash {good_lab_thumbprint(tmp_path / 'tls')}" \
        in outcome.evidence


def test_configured_host_side_that_cannot_be_read_is_an_error_not_a_pass(tls_lab):
    """The network half is right, but the configured WinRM server refuses: the check must not pass."""
    overrides = tls_lab().site()
    overrides["winrm"] = {"server": {"host": "127.0.0.60", "port": 9, "user": "TODOROVIC\\admin",
                                     "password_env": "PW"}}
    outcome = judge(make_site(overrides), ("iis.https-binding",), env={"PW": "x"})["iis.https-binding"]
    assert outcome.status is Status.ERROR, (outcome.summary, outcome.evidence)
    assert "binding could not be read on the host (refused" in outcome.summary


def host_snapshot(tmp_path: Path, netsh: bytes, sites: bytes) -> Path:
    path = tmp_path / "bound.snapshot"
    path.write_text("ocscheck-snapshot 1\nhost=OCS\ntaken=2026-11-27T08:00:00Z\n"
                    f"[probe sslcert exit=0]\n{base64.b64encode(netsh).decode()}\n"
                    f"[probe sites exit=0]\n{base64.b64encode(sites).decode()}\n")
    return path


def netsh_entry(ipport: str, thumbprint: str) -> bytes:
    """`netsh http show sslcert` as Windows prints it with one entry ``ipport``."""
    return (WINDOWS / "netsh-sslcert-443.cp437.txt").read_bytes().replace(
        b"5e2c8a1f0b7d43e9a6c1f2d3b4a5968778695a4b", thumbprint.lower().encode()).replace(
        b": 0.0.0.0:443", f": {ipport}".encode())


def site_list(bindings: str) -> bytes:
    return f'SITE "Default Web Site" (id:1,bindings:http/*:80:,{bindings},state:Started)\r\n'.encode()


def host_binding_outcome(tls_lab, tmp_path, sslcert_ipport: str, bindings: str):
    """iis.https-binding with the lab's good certificate on 5061/443 and a host snapshot whose netsh entry is
    ``sslcert_ipport`` (holding that certificate) and whose Default Web Site has ``bindings``; and its thumbprint."""
    pki = Pki()
    leaf = pki.leaf(sans=GOOD_SANS)
    lab = tls_lab(pki=pki, leaf=leaf)
    thumbprint = certs.thumbprint(leaf.cert)
    path = host_snapshot(tmp_path, netsh_entry(sslcert_ipport, thumbprint), site_list(bindings))
    return judge(make_site(lab.site()), [ID], inputs=Inputs(host_snapshots={"server": path}))[ID], thumbprint


def test_binding_on_the_servers_address_is_valid(tls_lab, tmp_path):
    # IIS Manager > Bindings > https, IP address 127.0.0.20 (not "All Unassigned"): http.sys holds
    # the certificate under 127.0.0.20:443 and no 0.0.0.0:443 entry exists.
    outcome, thumbprint = host_binding_outcome(tls_lab, tmp_path, "127.0.0.20:443", "https/127.0.0.20:443:")
    assert outcome.status is Status.PASS, outcome.summary
    assert f"host: https/127.0.0.20:443: served by sslcert 127.0.0.20:443 hash {thumbprint}" in outcome.evidence


@pytest.mark.parametrize("host_name, status", [("portal.todorovic.fr", Status.FAIL),
                                               ("ocs.todorovic.adds", Status.WARN)])
def test_host_name_in_the_https_binding_is_flagged(tls_lab, tmp_path, host_name, status):
    outcome, _ = host_binding_outcome(tls_lab, tmp_path, "0.0.0.0:443", f"https/*:443:{host_name}")
    assert outcome.status is status, outcome.summary
    assert f"the https binding https/*:443:{host_name} has a host name" in outcome.summary
    assert "bindingInformation='*:443:" in outcome.remediation


def test_no_https_binding_gets_the_appcmd_line(tls_lab, tmp_path):
    outcome, thumbprint = host_binding_outcome(tls_lab, tmp_path, "0.0.0.0:443", "net.tcp/808:*")
    assert outcome.status is Status.FAIL
    assert outcome.summary == "Default Web Site has no https binding on port 443"
    assert ("%windir%\\system32\\inetsrv\\appcmd.exe set site /site.name:\"Default Web Site\" "
            "/+bindings.[protocol='https',bindingInformation='*:443:']") in outcome.remediation
    assert f"netsh http add sslcert ipport=0.0.0.0:443 certhash={thumbprint} " in outcome.remediation
