"""A WS-Management endpoint speaking the WinRM shell protocol, for the real pywinrm client.

    python -m tests.winrm_endpoint.server --address 127.0.0.30 --port 5985 --state DIR [--certfile F --keyfile K]

Implements the cmd shell resource (MS-WSMV): Create, Command, Receive (base64 stdout/stderr streams,
CommandState Done with the exit code, the operation-timeout fault while a command runs), Signal and
Delete; Basic and NTLM authentication (pyspnego is the NTLM acceptor, with the users of
``DIR/users`` in NTLM_USER_FILE format) and NTLM message encryption (multipart/encrypted,
application/HTTP-SPNEGO-session-encrypted), as Windows Server 2008 R2 answers over HTTP.

What each command prints comes from ``DIR/scenario.json``, re-read at every command so that a test
switches scenarios without restarting: ``{"mode": "normal"|"401"|"500"|"hang", "auth": "ntlm"|"basic"|"certificate",
"outputs": {probe: {"stdout_b64", "exit", "delay"}}}``. A PowerShell probe is recognised by the
``# ocscheck-probe: NAME`` line of its decoded -EncodedCommand script, a native command by its line.
Every request is appended to ``DIR/requests.log`` (action, bytes) for the benchmark and the tests.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import re
import struct
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Dict, Optional, Tuple

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
    "x": "http://schemas.xmlsoap.org/ws/2004/09/transfer",
    "p": "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd",
}
SHELL = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
ENCRYPTED_PROTOCOL = "application/HTTP-SPNEGO-session-encrypted"
BOUNDARY = b"--Encrypted Boundary"
CERTIFICATE_AUTH = "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/mutual"
# The fault WinRM returns to a Receive when no output came within the operation timeout.
OPERATION_TIMEOUT_CODE = 2150858793
CHUNK = 64 * 1024  # stdout bytes per Receive response (bigger outputs take several Receives)
ENVELOPE_NS = " ".join(f'xmlns:{k}="{v}"' for k, v in NS.items() if k != "p")


class Command:
    def __init__(self, stdout: bytes, exit_code: int, ready_at: float):
        self.stdout = stdout
        self.exit_code = exit_code
        self.ready_at = ready_at
        self.sent = 0


class State:
    """Shells and commands of the endpoint (shared by all connections, like WinRM's service)."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.lock = threading.Lock()
        self.shells: Dict[str, Dict[str, Command]] = {}
        self.deleted = 0

    def scenario(self) -> dict:
        return json.loads((self.directory / "scenario.json").read_text())

    def log(self, action: str, size: int, user: str, wire_in: int = 0, wire_out: int = 0, shell: str = "") -> None:
        """One line per request: the SOAP action, its shell, its plain size, and the bytes on the wire each way."""
        record = {"action": action, "shell": shell, "bytes": size, "user": user, "wire_in": wire_in,
                  "wire_out": wire_out, "t": time.time()}
        with self.lock, open(self.directory / "requests.log", "a") as log:
            log.write(json.dumps(record) + "\n")


def envelope(action: str, relates_to: str, body: str) -> bytes:
    return (f'<s:Envelope xml:lang="en-US" {ENVELOPE_NS}><s:Header>'
            f"<a:Action>{action}</a:Action><a:MessageID>uuid:{str(uuid.uuid4()).upper()}</a:MessageID>"
            "<a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>"
            f"<a:RelatesTo>{relates_to}</a:RelatesTo></s:Header><s:Body>{body}</s:Body></s:Envelope>").encode()


def fault(relates_to: str, code: int, subcode: str, message: str) -> bytes:
    body = ('<s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode>'
            f"<s:Value>w:{subcode}</s:Value></s:Subcode></s:Code>"
            f'<s:Reason><s:Text xml:lang="en-US">{message}</s:Text></s:Reason>'
            f'<s:Detail><f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" '
            f'Code="{code}" Machine="ocs.todorovic.adds"><f:Message>{message}</f:Message></f:WSManFault>'
            "</s:Detail></s:Fault>")
    return envelope("http://schemas.dmtf.org/wbem/wsman/1/wsman/fault", relates_to, body)


def identify(command: str, arguments: str) -> str:
    """The probe name of a command line: the marker of a PowerShell script, else the tool."""
    line = f"{command} {arguments}".strip()
    match = re.search(r"-EncodedCommand\s+(\S+)", line, re.IGNORECASE)
    if match:
        script = base64.b64decode(match.group(1)).decode("utf-16-le")
        marker = re.search(r"# ocscheck-probe: (\S+)", script)
        return marker.group(1) if marker else "unknown-script"
    lowered = line.lower()
    for needle, name in (("netsh http show sslcert", "sslcert"), ("appcmd.exe list site", "sites"),
                         ("repadmin /showrepl", "repadmin"), ("dcdiag", "dcdiag")):
        if needle in lowered:
            return name
    return "unknown-command"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-HTTPAPI/2.0"
    sys_version = ""
    state: State

    def setup(self) -> None:
        super().setup()
        self.ntlm = None          # the connection's pyspnego acceptor once NTLM completed
        self.ntlm_pending = None  # the acceptor between NEGOTIATE and AUTHENTICATE
        self.user = ""

    def log_message(self, format: str, *args) -> None:  # keep the test output clean
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length) if length else b""
        scenario = self.state.scenario()
        mode = scenario.get("mode", "normal")
        if mode == "hang":
            time.sleep(3600)  # never answer: the client's read timeout must fire
            return
        if mode == "401":
            self.reply(401, b"", {"WWW-Authenticate": "Negotiate"})
            return
        if not self.authenticate(scenario.get("auth", "ntlm"), body):
            self.state.log("auth", 0, "", length, 0)
            return
        if not body:  # pywinrm's empty POST that sets up the NTLM session for encryption
            self.reply(200, b"")
            self.state.log("auth", 0, self.user, length, 0)
            return
        # Windows answers sealed only what came sealed (pywinrm does not seal over https).
        sealed = self.ntlm is not None and "multipart/encrypted" in self.headers.get("Content-Type", "")
        if sealed:
            body = self.decrypt(body)
        action, status, answer = self.soap(body, scenario)
        sent = self.send_soap(status, answer, sealed)
        self.state.log(action, len(body), self.user, length, sent, self.shell_id)

    # ---- authentication ----

    def authenticate(self, auth: str, body: bytes) -> bool:
        header = self.headers.get("Authorization", "")
        users = self.users()
        if auth == "certificate":
            peer = self.connection.getpeercert() if hasattr(self.connection, "getpeercert") else None
            if header == CERTIFICATE_AUTH and peer:
                self.user = dict(item[0] for item in peer["subject"]).get("commonName", "")
                return True
            self.reply(401, b"", {"WWW-Authenticate": "Negotiate"})
            return False
        if auth == "basic":
            if header.startswith("Basic "):
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
                if users.get(user.lower()) == password:
                    self.user = user
                    return True
            self.reply(401, b"", {"WWW-Authenticate": 'Basic realm="WSMAN"'})
            return False
        if self.ntlm is not None and not header:
            return True  # the connection is authenticated
        scheme, _, token = header.partition(" ")
        if scheme not in ("Negotiate", "NTLM") or not token:
            self.ntlm = None
            self.reply(401, b"", {"WWW-Authenticate": "Negotiate"})
            return False
        import spnego

        data = base64.b64decode(token)
        try:
            if self.ntlm_pending is None or data[8:12] == b"\x01\x00\x00\x00":
                self.ntlm_pending = spnego.server(protocol="ntlm")
            answer = self.ntlm_pending.step(data)
        except Exception:  # wrong password or a damaged message: Windows answers a bare 401
            self.ntlm_pending = None
            self.reply(401, b"", {"WWW-Authenticate": "Negotiate"})
            return False
        if not self.ntlm_pending.complete:
            self.reply(401, b"", {"WWW-Authenticate": f"{scheme} {base64.b64encode(answer).decode()}"})
            return False
        self.ntlm, self.ntlm_pending = self.ntlm_pending, None
        self.user = self.ntlm.client_principal or ""
        return True

    def users(self) -> Dict[str, str]:
        users = {}
        for line in (self.state.directory / "users").read_text().splitlines():
            parts = line.split(":")
            if len(parts) == 3:
                users[parts[1].lower()] = parts[2]
                users[f"{parts[0]}\\{parts[1]}".lower()] = parts[2]
        return users

    # ---- NTLM message encryption (MS-WSMV 2.2.9.1.1) ----

    def decrypt(self, body: bytes) -> bytes:
        parts = [p for p in body.split(BOUNDARY + b"\r\n") if p]
        payload = parts[1]
        if payload.endswith(BOUNDARY + b"--\r\n"):
            payload = payload[: -len(BOUNDARY + b"--\r\n")]
        payload = payload.replace(b"\tContent-Type: application/octet-stream\r\n", b"", 1)
        size = struct.unpack("<i", payload[:4])[0]
        signature, sealed = payload[4:4 + size], payload[4 + size:]
        return self.ntlm.unwrap(signature + sealed).data

    def encrypt(self, message: bytes) -> bytes:
        wrapped = self.ntlm.wrap(message, encrypt=True).data
        signature, sealed = wrapped[:16], wrapped[16:]
        return (BOUNDARY + b"\r\n\tContent-Type: " + ENCRYPTED_PROTOCOL.encode() + b"\r\n"
                b"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=" + str(len(message)).encode()
                + b"\r\n" + BOUNDARY + b"\r\n\tContent-Type: application/octet-stream\r\n"
                + struct.pack("<i", len(signature)) + signature + sealed + BOUNDARY + b"--\r\n")

    def send_soap(self, status: int, message: bytes, sealed: bool) -> int:
        if sealed:
            body = self.encrypt(message)
            self.reply(status, body, {"Content-Type": f'multipart/encrypted;protocol="{ENCRYPTED_PROTOCOL}";'
                                                      'boundary="Encrypted Boundary"'})
        else:
            body = message
            self.reply(status, body, {"Content-Type": "application/soap+xml;charset=UTF-8"})
        return len(body)

    def reply(self, status: int, body: bytes, headers: Optional[Dict[str, str]] = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    # ---- the shell resource ----

    def soap(self, body: bytes, scenario: dict) -> Tuple[str, int, bytes]:
        root = ET.fromstring(body)
        action = root.findtext("s:Header/a:Action", "", NS)
        verb = action.rsplit("/", 1)[-1]
        return (verb, *self.shell(verb, root, scenario))

    def shell(self, verb: str, root: ET.Element, scenario: dict) -> Tuple[int, bytes]:
        action = root.findtext("s:Header/a:Action", "", NS)
        message_id = root.findtext("s:Header/a:MessageID", "", NS)
        shell_id = self.shell_id = root.findtext("s:Header/w:SelectorSet/w:Selector[@Name='ShellId']", "", NS)
        if scenario.get("mode") == "500":
            return 500, fault(message_id, 5, "AccessDenied", "Access is denied. ")
        state = self.state
        if verb == "Create":
            new_id = self.shell_id = str(uuid.uuid4()).upper()
            with state.lock:
                state.shells[new_id] = {}
            created = (f"<x:ResourceCreated><a:Address>http://{self.server.server_address[0]}:"
                       f"{self.server.server_address[1]}/wsman</a:Address><a:ReferenceParameters>"
                       f"<w:ResourceURI>{SHELL}/cmd</w:ResourceURI><w:SelectorSet>"
                       f'<w:Selector Name="ShellId">{new_id}</w:Selector></w:SelectorSet></a:ReferenceParameters>'
                       f"</x:ResourceCreated><rsp:Shell><rsp:ShellId>{new_id}</rsp:ShellId>"
                       "<rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr"
                       "</rsp:OutputStreams></rsp:Shell>")
            return 200, envelope("http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse", message_id, created)
        with state.lock:
            commands = state.shells.get(shell_id)
        if commands is None:
            return 500, fault(message_id, 2150858843, "InvalidSelectors",
                              "The request for the Windows Remote Shell with ShellId failed because the shell "
                              "was not found on the server.")
        if verb == "Command":
            command = root.findtext(".//rsp:CommandLine/rsp:Command", "", NS)
            arguments = root.findtext(".//rsp:CommandLine/rsp:Arguments", "", NS)
            probe = identify(command, arguments)
            output = scenario.get("outputs", {}).get(probe)
            if output is None:
                text = f"'{command.split()[0] if command else '?'}' is not recognized as an internal or " \
                       "external command,\r\noperable program or batch file.\r\n"
                cmd = Command(text.encode("cp437"), 9009, time.time())
            else:
                cmd = Command(base64.b64decode(output["stdout_b64"]), output.get("exit", 0),
                              time.time() + output.get("delay", 0))
            command_id = str(uuid.uuid4()).upper()
            with state.lock:
                commands[command_id] = cmd
            return 200, envelope(f"{SHELL}/CommandResponse", message_id,
                                 f"<rsp:CommandResponse><rsp:CommandId>{command_id}</rsp:CommandId>"
                                 "</rsp:CommandResponse>")
        if verb == "Receive":
            stream = root.find(".//rsp:Receive/rsp:DesiredStream", NS)
            command_id = stream.get("CommandId") if stream is not None else ""
            cmd = commands.get(command_id)
            if cmd is None:
                return 500, fault(message_id, 2150858843, "InvalidSelectors", "Unknown command.")
            timeout = _duration(root.findtext("s:Header/w:OperationTimeout", "PT20S", NS))
            wait = cmd.ready_at - time.time()
            if wait > 0:
                time.sleep(min(wait, timeout))
                if wait > timeout:
                    return 500, fault(message_id, OPERATION_TIMEOUT_CODE, "TimedOut",
                                      "The WS-Management service cannot complete the operation within the time "
                                      "specified in OperationTimeout.")
            chunk = cmd.stdout[cmd.sent:cmd.sent + CHUNK]
            cmd.sent += len(chunk)
            done = cmd.sent >= len(cmd.stdout)
            streams = f'<rsp:Stream Name="stdout" CommandId="{command_id}">{base64.b64encode(chunk).decode()}' \
                      "</rsp:Stream>" if chunk else ""
            if done:
                streams += (f'<rsp:Stream Name="stdout" CommandId="{command_id}" End="true"></rsp:Stream>'
                            f'<rsp:Stream Name="stderr" CommandId="{command_id}" End="true"></rsp:Stream>'
                            f'<rsp:CommandState CommandId="{command_id}" State="{SHELL}/CommandState/Done">'
                            f"<rsp:ExitCode>{cmd.exit_code}</rsp:ExitCode></rsp:CommandState>")
            else:
                streams += f'<rsp:CommandState CommandId="{command_id}" State="{SHELL}/CommandState/Running"/>'
            return 200, envelope(f"{SHELL}/ReceiveResponse", message_id,
                                 f"<rsp:ReceiveResponse>{streams}</rsp:ReceiveResponse>")
        if verb == "Signal":
            signal = root.find(".//rsp:Signal", NS)
            with state.lock:
                commands.pop(signal.get("CommandId") if signal is not None else "", None)
            return 200, envelope(f"{SHELL}/SignalResponse", message_id, "<rsp:SignalResponse/>")
        if verb == "Delete":
            with state.lock:
                state.shells.pop(shell_id, None)
                state.deleted += 1
            return 200, envelope("http://schemas.xmlsoap.org/ws/2004/09/transfer/DeleteResponse", message_id, "")
        return 500, fault(message_id, 2150858817, "ActionNotSupported", f"The action {action} is not supported.")


def _duration(text: str) -> float:
    match = re.match(r"PT([\d.]+)S", text or "")
    return float(match.group(1)) if match else 20.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--address", default="127.0.0.30")
    parser.add_argument("--port", type=int, default=5985)
    parser.add_argument("--state", type=Path, required=True)
    parser.add_argument("--certfile", type=Path, help="serve HTTPS with this certificate chain (PEM)")
    parser.add_argument("--keyfile", type=Path)
    parser.add_argument("--client-ca", type=Path, help="accept client certificates issued by this CA (PEM)")
    args = parser.parse_args()
    os.environ["NTLM_USER_FILE"] = str(args.state / "users")
    Handler.state = State(args.state)
    server = ThreadingHTTPServer((args.address, args.port), Handler)
    server.daemon_threads = True
    if args.certfile:  # the https listener (5986): TLS before any WS-Management byte
        import ssl

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.certfile, args.keyfile)
        if args.client_ca:  # certificate authentication: the client's certificate maps to the account
            context.verify_mode = ssl.CERT_OPTIONAL
            context.load_verify_locations(args.client_ca)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    print(f"listening on {args.address}:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
