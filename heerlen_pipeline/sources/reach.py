"""Can the live sources be reached at all? Before a live run, one name lookup and one TCP connection per host, all
at once and within a few seconds: a machine without network, a mistyped base URL or a server that refuses
connections fails the run at the start, naming the host, instead of after every source's retries."""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor, wait
from urllib.parse import urlsplit

REACH_TIMEOUT = 5.0  # seconds for the whole check: a name server that does not answer by then counts as none


def _endpoint(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


def _connect(host: str, port: int, timeout: float) -> None:
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise OSError(f"the name does not resolve ({e.strerror or e}); is there a network?") from None
    family, kind, proto, _name, address = addresses[0]
    with socket.socket(family, kind, proto) as s:
        s.settimeout(timeout)
        try:
            s.connect(address)
        except ConnectionRefusedError:
            raise OSError(f"connection refused at {address[0]}:{port}") from None
        except TimeoutError:
            raise OSError(f"no answer from {address[0]}:{port} within {timeout:.0f}s") from None


def unreachable(urls: list[str], timeout: float = REACH_TIMEOUT) -> list[str]:
    """One line per host of `urls` that cannot be reached (empty: all can)."""
    endpoints = sorted({_endpoint(u) for u in urls})
    pool = ThreadPoolExecutor(max_workers=max(1, len(endpoints)))
    futures = {pool.submit(_connect, host, port, timeout): (host, port) for host, port in endpoints}
    done, _late = wait(futures, timeout=timeout + 1)
    pool.shutdown(wait=False, cancel_futures=True)  # a lookup that hangs is left behind, not waited for
    problems = []
    for future, (host, port) in futures.items():
        if future not in done:
            problems.append(f"{host}:{port}: no answer within {timeout:.0f}s (name server or host)")
        elif future.exception() is not None:
            problems.append(f"{host}:{port}: {future.exception()}")
    return problems
