#!/usr/bin/env python3
"""A loopback proxy in front of moto that adds S3's region check, which moto lacks.

Usage: s3_region_proxy.py PORT_FILE UPSTREAM REGION [--exit-with-pid PID]

Every bucket behind the proxy is in REGION. A request signed (SigV4) for another region gets
the answer S3 gives: 400 AuthorizationHeaderMalformed, "the region 'X' is wrong; expecting
'REGION'", with <Region>REGION</Region>. Requests signed for REGION are forwarded to UPSTREAM
(moto) unchanged and its answers returned unchanged.

The chosen port is written to PORT_FILE once listening (atomically, via rename). With
--exit-with-pid the proxy exits once process PID is gone.
"""

import argparse
import http.client
import os
import re
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/s3/aws4_request")


def make_handler(upstream: str, region: str):
    target = urllib.parse.urlsplit(upstream)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet
            pass

        def _handle(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            signed = SCOPE.search(self.headers.get("Authorization") or "")
            if signed and signed.group(1) != region:
                xml = (
                    '<?xml version="1.0" encoding="UTF-8"?>\n<Error>'
                    "<Code>AuthorizationHeaderMalformed</Code>"
                    "<Message>The authorization header is malformed; the region "
                    f"'{signed.group(1)}' is wrong; expecting '{region}'</Message>"
                    f"<Region>{region}</Region><RequestId>0</RequestId><HostId>0</HostId>"
                    "</Error>"
                ).encode()
                self.send_response(400)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(xml)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(xml)
                return
            conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
            headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
            conn.request(self.command, self.path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            self.send_response(response.status, response.reason)
            for k, v in response.getheaders():
                if k.lower() not in ("connection", "transfer-encoding", "content-length"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            conn.close()

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

    return Handler


def exit_when_gone(pid: int) -> None:
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            os._exit(0)
        except PermissionError:
            pass
        time.sleep(1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("port_file")
    parser.add_argument("upstream")
    parser.add_argument("region")
    parser.add_argument("--exit-with-pid", type=int)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(args.upstream, args.region))
    if args.exit_with_pid:
        threading.Thread(target=exit_when_gone, args=(args.exit_with_pid,), daemon=True).start()
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
