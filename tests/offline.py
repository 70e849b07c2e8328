"""Imported first by subprocess tests: any attempt to open a network socket fails loudly."""

from __future__ import annotations

import socket
from typing import Any


class NetworkBlocked(RuntimeError):
    pass


def _refuse(*args: Any, **kwargs: Any) -> Any:
    msg = f"network access attempted: {args!r}"
    raise NetworkBlocked(msg)


socket.socket.connect = _refuse  # type: ignore[method-assign]
socket.socket.connect_ex = _refuse  # type: ignore[method-assign]
socket.create_connection = _refuse
socket.getaddrinfo = _refuse
