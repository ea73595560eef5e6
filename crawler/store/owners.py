"""Who holds a claim: "host pid token", the token telling this process from an earlier one that had its pid.

On one machine a claim's process can be asked whether it still runs; a claim from another host lapses with its
lease only (or, on PostgreSQL, when its node is known dead: store/postgres_nodes.py).
"""

from __future__ import annotations

import os
import secrets
import socket

HOST = socket.gethostname()
_TOKEN = secrets.token_hex(4)


def owner() -> str:
    """This process, as claims name their owner."""
    return f"{HOST} {os.getpid()} {_TOKEN}"


def owner_alive(name: str) -> bool:
    """Whether the process that made a claim may still be running (unknown counts as running)."""
    if name == owner():
        return True
    host, pid, _token = ([*name.split(" "), "", "", ""])[:3]
    if host != HOST or not pid.isdigit():
        return bool(name)  # another host's: only the lease ends it; no owner (an old claim): taken for dead
    if int(pid) == os.getpid():
        return False  # an earlier process that had our pid
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists, under another user
    return True
