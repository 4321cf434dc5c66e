#!/usr/bin/python3
"""Stands in for systemd's notify socket, for scripts/test-deb.

  notify.py SOCKET LOG SECONDS

Binds a datagram socket at SOCKET (writable by every user, so parley can send to it while it
runs as the parley user), and appends every message it receives (READY=1, WATCHDOG=1, …) to
LOG, one line per message, for SECONDS seconds.
"""

import os
import socket
import sys
import time

path, log, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
os.chmod(path, 0o777)
deadline = time.monotonic() + seconds
with open(log, "a", buffering=1) as out:
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            data = sock.recv(4096)
        except socket.timeout:
            break
        for line in data.decode(errors="replace").splitlines():
            out.write(line + "\n")
os.unlink(path)
