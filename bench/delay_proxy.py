"""A user-space delay proxy (netem is not available here): every byte, each way, arrives DELAY seconds late.

    python bench/delay_proxy.py --delay 0.1 --source 127.0.100.1 tcp:127.0.100.2:636=127.0.0.2:636 udp:...

TCP: a connection accepted on the listening address is connected upstream one round trip (2 x DELAY) later,
as a real TCP handshake over the link would be, and every chunk read on one side is written to the other
DELAY later, in order. UDP: each datagram is forwarded DELAY later, replies likewise, one upstream socket
per client. Upstream sockets are bound to --source, so that the nftables DNAT rules that send the tool's
traffic here (bench/bench_latency.py) can leave the proxy's own traffic alone. Loopback addresses only.
"""
from __future__ import annotations

import argparse
import asyncio
import ipaddress
import sys
from typing import Dict, Tuple

Address = Tuple[str, int]


def _loopback(host: str) -> str:
    if not ipaddress.ip_address(host).is_loopback:
        raise SystemExit(f"{host}: the delay proxy only serves loopback addresses")
    return host


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    loop = asyncio.get_running_loop()
    try:
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                break
            loop.call_later(delay, _write, writer, chunk)
    except (ConnectionError, OSError):
        pass
    loop.call_later(delay, _finish, writer)


def _write(writer: asyncio.StreamWriter, chunk: bytes) -> None:
    if not writer.is_closing():
        writer.write(chunk)


def _finish(writer: asyncio.StreamWriter) -> None:
    try:
        if writer.can_write_eof() and not writer.is_closing():
            writer.write_eof()
    except (ConnectionError, OSError, RuntimeError):
        writer.close()


async def serve_tcp(listen: Address, upstream: Address, source: str, delay: float) -> asyncio.AbstractServer:
    async def handle(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(2 * delay)  # the TCP handshake's round trip
        try:
            up_reader, up_writer = await asyncio.open_connection(*upstream, local_addr=(source, 0))
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(_pump(client_reader, up_writer, delay), _pump(up_reader, client_writer, delay))
        await asyncio.sleep(2 * delay)
        for writer in (client_writer, up_writer):
            writer.close()

    return await asyncio.start_server(handle, *listen, reuse_address=True)


class _UdpServer(asyncio.DatagramProtocol):
    def __init__(self, upstream: Address, source: str, delay: float) -> None:
        self.upstream, self.source, self.delay = upstream, source, delay
        self.transport: asyncio.DatagramTransport = None  # type: ignore[assignment]
        self.clients: Dict[Address, asyncio.DatagramTransport] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, client: Address) -> None:
        asyncio.get_running_loop().create_task(self._forward(data, client))

    async def _forward(self, data: bytes, client: Address) -> None:
        loop = asyncio.get_running_loop()
        upstream = self.clients.get(client)
        if upstream is None:
            server = self

            class Reply(asyncio.DatagramProtocol):
                def datagram_received(self, reply: bytes, _addr: Address) -> None:
                    loop.call_later(server.delay, server.transport.sendto, reply, client)

            upstream, _ = await loop.create_datagram_endpoint(Reply, local_addr=(self.source, 0),
                                                              remote_addr=self.upstream)
            self.clients[client] = upstream
        loop.call_later(self.delay, upstream.sendto, data)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=0.1)
    parser.add_argument("--source", default="127.0.100.1")
    parser.add_argument("routes", nargs="+", help="tcp|udp:LISTEN_IP:PORT=UPSTREAM_IP:PORT")
    args = parser.parse_args()
    loop = asyncio.get_running_loop()
    for route in args.routes:
        kind, _, rest = route.partition(":")
        listen_text, _, upstream_text = rest.partition("=")
        lhost, lport = listen_text.rsplit(":", 1)
        uhost, uport = upstream_text.rsplit(":", 1)
        listen, upstream = (_loopback(lhost), int(lport)), (_loopback(uhost), int(uport))
        if kind == "tcp":
            await serve_tcp(listen, upstream, _loopback(args.source), args.delay)
        else:
            await loop.create_datagram_endpoint(lambda: _UdpServer(upstream, args.source, args.delay),
                                                local_addr=listen)
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
