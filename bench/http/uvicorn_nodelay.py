"""Run the uvicorn command line with TCP_NODELAY kept on for --workers > 1.

With --workers > 1, uvicorn binds the listening socket itself with proto 0;
accepted sockets inherit that, and asyncio only sets TCP_NODELAY when proto is
IPPROTO_TCP. Every keep-alive response then waits ~40 ms for a delayed ACK
(upstream issue: github.com/Kludex/uvicorn/issues/3149). This wrapper re-wraps
the listening socket with proto IPPROTO_TCP, which is what the single-worker
path gets anyway. Arguments are the same as `python3 -m uvicorn`.
"""

import socket
import sys

import uvicorn.config
import uvicorn.main

_bind_socket = uvicorn.config.Config.bind_socket


def _bind_socket_tcp(self):
    sock = _bind_socket(self)
    if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.proto == 0:
        sock = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
    return sock


uvicorn.config.Config.bind_socket = _bind_socket_tcp

if __name__ == "__main__":
    sys.exit(uvicorn.main.main())
