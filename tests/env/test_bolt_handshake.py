#!/usr/bin/env python3
"""The Neo4j 5.26 test server speaks Bolt: a raw handshake (magic, four version ranges)
gets a version back. No client library: bytes over a socket."""
import os
import socket
import struct
from urllib.parse import urlparse

from envlib import check, done, load_env

load_env()
u = urlparse(os.environ["NEO4J_TEST_BOLT_URI"])
with socket.create_connection((u.hostname, u.port), timeout=10) as s:
    # 5.8 back to 5.0, then 4.4, as bolt.md describes: [pad, range, minor, major].
    s.sendall(bytes.fromhex("6060B017") + bytes([0, 8, 8, 5]) + bytes([0, 0, 4, 4]) + bytes(8))
    reply = b""
    while len(reply) < 4:
        chunk = s.recv(4 - len(reply))
        if not chunk:
            break
        reply += chunk
check(len(reply) == 4, f"4 bytes of version back: {reply!r}")
if len(reply) == 4:
    _, _, minor, major = struct.unpack("4B", reply)
    check((major, minor) >= (5, 0) and (major, minor) <= (5, 8),
          f"agreed version {major}.{minor} within the offered 5.0-5.8")
done()
