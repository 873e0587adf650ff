"""Which ``Host`` names may reach either port: the defence against DNS rebinding.

Why: annotd has no accounts. A page on ``evil.example`` whose DNS name is then re-pointed at
127.0.0.1 is *same-origin* with annotd from the browser's point of view: its GETs carry no
``Origin`` header and CORS does not apply, so the Origin check (:mod:`annotd.base.origins`) cannot
see it. The one thing in such a request that still names the attacker is ``Host``, which the
browser fills from the page's URL. Both ports therefore check ``Host`` against this
allow-list before any handler runs (webpack-dev-server's ``allowedHosts``, Vite's
``server.allowedHosts`` and Jupyter's local-host check do the same).

Allowed, whatever the port:

* ``localhost`` and any ``*.localhost`` name: browsers resolve these to loopback themselves,
  without asking DNS, so they cannot be rebound;
* any IP-address literal (``127.0.0.1``, ``[::1]``, ``192.168.1.5``): a browser sends an
  address only when the URL named that address, and no DNS answer is involved, so nothing
  can be rebound either (Vite's rule too). This keeps LAN use after ``--host 0.0.0.0`` simple;
* the configured bind host, when it is a name;
* ``server.allowed_hosts``: exact names, or ``.example.org`` for that name and every name
  under it; ``"*"`` turns the check off (the daemon warns at start-up).

A request without ``Host`` (HTTP/1.0 scripts) is allowed: browsers always send one.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

NAME_RE = re.compile(r"\.?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*")
"""An ``allowed_hosts`` entry: a DNS name without port or scheme, optionally with a leading dot."""
ANY = "*"


def hostname(host_header: str) -> str:
    """The name or address in a ``Host`` value, without port or brackets, lower-case."""
    host = host_header.strip().lower()
    if host.startswith("["):
        end = host.find("]")
        return host[1:end] if end > 0 else host
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.rstrip(".")


def is_ip_literal(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def is_loopback(name: str) -> bool:
    """Loopback names and addresses (what the default bind serves)."""
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class HostPolicy:
    """The allow-list; built once from the config, asked once per request or handshake."""

    bind_host: str
    allowed: tuple[str, ...] = ()

    @property
    def disabled(self) -> bool:
        return ANY in self.allowed

    def allows(self, host_header: str | None) -> bool:
        if host_header is None or self.disabled:
            return True
        name = hostname(host_header)
        if is_loopback(name) or is_ip_literal(name) or name == self.bind_host.lower():
            return True
        for entry in self.allowed:
            entry = entry.lower()
            if name == entry or (entry.startswith(".") and (name == entry[1:] or name.endswith(entry))):
                return True
        return False

    def describe(self) -> str:
        """What is allowed, in words, for the start-up warning and refusals."""
        if self.disabled:
            return "any host (server.allowed_hosts contains \"*\")"
        names = ["localhost", "*.localhost", "IP addresses"]
        if not is_loopback(self.bind_host) and not is_ip_literal(self.bind_host):
            names.append(self.bind_host)
        names.extend(self.allowed)
        return ", ".join(names)

    def refusal(self, host_header: str) -> str:
        """The 403 message: names the setting to change."""
        return (f"Host {host_header!r} is not allowed (DNS-rebinding protection); to serve this name add "
                f"{hostname(host_header)!r} to server.allowed_hosts (or --allowed-host / ANNOTD_SERVE_ALLOWED_HOST)")
