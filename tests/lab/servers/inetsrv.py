#!/usr/bin/python3
"""The lab's "internet" hosts, in one process:

  echo    TCP and UDP echo (port --echo-port, default 7) on every --echo address
  whoami  what-is-my-address: HTTP on port 80 (GET / -> "ADDR PORT\\n", GET /json -> JSON), and
          plain TCP and UDP on --whoami-port (any data or connection -> "ADDR PORT\\n")
  www     HTTP on port 80: GET / -> a small page, GET /bytes/N -> N bytes (for MTU/MSS tests)

Every request is logged as one line "TIME PROTO LOCAL_ADDR LOCAL_PORT PEER_ADDR PEER_PORT WHAT"
to --log, so a test can tell which source address and port a flow arrived with.
"""
import argparse
import http.server
import json
import socket
import socketserver
import sys
import threading
import time

LOG_LOCK = threading.Lock()
LOG = None


def log(proto, local, peer, what):
    line = f"{time.time():.3f} {proto} {local[0]} {local[1]} {peer[0]} {peer[1]} {what}\n"
    with LOG_LOCK:
        LOG.write(line)
        LOG.flush()


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


class TCPServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    # Hundreds of connections arrive at once in the port-set tests; the default backlog of 5
    # would make the server, not the NAT, refuse some of them.
    request_queue_size = 1024

    def __init__(self, addr, handler):
        self.address_family = family(addr[0])
        super().__init__(addr, handler)


class UDPServer(socketserver.ThreadingUDPServer):
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, addr, handler):
        self.address_family = family(addr[0])
        super().__init__(addr, handler)


class EchoTCP(socketserver.BaseRequestHandler):
    def handle(self):
        local = self.request.getsockname()
        log("tcp", local, self.client_address, "echo")
        self.request.settimeout(30)
        try:
            while True:
                data = self.request.recv(65536)
                if not data:
                    break
                self.request.sendall(data)
        except OSError:
            pass


class EchoUDP(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        log("udp", self.server.server_address, self.client_address, "echo")
        sock.sendto(data, self.client_address)


def seen(peer):
    return f"{peer[0]} {peer[1]}\n".encode()


class WhoamiTCP(socketserver.BaseRequestHandler):
    def handle(self):
        log("tcp", self.request.getsockname(), self.client_address, "whoami")
        try:
            self.request.sendall(seen(self.client_address))
        except OSError:
            pass


class WhoamiUDP(socketserver.BaseRequestHandler):
    def handle(self):
        _, sock = self.request
        log("udp", self.server.server_address, self.client_address, "whoami")
        sock.sendto(seen(self.client_address), self.client_address)


class HTTP(http.server.BaseHTTPRequestHandler):
    server_version = "lab-inet/1"
    protocol_version = "HTTP/1.0"
    whoami_addrs = set()

    def log_message(self, fmt, *args):
        pass

    def reply(self, body, ctype="text/plain"):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        local = self.request.getsockname()
        peer = self.client_address
        log("http", local, peer, self.path)
        path = self.path.split("?")[0]
        if path == "/json":
            body = json.dumps({"addr": peer[0], "port": peer[1], "local": local[0],
                               "family": 6 if ":" in peer[0] else 4}) + "\n"
            return self.reply(body.encode(), "application/json")
        if path.startswith("/bytes/"):
            try:
                n = min(int(path[7:]), 100 * 1024 * 1024)
            except ValueError:
                return self.send_error(400)
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(n))
            self.end_headers()
            chunk = b"x" * 65536
            while n > 0:
                self.wfile.write(chunk[:n])
                n -= len(chunk)
            return None
        if path == "/":
            if local[0] in self.whoami_addrs:
                return self.reply(seen(peer))
            return self.reply(b"<html><body>uplinkd lab: hello from inet</body></html>\n",
                              "text/html")
        return self.send_error(404)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--echo", action="append", default=[])
    ap.add_argument("--whoami", action="append", default=[])
    ap.add_argument("--www", action="append", default=[])
    ap.add_argument("--echo-port", type=int, default=7)
    ap.add_argument("--whoami-port", type=int, default=4000)
    ap.add_argument("--http-port", type=int, default=80)
    ap.add_argument("--log", required=True)
    ap.add_argument("--ready")
    a = ap.parse_args()
    global LOG
    LOG = open(a.log, "a", encoding="utf-8")
    HTTP.whoami_addrs = set(a.whoami)

    servers = []
    for addr in a.echo:
        servers.append(TCPServer((addr, a.echo_port), EchoTCP))
        servers.append(UDPServer((addr, a.echo_port), EchoUDP))
    for addr in a.whoami:
        servers.append(TCPServer((addr, a.whoami_port), WhoamiTCP))
        servers.append(UDPServer((addr, a.whoami_port), WhoamiUDP))
        servers.append(TCPServer((addr, a.http_port), HTTP))
    for addr in a.www:
        servers.append(TCPServer((addr, a.http_port), HTTP))
    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    if a.ready:
        open(a.ready, "w").close()
    print(f"inetsrv: {len(servers)} listeners", file=sys.stderr)
    threading.Event().wait()


if __name__ == "__main__":
    main()
