#!/usr/bin/env python3
"""Run a moto S3 server for the Strata test suite.

Usage: moto_server.py PORT_FILE [--host 127.0.0.1] [--port 0] [--exit-with-pid PID]

The server is deliberately SINGLE-THREADED (werkzeug ``threaded=False``):
moto implements S3 conditional writes (If-None-Match / If-Match) as a
check-then-write that is not atomic when requests are served concurrently,
so a threaded server would let two "put-if-absent" calls both succeed. With a
single thread every request runs to completion before the next one starts.
A non-threaded werkzeug server also speaks HTTP/1.0 and closes each
connection after one response, so no keep-alive connection stays open. A
connection a client opens but does not use (connection pools connect ahead of
need: iceberg-rust's opendal left one idle for minutes) would still hold the
one thread, waiting for a request line, while every other client queued
behind it: the server therefore gives each read on a connection IDLE_TIMEOUT_S
seconds and then drops that connection and serves the next.

With ``--port 0`` (the default) the OS picks a free port. Once the socket is
listening, the chosen port is written to PORT_FILE (atomically, via rename),
so a caller can poll for that file and then for an HTTP answer.

With ``--exit-with-pid PID`` the server also exits by itself once process PID
is gone, so it cannot outlive a test run that was killed with SIGKILL (where
the caller's cleanup trap never ran). SIGTERM/SIGINT stop it cleanly; SIGUSR1
prints every thread's stack to stderr (the log), to see where a hung run waits.
"""

import argparse
import faulthandler
import os
import signal
import sys
import threading
import time

# Seconds a connection may stay silent (before or within a request) before the
# server drops it; see the module documentation.
IDLE_TIMEOUT_S = 5


def exit_when_gone(pid: int) -> None:
    """Daemon thread: end this process once `pid` no longer exists."""
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            os._exit(0)
        except PermissionError:
            pass  # exists, owned by someone else
        if os.getppid() == 1 and pid != 1:
            os._exit(0)  # reparented to init: our parent died
        time.sleep(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("port_file", help="file to write the listening port to")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 = pick a free port")
    parser.add_argument(
        "--exit-with-pid", type=int, default=0, help="exit once this process is gone"
    )
    args = parser.parse_args()

    from werkzeug.serving import make_server

    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )

    app = DomainDispatcherApplication(create_backend_app)

    class Handler(MotoRequestHandler):
        # socketserver.StreamRequestHandler applies it to every accepted socket:
        # a silent connection raises socket.timeout, which werkzeug treats as a
        # dropped connection.
        timeout = IDLE_TIMEOUT_S

    # make_server() is exactly what werkzeug.serving.run_simple() calls
    # internally; calling it directly lets us learn the real port before
    # serving when port 0 was requested. threaded=False, processes=1 gives a
    # BaseWSGIServer, which handles one request at a time.
    server = make_server(
        args.host,
        args.port,
        app,
        threaded=False,
        processes=1,
        request_handler=Handler,
    )
    assert not server.multithread and not server.multiprocess
    port = server.server_port

    # moto builds some URLs from MOTO_PORT; keep it in line with reality.
    os.environ["MOTO_PORT"] = str(port)

    def stop(signum, frame):  # noqa: ARG001
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # `kill -USR1 <pid>` prints every thread's stack to the log: where a hung run waits.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    if args.exit_with_pid:
        threading.Thread(
            target=exit_when_gone, args=(args.exit_with_pid,), daemon=True
        ).start()

    tmp = f"{args.port_file}.tmp"
    with open(tmp, "w", encoding="ascii") as f:
        f.write(f"{port}\n")
    os.replace(tmp, args.port_file)

    print(
        f"moto S3 server (single-threaded) listening on http://{args.host}:{port}",
        file=sys.stderr,
        flush=True,
    )
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
