"""A WebSocket server of the `websockets` package, for crates/feedscope-core/tests/ws_interop.rs.

Paths:
  /feed    Connection k (1, 2, ...) waits for the client's first message (its subscription) and
           answers {"type": "subscribed", "conn": k, "request": <that message>}, then sends a
           binary message (bytes 00 01 02 03 fe ff), {"type": "trade", "conn": k, "price": 100 + k},
           the text `not json`, a ping (and waits for its pong) and an unsolicited pong. The first
           connection is then closed with 1001 "maintenance"; the others echo each text message
           as {"type": "echo", "text": <message>} until the client goes.
  /close   Closes at once with the code and reason of the query (`?code=4000&reason=bye`).
  /reject  Refuses the handshake: HTTP 403 with the body `no token`.

Keepalive pings are off, so that every ping the client sees is the one above. With `--tls` it
serves wss with a self-signed certificate for 127.0.0.1 made at start (and announces https://).
"""

import asyncio
import datetime
import http
import ipaddress
import json
import os
import ssl
import tempfile
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

from _common import announce, exit_when_stdin_closes, listen, parse_args

connections = {"/feed": 0}


async def feed(ws) -> None:
    connections["/feed"] += 1
    k = connections["/feed"]
    request = await ws.recv()
    await ws.send(json.dumps({"type": "subscribed", "conn": k, "request": request}))
    await ws.send(bytes([0, 1, 2, 3, 0xFE, 0xFF]))
    await ws.send(json.dumps({"type": "trade", "conn": k, "price": 100 + k}))
    await ws.send("not json")
    pong = await ws.ping(b"are you there")
    await asyncio.wait_for(pong, 10)
    await ws.pong(b"beat")
    if k == 1:
        await ws.close(1001, "maintenance")
        return
    async for message in ws:
        await ws.send(json.dumps({"type": "echo", "text": message}))


async def close(ws, query: dict) -> None:
    code = int(query.get("code", ["1000"])[0])
    reason = query.get("reason", [""])[0]
    await ws.close(code, reason)


async def handler(ws) -> None:
    url = urlsplit(ws.request.path)
    if url.path == "/feed":
        try:
            await feed(ws)
        except ConnectionClosed:
            pass  # the client went (a test stops its feed once it has seen enough)
    elif url.path == "/close":
        await close(ws, parse_qs(url.query))
    else:
        await ws.close(1008, f"no such path {url.path}")


def process_request(connection, request):
    if urlsplit(request.path).path == "/reject":
        return connection.respond(http.HTTPStatus.FORBIDDEN, "no token\n")
    return None


def self_signed() -> ssl.SSLContext:
    """A TLS context with a fresh self-signed certificate for 127.0.0.1 (no CA knows it)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as tmp:
        cert_path, key_path = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        with open(cert_path, "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
        with open(key_path, "wb") as f:
            f.write(
                key.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                )
            )
        ctx.load_cert_chain(cert_path, key_path)
    return ctx


async def main() -> None:
    args = parse_args(
        "WebSocket server (websockets) for the Feedscope interop tests",
        lambda p: p.add_argument("--tls", action="store_true", help="serve wss with a self-signed certificate"),
    )
    sock = listen(args.port)
    exit_when_stdin_closes()
    tls = self_signed() if args.tls else None
    options = dict(sock=sock, process_request=process_request, ping_interval=None, compression=None, ssl=tls)
    async with serve(handler, **options):
        if tls:
            print(f"LISTENING https://127.0.0.1:{sock.getsockname()[1]}", flush=True)
        else:
            announce(sock)
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main())
