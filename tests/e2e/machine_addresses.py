"""What a process listens on, and this machine's addresses other than loopback, read from Linux's ``/proc``.

Used by the test that ``orgsync local serve`` binds to loopback only. Linux only: elsewhere ``/proc/net`` does not
exist and the callers skip, saying so.
"""

from __future__ import annotations

import ipaddress
import itertools
import os
import socket
from pathlib import Path

PROC_NET = Path("/proc/net")
TCP_LISTEN = "0A"  # the kernel's TCP_LISTEN state, as /proc/net/tcp prints it


def _socket_inodes(pid: int) -> set[str]:
    """The inodes of the sockets process ``pid`` holds open (``socket:[inode]`` links under /proc/PID/fd)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue  # closed meanwhile
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def _address(hex_address: str) -> tuple[str, int]:
    """``0100007F:1F90`` (IPv4) or the 32-hex-digit IPv6 form: the address and port, in the kernel's byte order."""
    host, port = hex_address.split(":")
    raw = bytes.fromhex(host)
    # /proc/net/tcp{,6} print each 32-bit word of the address in host byte order (little-endian on x86 and ARM).
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return str(ipaddress.ip_address(words)), int(port, 16)


def listening_addresses(pid: int) -> set[tuple[str, int]]:
    """The (address, port) of every TCP socket process ``pid`` listens on, IPv4 and IPv6."""
    inodes = _socket_inodes(pid)
    found = set()
    for table in ("tcp", "tcp6"):
        path = PROC_NET / table
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == TCP_LISTEN and inode in inodes:
                found.add(_address(local))
    return found


def non_loopback_addresses() -> list[str]:
    """This machine's IPv4 and IPv6 addresses other than loopback and link-local (which needs a scope to reach)."""
    addresses = []
    fib = PROC_NET / "fib_trie"
    if fib.exists():
        # fib_trie lists every local IPv4 address with "/32 host LOCAL" on the line after it.
        lines = fib.read_text().splitlines()
        for previous, line in itertools.pairwise(lines):
            if line.strip() == "/32 host LOCAL":
                addresses.append(previous.split()[-1])
    inet6 = PROC_NET / "if_inet6"
    if inet6.exists():
        for line in inet6.read_text().splitlines():
            addresses.append(str(ipaddress.ip_address(bytes.fromhex(line.split()[0]))))
    kept = []
    for text in dict.fromkeys(addresses):
        address = ipaddress.ip_address(text)
        if not (address.is_loopback or address.is_link_local or address.is_unspecified):
            kept.append(text)
    return kept


def connection_refused(address: str, port: int) -> bool:
    """True when a TCP connection to ``address:port`` is refused; False when it is accepted."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.settimeout(5)
        try:
            probe.connect((address, port))
        except ConnectionRefusedError:
            return True
    return False
