#!/usr/bin/python3
"""The lab's transix fixed-IPv4 update server (update.transix.jp).

GET /request?username=U&password=P over IPv6.  With the right credentials (read from --cred:
user on the first line, password on the second) it answers "OK", points the ipip6 tunnel
--tunnel at the requester's /64 with interface id ::feed and lets that address through the
endpoint's nftables set (inet fixed allowed); until then the endpoint drops every tunnelled
packet.  Anything else gets "NG" (HTTP 403).  Every request is logged as one JSON line to --log,
without the password.  --mode-file makes it a rogue (see rogue_mode), unlogged.
"""
import argparse
import http.server
import ipaddress
import json
import socket
import subprocess
import sys
import time
import urllib.parse

ARGS = None


def registered_address(src):
    a = ipaddress.IPv6Address(src.split("%")[0])
    return ipaddress.IPv6Address((int(a) >> 64 << 64) | 0xFEED)


def register(addr):
    cmds = [
        ["nft", "flush set inet fixed allowed; add element inet fixed allowed { %s }" % addr],
        ["ip", "-6", "tunnel", "change", ARGS.tunnel, "mode", "ipip6", "local", ARGS.local,
         "remote", str(addr), "encaplimit", "none"],
    ]
    for c in cmds:
        r = subprocess.run(c, capture_output=True, text=True, check=False)
        if r.returncode:
            return f"{' '.join(c[:3])}: {r.stderr.strip()}"
    return None


def rogue_mode():
    """What --mode-file says this server does now: "" (its job), hang, 500 or echo."""
    if not ARGS.mode_file:
        return ""
    try:
        with open(ARGS.mode_file, encoding="utf-8") as f:
            return f.read().strip()
    except FileNotFoundError:
        return ""


class Server(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6
    allow_reuse_address = True
    daemon_threads = True


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "lab-transix-update/1"
    protocol_version = "HTTP/1.0"

    def log_message(self, fmt, *args):
        pass

    def answer(self, code, body):
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        mode = rogue_mode()
        if mode == "hang":
            time.sleep(3600)
            return
        if mode == "500":
            self.answer(500, b"Internal Server Error\n")
            return
        if mode == "echo":
            self.answer(200, self.path.encode() + b"\n")
            return
        url = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        user = q.get("username", [""])[0]
        password = q.get("password", [""])[0]
        entry = {"time": round(time.time(), 3), "src": self.client_address[0],
                 "path": url.path, "username": user, "host": self.headers.get("Host", ""),
                 "user_agent": self.headers.get("User-Agent", "")}
        with open(ARGS.cred, encoding="utf-8") as f:
            want_user, want_pass = (f.read().split("\n") + ["", ""])[:2]
        if url.path != "/request":
            entry["result"] = "404"
            code, body = 404, b"not found\n"
        elif user == want_user and password == want_pass and user:
            addr = registered_address(self.client_address[0])
            err = register(addr)
            entry["registered"] = str(addr)
            if err:
                entry["result"] = "ERROR " + err
                code, body = 500, b"NG\n"
            else:
                entry["result"] = "OK"
                code, body = 200, b"OK\n"
        else:
            entry["result"] = "NG"
            entry["password_ok"] = password == want_pass
            code, body = 403, b"NG\n"
        with open(ARGS.log, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")
        self.answer(code, body)


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True)
    ap.add_argument("--port", type=int, default=80)
    ap.add_argument("--cred", required=True)
    ap.add_argument("--tunnel", required=True)
    ap.add_argument("--local", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--ready")
    ap.add_argument("--mode-file", help="a rogue mode read per request: hang, 500 (an error), "
                    "echo (answers 200 with the request's path and query); empty: normal")
    ARGS = ap.parse_args()
    open(ARGS.log, "a", encoding="utf-8").close()
    srv = Server((ARGS.listen, ARGS.port), Handler)
    if ARGS.ready:
        open(ARGS.ready, "w").close()
    print(f"fixupd: listening on [{ARGS.listen}]:{ARGS.port}", file=sys.stderr)
    srv.serve_forever()


if __name__ == "__main__":
    main()
