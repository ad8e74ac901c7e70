"""The WS-Management test endpoint itself, driven by pywinrm's own high-level API: Basic and NTLM
authentication, NTLM message encryption, outputs larger than one Receive, unknown commands."""
from __future__ import annotations

import base64

import pytest
import winrm
from winrm.exceptions import InvalidCredentialsError

from tests.winrm_endpoint import DOMAIN, PASSWORD, USER, scenarios


def session(endpoint, transport: str, password: str = PASSWORD) -> winrm.Session:
    return winrm.Session(f"http://{endpoint.address}:{endpoint.port}/wsman", auth=(f"{DOMAIN}\\{USER}", password),
                         transport=transport, read_timeout_sec=6, operation_timeout_sec=4)


@pytest.mark.parametrize("transport", ["ntlm", "basic"])
def test_run_cmd_with_each_authentication(winrm_endpoint, transport):  # noqa: F811
    winrm_endpoint.set_scenario(scenarios.ready_host(), auth=transport)
    result = session(winrm_endpoint, transport).run_cmd("netsh http show sslcert ipport=0.0.0.0:443")
    assert result.status_code == 0
    assert result.std_out == (scenarios.FIXTURES / "netsh-sslcert-443.cp437.txt").read_bytes()


def test_ntlm_messages_are_encrypted(winrm_endpoint):  # noqa: F811
    winrm_endpoint.set_scenario(scenarios.ready_host())
    s = session(winrm_endpoint, "ntlm")
    s.run_cmd("dcdiag")
    assert s.protocol.transport.encryption is not None  # pywinrm sealed every message after the handshake


def test_ntlm_over_http_refuses_unsealed_messages(winrm_endpoint):  # noqa: F811
    # WinRM's default, AllowUnencrypted = false: an NTLM client over http that does not seal is refused.
    winrm_endpoint.set_scenario(scenarios.ready_host())
    winrm_endpoint.clear_requests()
    unsealed = winrm.Session(f"http://{winrm_endpoint.address}:{winrm_endpoint.port}/wsman",
                             auth=(f"{DOMAIN}\\{USER}", PASSWORD), transport="ntlm", message_encryption="never",
                             read_timeout_sec=6, operation_timeout_sec=4)
    with pytest.raises(InvalidCredentialsError):
        unsealed.run_cmd("dcdiag")
    assert "unsealed" in [r["action"] for r in winrm_endpoint.requests()]


@pytest.mark.parametrize("transport", ["ntlm", "basic"])
def test_wrong_password_is_rejected(winrm_endpoint, transport):  # noqa: F811
    winrm_endpoint.set_scenario(scenarios.ready_host(), auth=transport)
    with pytest.raises(InvalidCredentialsError):
        session(winrm_endpoint, transport, password="nope").run_cmd("dcdiag")


def test_large_output_spans_several_receives(winrm_endpoint):  # noqa: F811
    host = scenarios.ready_host()
    big = ("showrepl_INFO,Site,DC1,\"DC=todorovic,DC=adds\",Site,DC2,RPC,0,0,2026-11-27 06:00:00,0\r\n" * 3000)
    host["repadmin"] = big.encode("ascii")
    winrm_endpoint.set_scenario(host)
    winrm_endpoint.clear_requests()
    result = session(winrm_endpoint, "ntlm").run_cmd("repadmin /showrepl * /csv")
    assert result.std_out == big.encode("ascii")
    assert [r["action"] for r in winrm_endpoint.requests()].count("Receive") >= 4


def test_powershell_probe_answer_is_base64_of_utf8(winrm_endpoint):  # noqa: F811
    host = scenarios.ready_host()
    host["system"]["caption"] = "Microsoft Windows Server 2008 R2 Entreprise – édition française"  # type: ignore
    winrm_endpoint.set_scenario(host)
    from ocscheck.collector import PROBES

    result = session(winrm_endpoint, "ntlm").run_cmd(PROBES["system"].command_line())
    text = base64.b64decode(result.std_out).decode("utf-8")
    assert "caption=Microsoft Windows Server 2008 R2 Entreprise – édition française" in text


def test_unknown_command_answers_like_cmd(winrm_endpoint):  # noqa: F811
    winrm_endpoint.set_scenario(scenarios.ready_host())
    result = session(winrm_endpoint, "ntlm").run_cmd("frobnicate")
    assert result.status_code == 9009 and b"is not recognized" in result.std_out
