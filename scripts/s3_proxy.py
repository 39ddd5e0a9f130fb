#!/usr/bin/env python3
"""A loopback proxy in front of moto: S3's region check, request latency, request accounting.

Usage: s3_proxy.py PORT_FILE UPSTREAM [--region REGION] [--delay-ms N] [--log FILE]
                   [--exit-with-pid PID]

--region REGION   every bucket behind the proxy is in REGION: a request signed (SigV4) for
                  another region gets the answer S3 gives (400 AuthorizationHeaderMalformed,
                  "the region 'X' is wrong; expecting 'REGION'", <Region>REGION</Region>),
                  which moto lacks.
--delay-ms N      every forwarded request waits N ms before it is forwarded: one round trip to
                  a distant S3 (20-60 ms in a region), on loopback. Concurrent requests wait
                  concurrently, so the cost of an operation is its *sequential* round trips.
--log FILE        append one line per forwarded request: start and end (s, monotonic clock),
                  method, path and query, status; where an operation's round trips go.

Requests are forwarded to UPSTREAM (moto) unchanged (a chunked body is forwarded with its
length) and the answers returned unchanged.

Accounting, for benchmarks and tests (never forwarded; no S3 bucket name starts with `_`):
  GET  /__proxy/stats  -> {"requests": n, "sequential": k, "byMethod": {"GET": ..}}
                          since the last reset; `sequential` is the longest chain of requests
                          each of which started after the previous one ended, i.e. the round
                          trips an operation could not overlap.
  POST /__proxy/reset  -> starts counting again (`?label=TEXT`: TEXT goes into the --log file).

The chosen port is written to PORT_FILE once listening (atomically, via rename). With
--exit-with-pid the proxy exits once process PID is gone.
"""

import argparse
import http.client
import json
import os
import re
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/s3/aws4_request")
HOP_BY_HOP = ("connection", "keep-alive", "transfer-encoding", "content-length")


class Accounting:
    """The (start, end) times of forwarded requests since the last reset."""

    def __init__(self, log=None):
        self.log = log
        self.lock = threading.Lock()
        self.spans = []
        self.methods = {}

    def record(self, method: str, start: float, end: float, path: str = "", status: int = 0) -> None:
        with self.lock:
            self.spans.append((start, end))
            self.methods[method] = self.methods.get(method, 0) + 1
            if self.log is not None:
                self.log.write(f"{start:.4f} {end:.4f} {method} {path} {status}\n")
                self.log.flush()

    def reset(self, label: str = "") -> None:
        with self.lock:
            self.spans = []
            self.methods = {}
            if self.log is not None:
                self.log.write(f"reset {label}".rstrip() + "\n")
                self.log.flush()

    def stats(self) -> dict:
        with self.lock:
            spans = sorted(self.spans, key=lambda s: s[1])
            methods = dict(self.methods)
        # Greedy by end time: the longest chain of requests that did not overlap.
        sequential, last_end = 0, float("-inf")
        for start, end in spans:
            if start >= last_end:
                sequential += 1
                last_end = end
        return {"requests": len(spans), "sequential": sequential, "byMethod": methods}


def read_body(handler) -> bytes:
    if (handler.headers.get("Transfer-Encoding") or "").lower() == "chunked":
        parts = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            parts.append(handler.rfile.read(size))
            handler.rfile.readline()  # the CRLF after each chunk
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


def make_handler(upstream: str, region, delay_s: float, accounting: Accounting):
    target = urllib.parse.urlsplit(upstream)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet
            pass

        def _reply(self, status: int, content_type: str, payload: bytes, reason=None):
            self.send_response(status, reason)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        def _handle(self):
            body = read_body(self)
            if self.path.startswith("/__proxy/"):
                url = urllib.parse.urlsplit(self.path)
                if url.path == "/__proxy/reset":
                    label = urllib.parse.parse_qs(url.query).get("label", [""])[0]
                    accounting.reset(label)
                self._reply(200, "application/json", json.dumps(accounting.stats()).encode())
                return
            signed = SCOPE.search(self.headers.get("Authorization") or "")
            if region and signed and signed.group(1) != region:
                xml = (
                    '<?xml version="1.0" encoding="UTF-8"?>\n<Error>'
                    "<Code>AuthorizationHeaderMalformed</Code>"
                    "<Message>The authorization header is malformed; the region "
                    f"'{signed.group(1)}' is wrong; expecting '{region}'</Message>"
                    f"<Region>{region}</Region><RequestId>0</RequestId><HostId>0</HostId>"
                    "</Error>"
                ).encode()
                self._reply(400, "application/xml", xml)
                return
            start = time.monotonic()
            if delay_s:
                time.sleep(delay_s)
            conn = http.client.HTTPConnection(target.hostname, target.port, timeout=120)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            headers["Content-Length"] = str(len(body))
            conn.request(self.command, self.path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            conn.close()
            accounting.record(self.command, start, time.monotonic(), self.path, response.status)
            self.send_response(response.status, response.reason)
            for k, v in response.getheaders():
                if k.lower() not in HOP_BY_HOP:
                    self.send_header(k, v)
            # A HEAD answer has no body but tells the object's length: pass that on (pyarrow's
            # S3 filesystem, which pyiceberg reads through, sizes its reads by it).
            length = response.getheader("Content-Length") if self.command == "HEAD" else None
            self.send_header("Content-Length", length if length is not None else str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

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
    parser.add_argument("--region")
    parser.add_argument("--delay-ms", type=float, default=0.0)
    parser.add_argument("--log")
    parser.add_argument("--exit-with-pid", type=int)
    args = parser.parse_args()
    log = open(args.log, "a", buffering=1) if args.log else None
    handler = make_handler(args.upstream, args.region, args.delay_ms / 1000.0, Accounting(log))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    if args.exit_with_pid:
        threading.Thread(target=exit_when_gone, args=(args.exit_with_pid,), daemon=True).start()
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
