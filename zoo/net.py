"""Network addresses given on the command line: `HOST:PORT` parsing and a bounded wait for a listener."""

from __future__ import annotations

import dataclasses
import socket
import time

from zoo.errors import ZooError

DEFAULT_HOST = "127.0.0.1"  # zoo's servers are unauthenticated: loopback unless the user names an address


@dataclasses.dataclass(frozen=True)
class Address:
    """A `HOST:PORT` address; an IPv6 host keeps its brackets (`[::1]`), as gRPC wants it."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def bare_host(self) -> str:
        """The host without IPv6 brackets, as `socket` wants it."""
        return self.host.strip("[]")


def parse_address(text: str, *, flag: str = "address") -> Address:
    """`"HOST:PORT"` -> `Address`; a bare `":PORT"` means 127.0.0.1. `flag` names the option in errors.

    Raises:
        ZooError: no port, a port that is not a number in 1..65535, or a host with a colon outside brackets.
    """
    host, sep, port = str(text).rpartition(":")
    if not sep or not port.isdigit():
        raise ZooError(f"{flag} expects HOST:PORT, e.g. 127.0.0.1:8000. Received: {text!r}")
    if not 1 <= int(port) <= 65535:
        raise ZooError(f"{flag} expects a port in 1..65535. Received: {text!r}")
    host = host or DEFAULT_HOST
    bracketed = host.startswith("[") and host.endswith("]") and len(host) > 2
    if (":" in host and not bracketed) or any(c.isspace() for c in host):
        raise ZooError(f"{flag} expects HOST:PORT with an IPv6 host in brackets ([::1]:8000). Received: {text!r}")
    return Address(host, int(port))


def port_answers(address: Address, *, timeout: float, poll: float = 0.25) -> bool:
    """Whether something accepts TCP connections at `address` within `timeout` seconds (polled)."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        try:
            with socket.create_connection((address.bare_host, address.port), timeout=max(min(remaining, 2.0), 0.05)):
                return True
        except OSError:
            if remaining <= 0:
                return False
            time.sleep(min(poll, max(remaining, 0.0)))
