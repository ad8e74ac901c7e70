"""A WS-Management endpoint speaking the WinRM shell protocol, for the real pywinrm client.

    python -m tests.winrm_endpoint.server --address 127.0.0.30 --port 5985 --state DIR [--certfile F --keyfile K]

Implements the cmd shell resource (MS-WSMV): Create, Command, Receive (base64 stdout/stderr streams,
CommandState Done with the exit code, the operation-timeout fault while a command runs), Signal and
Delete; Basic and NTLM authentication (pyspnego is the NTLM acceptor, with the users of
``DIR/users`` in NTLM_USER_FILE format) and NTLM message encryption (multipart/encrypted,
application/HTTP-SPNEGO-session-encrypted), as Windows Server 2008 R2 answers over HTTP.

What each command prints comes from ``DIR/scenario.json``, re-read at every command so that a test
switches scenarios without restarting: ``{"mode": "normal"|"401"|"500"|"hang", "auth": "ntlm"|"basic"|"certificate",
"outputs": {probe: {"data_b64", "exit", "delay"}}}``, what each probe's own logic produces on the host;
windows.py turns a command line into what Windows prints for it (a native tool, a probe's script, a
batch of the collector's sections), in pieces that become ready as the probes run.
Over http with NTLM, WinRM's default (AllowUnencrypted = false) holds: a SOAP body must be sealed, and the
empty-bodied requests of the handshake are the only unsealed ones.
Every request is appended to ``DIR/requests.log`` (action, shell, bytes, the Authorization leg it carried:
none, negotiate, authenticate, basic, certificate, or session on an authenticated connection) for the
benchmark and the tests, and every connection, once it has ended, to ``DIR/connections.log`` (its client
port and how many requests it carried).
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
from typing import Dict, List, Optional, Tuple

from tests.winrm_endpoint import windows

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
    """A command's output: stdout pieces that become ready at their time, then its exit code and stderr."""

    def __init__(self, printed: windows.Printed, started: float):
        self.pieces: List[Tuple[float, bytes]] = [(started + delay, data) for delay, data in printed.pieces]
        self.exit_code = printed.exit_code
        self.stderr = printed.stderr
        self.sent = 0  # bytes of the pieces already received

    def ready_at(self) -> float:
        """When the first byte not yet received is ready (now when everything was)."""
        offset = 0
        for at, data in self.pieces:
            offset += len(data)
            if offset > self.sent:
                return at
        return 0.0

    def ready(self, now: float) -> bytes:
        """Every byte ready at ``now`` and not yet received."""
        return b"".join(data for at, data in self.pieces if at <= now)[self.sent:]

    @property
    def done(self) -> bool:
        return self.sent >= sum(len(data) for _, data in self.pieces)


class State:
    """Shells and commands of the endpoint (shared by all connections, like WinRM's service)."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.lock = threading.Lock()
        self.shells: Dict[str, Dict[str, Command]] = {}
        self.deleted = 0

    def scenario(self) -> dict:
        return json.loads((self.directory / "scenario.json").read_text())

    def log_connection(self, peer: int, requests: int) -> None:
        with self.lock, open(self.directory / "connections.log", "a") as log:
            log.write(json.dumps({"peer": peer, "requests": requests}) + "\n")

    def log(self, record: Dict[str, object]) -> None:
        """One line per request: the SOAP action, its shell, its plain size, the bytes on the wire each way,
        the authentication leg it carried, the client's port (its connection), and a Command's probes."""
        with self.lock, open(self.directory / "requests.log", "a") as log:
            log.write(json.dumps({**record, "t": time.time()}) + "\n")


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
        self.probes: List[str] = []  # what the request's command runs (for the log)
        self.entry: Optional[Dict[str, object]] = None  # the request's log record, written by reply()
        self.served = 0  # requests answered on this connection

    def finish(self) -> None:
        super().finish()
        self.state.log_connection(self.client_address[1], self.served)

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
        # Logged as the answer goes (Handler.reply): a client that has its answer finds the request logged.
        self.entry = {"action": "auth", "shell": "", "bytes": 0, "user": "", "wire_in": length, "leg": self.leg(),
                      "peer": self.client_address[1], "probes": []}
        if not self.authenticate(scenario.get("auth", "ntlm"), body):
            return
        self.entry["user"] = self.user
        if not body:  # the handshake's empty POST: it sets up the NTLM session for encryption
            self.reply(200, b"")
            return
        # Windows answers sealed only what came sealed (pywinrm does not seal over https).
        sealed = self.ntlm is not None and "multipart/encrypted" in self.headers.get("Content-Type", "")
        if self.ntlm is not None and not sealed and not self.server.tls:
            # AllowUnencrypted = false: an NTLM client over http must seal its messages.
            self.entry.update(action="unsealed", bytes=len(body))
            self.reply(401, b"", {"WWW-Authenticate": "Negotiate"})
            return
        if sealed:
            body = self.decrypt(body)
        action, status, answer = self.soap(body, scenario)
        self.entry.update(action=action, bytes=len(body), shell=self.shell_id, probes=self.probes)
        self.send_soap(status, answer, sealed)

    def leg(self) -> str:
        """Which authentication step the request's Authorization header carries."""
        header = self.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if not header:
            return "session" if self.ntlm is not None else "none"
        if scheme in ("Negotiate", "NTLM") and token:
            kind = base64.b64decode(token)[8:12]
            return {b"\x01\x00\x00\x00": "negotiate", b"\x03\x00\x00\x00": "authenticate"}.get(kind, "ntlm-other")
        return "basic" if scheme == "Basic" else "certificate" if header == CERTIFICATE_AUTH else "other"

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

    def send_soap(self, status: int, message: bytes, sealed: bool) -> None:
        if sealed:
            self.reply(status, self.encrypt(message), {"Content-Type": f'multipart/encrypted;protocol='
                                                                       f'"{ENCRYPTED_PROTOCOL}";'
                                                                       'boundary="Encrypted Boundary"'})
        else:
            self.reply(status, message, {"Content-Type": "application/soap+xml;charset=UTF-8"})

    def reply(self, status: int, body: bytes, headers: Optional[Dict[str, str]] = None) -> None:
        self.served += 1
        if self.entry is not None:
            self.state.log({**self.entry, "wire_out": len(body)})
            self.entry = None
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    # ---- the shell resource ----

    def soap(self, body: bytes, scenario: dict) -> Tuple[str, int, bytes]:
        self.probes = []
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
            printed = windows.run(command, arguments, scenario.get("outputs", {}))
            self.probes = printed.probes
            cmd = Command(printed, time.time())
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
            wait = cmd.ready_at() - time.time()
            if wait > 0:  # nothing new yet: WinRM holds the Receive until output comes or the operation times out
                time.sleep(min(wait, timeout))
                if wait > timeout:
                    return 500, fault(message_id, OPERATION_TIMEOUT_CODE, "TimedOut",
                                      "The WS-Management service cannot complete the operation within the time "
                                      "specified in OperationTimeout.")
            chunk = cmd.ready(time.time())[:CHUNK]
            cmd.sent += len(chunk)
            streams = f'<rsp:Stream Name="stdout" CommandId="{command_id}">{base64.b64encode(chunk).decode()}' \
                      "</rsp:Stream>" if chunk else ""
            if cmd.done:
                if cmd.stderr:
                    streams += (f'<rsp:Stream Name="stderr" CommandId="{command_id}">'
                                f"{base64.b64encode(cmd.stderr).decode()}</rsp:Stream>")
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
    server.tls = bool(args.certfile)  # type: ignore[attr-defined]
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
