"""HTTP/2 where offered: against a real nginx speaking h2 over TLS on 127.0.0.1 (skipped where nginx or openssl is
missing; CI installs nginx)."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from crawler.fetch.connections import AddressRefused, GuardedTransport
from tests.conftest import Workdir
from tests.test_fetch_proxy import NO_ENV_PROXY

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)

pytestmark = pytest.mark.skipif(
    NGINX is None or shutil.which("openssl") is None, reason="nginx and openssl are needed for an h2 server"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def h2_site(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    site = tmp_path / "h2"
    (site / "www").mkdir(parents=True)
    (site / "logs").mkdir()
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(site / "key.pem"),
         "-out", str(site / "cert.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    port = _free_port()
    base = f"https://127.0.0.1:{port}"
    (site / "www" / "feed.xml").write_text(
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>h2</title><item><title>Over h2</title>'
        f"<link>{base}/a.html</link></item></channel></rss>"
    )
    (site / "www" / "a.html").write_text(
        "<html><body><article><p>An article served over HTTP/2, long enough to be the body.</p></article></body></html>"
    )
    # Started as root, nginx's workers drop to `nobody`, who cannot read pytest's private temp folders.
    user = "user root;\n" if os.geteuid() == 0 else ""
    (site / "nginx.conf").write_text(f"""{user}worker_processes 1;
pid {site}/nginx.pid;
error_log {site}/logs/error.log;
events {{ worker_connections 64; }}
http {{
  log_format sni '$ssl_server_name "$request" $status';
  access_log {site}/logs/access.log sni;
  types {{ text/html html; application/rss+xml xml; }}
  server {{
    listen 127.0.0.1:{port} ssl http2;
    ssl_certificate {site}/cert.pem;
    ssl_certificate_key {site}/key.pem;
    root {site}/www;
  }}
}}
""")
    assert NGINX is not None
    subprocess.run([NGINX, "-c", str(site / "nginx.conf"), "-p", str(site)], check=True, capture_output=True)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield base, site
    finally:
        subprocess.run([NGINX, "-c", str(site / "nginx.conf"), "-p", str(site), "-s", "stop"], capture_output=True)


def test_feed_and_page_are_fetched_over_http2_where_the_server_offers_it(
    h2_site: tuple[str, Path], work: Workdir
) -> None:
    base, site = h2_site
    work.write_config(f"politeness:\n  delay: 0\nfeeds:\n  - name: h2\n    url: {base}/feed.xml\n")

    # The server's self-signed certificate is trusted the standard way: SSL_CERT_FILE.
    result = work.run("fetch", env={"SSL_CERT_FILE": str(site / "cert.pem")})

    assert result.code == 0, result.stderr
    assert len(work.files()) == 1
    log = _access_log(site, '"GET /feed.xml HTTP/2.0" 200', '"GET /a.html HTTP/2.0" 200')
    assert '"GET /feed.xml HTTP/2.0" 200' in log
    assert '"GET /a.html HTTP/2.0" 200' in log


def _access_log(site: Path, *lines: str, deadline: float = 30.0) -> str:
    """nginx's access log once it holds every one of `lines`, or as it is at the deadline: nginx writes a request's
    line after sending its answer, so a client that has its answer may read the log before the line is there."""
    give_up = time.monotonic() + deadline
    log = (site / "logs" / "access.log").read_text()
    while not all(line in log for line in lines) and time.monotonic() < give_up:
        time.sleep(0.02)
        log = (site / "logs" / "access.log").read_text()
    return log


def _get_vetted(url: str, cert: Path, allowed: bool) -> httpx.Response:
    """GET through the pool for requests that may not reach private addresses, with loopback standing in for the
    public addresses the policy allows (`allowed`) or refusing every address (not `allowed`)."""

    def policy(address: str) -> bool:
        return allowed and ipaddress.ip_address(address).is_loopback

    async def main() -> httpx.Response:
        context = ssl.create_default_context(cafile=str(cert))
        transport = GuardedTransport(context, True, httpx.Limits(max_connections=2), policy)
        async with httpx.AsyncClient(transport=transport) as client:
            return await client.get(url)

    return asyncio.run(main())


def test_vetted_connection_to_a_name_keeps_the_name_for_tls_and_speaks_http2(h2_site: tuple[str, Path]) -> None:
    base, site = h2_site
    # Connected to the vetted address 127.0.0.1, but TLS is asked for "localhost" (SNI) and the certificate checked
    # against that name, and HTTP/2 is negotiated as it is for any connection.
    response = _get_vetted(base.replace("127.0.0.1", "localhost") + "/feed.xml", site / "cert.pem", allowed=True)

    assert response.status_code == 200 and response.http_version == "HTTP/2"
    assert 'localhost "GET /feed.xml HTTP/2.0" 200' in _access_log(site, 'localhost "GET /feed.xml HTTP/2.0" 200')


def test_vetted_connection_to_a_refused_address_never_reaches_the_server(h2_site: tuple[str, Path]) -> None:
    base, site = h2_site

    with pytest.raises(AddressRefused, match=r"^localhost resolved to 127\.0\.0\.1 at connect time"):
        _get_vetted(base.replace("127.0.0.1", "localhost") + "/feed.xml", site / "cert.pem", allowed=False)

    assert (site / "logs" / "access.log").read_text() == ""


@pytest.fixture
def connect_proxy() -> Iterator[tuple[str, list[str]]]:
    """A forward proxy that only tunnels (CONNECT, as for any HTTPS site): its URL, and the targets asked for."""
    targets: list[str] = []
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def tunnel(client: socket.socket) -> None:
        with client:
            head = b""
            while b"\r\n\r\n" not in head and (chunk := client.recv(4096)):
                head += chunk
            method, target, _version = head.split(b"\r\n", 1)[0].decode("ascii").split(" ", 2)
            if method != "CONNECT":
                client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
                return
            targets.append(target)
            host, _, target_port = target.rpartition(":")
            with socket.create_connection((host, int(target_port))) as upstream:
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                back = threading.Thread(target=pipe, args=(upstream, client), daemon=True)
                back.start()
                pipe(client, upstream)
                back.join(10)

    def serve() -> None:
        with contextlib.suppress(OSError):  # closed at the end of the test
            while True:
                client, _ = listener.accept()
                threading.Thread(target=tunnel, args=(client,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{port}", targets
    finally:
        listener.close()


def test_an_https_site_is_fetched_through_the_configured_proxy_by_a_connect_tunnel(
    h2_site: tuple[str, Path], connect_proxy: tuple[str, list[str]], work: Workdir
) -> None:
    base, site = h2_site
    proxy, targets = connect_proxy
    work.write_config(
        f"politeness:\n  delay: 0\nhttp:\n  proxy: {proxy}\nfeeds:\n  - name: tls\n    url: {base}/feed.xml\n"
    )

    result = work.run("fetch", env={"SSL_CERT_FILE": str(site / "cert.pem"), **NO_ENV_PROXY})

    assert result.code == 0, result.stderr
    assert len(work.files()) == 1
    # Every request went through the tunnel (the proxy saw only where to, never a request in the clear), and TLS was
    # end to end: nginx served both, with the site's name, through the proxy's connections.
    assert targets and set(targets) == {base.removeprefix("https://")}
    log = _access_log(site, '"GET /feed.xml HTTP/2.0" 200', '"GET /a.html HTTP/2.0" 200')
    assert '"GET /feed.xml HTTP/2.0" 200' in log and '"GET /a.html HTTP/2.0" 200' in log
