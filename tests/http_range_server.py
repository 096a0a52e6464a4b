#!/usr/bin/env python3
"""A loopback HTTP server for tests/cli_download.sh. It serves one file under
paths that behave the ways a real download can:

  /good/NAME     the file; a Range request gets 206 and the rest of it
  /cut/NAME      without Range: the headers of the whole file, half its body,
                 then the connection closes; with Range, as /good
  /norange/NAME  always the whole file with 200 (a server that ignores Range)
  /bad/NAME      the file with one byte changed
  anything else  404

usage: http_range_server.py FILE PORTFILE LOGFILE
Binds 127.0.0.1 on a free port, writes the port to PORTFILE once it listens,
and appends "PATH RANGE" (RANGE "-" when none) to LOGFILE for every request.
"""
import http.server
import os
import re
import sys

data = open(sys.argv[1], "rb").read()
corrupt = bytearray(data)
corrupt[len(corrupt) // 2] ^= 0xFF
log = open(sys.argv[3], "a", buffering=1)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        asked = self.headers.get("Range")
        log.write(f"{self.path} {asked or '-'}\n")
        kind = self.path.split("/")[1]
        if kind not in ("good", "cut", "norange", "bad"):
            self.send_error(404)
            return
        body = bytes(corrupt) if kind == "bad" else data
        start = 0
        if asked and kind != "norange":
            start = int(re.fullmatch(r"bytes=(\d+)-", asked).group(1))
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        if kind == "cut" and not asked:
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body[start:])


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[2] + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
server.serve_forever()
