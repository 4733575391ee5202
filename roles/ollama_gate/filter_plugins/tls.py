"""Filters of the HTTPS settings: certificate subjectAltName entries, host names as URLs write
them, and the checks of a gateway role's TLS settings (run on the controller, before any host
changes)."""
from __future__ import annotations

import ipaddress
import os
import re

# A DNS name as certificates and ACME accept it: labels of letters, digits and inner hyphens.
DNS_NAME_RE = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")


def _ip(text: str):
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None


def gateway_san(name) -> str:
    """A certificate subjectAltName entry for a host name or an IP address."""
    text = str(name).strip()
    address = _ip(text)
    return f"IP:{address}" if address else f"DNS:{text.lower()}"


def gateway_url_host(name) -> str:
    """A host name or IP address as written in URLs and Host headers: IPv6 in brackets."""
    text = str(name).strip()
    address = _ip(text)
    if address is None:
        return text
    return f"[{address}]" if address.version == 6 else str(address)


def gateway_tls_problems(tls: str, variable_prefix: str, domain: str = "", names=None, email: str = "",
                         directory: str = "", ca_bundle: str = "",
                         directory_variable: str = "", ca_bundle_variable: str = "",
                         http_port=None, port=None) -> list[str]:
    """What is wrong with the HTTPS settings of a gateway role, naming each variable.

    directory/ca_bundle: the ACME directory URL and the controller path of a PEM trusted for it
    (checked here, on the controller, so that a playbook refuses them before any host changes).
    http_port/port: nginx's redirect (and HTTP-01) port and its HTTPS port, when given.
    """
    problems = []
    if tls not in ("none", "acme", "internal"):
        return [f"{variable_prefix}_tls must be none, acme or internal (got {tls!r}; YAML reads a bare off as false: write none)"]
    if tls == "acme":
        if not domain:
            problems.append(f"{variable_prefix}_domain{'' if variable_prefix == 'ollama_gate' else ' (or ollama_gate_domain)'} must be set for tls acme: the public DNS name of the gateway")
        elif _ip(str(domain)) or not DNS_NAME_RE.fullmatch(str(domain)) or "." not in str(domain):
            problems.append(f"{variable_prefix}_domain: {domain!r} is not a fully qualified DNS name (ACME CAs do not certify IP addresses or bare host names: use tls internal for those)")
        if email and not re.fullmatch(r"^[^@\s{}\"'\\]+@[^@\s{}\"'\\]+\.[^@\s{}\"'\\]+$", str(email)):
            problems.append(f"{variable_prefix}_acme_email: {email!r} is not an email address")
        directory_variable = directory_variable or f"{variable_prefix}_acme_directory"
        ca_bundle_variable = ca_bundle_variable or f"{variable_prefix}_acme_ca_bundle"
        if directory and not re.fullmatch(r"^https://[^\s{}\"']+$", str(directory)):
            problems.append(f"{directory_variable} must be an https:// URL (got {directory!r})")
        if ca_bundle and not (os.path.isabs(str(ca_bundle)) and os.path.isfile(str(ca_bundle))):
            problems.append(f"{ca_bundle_variable}: {ca_bundle!r} is not an absolute path to a file on the controller")
        if http_port is not None and int(http_port) != 80:
            problems.append("nginx_gateway_http_port must be 80 with tls acme (HTTP-01 challenges always come to "
                            f"port 80; got {http_port})")
    if tls != "none" and http_port is not None and port is not None and int(http_port) == int(port):
        problems.append(f"nginx_gateway_http_port and nginx_gateway_port are both {port}: "
                        "the HTTP redirect needs its own port")
    if tls == "internal":
        if names is None or isinstance(names, (str, dict)) or not hasattr(names, "__iter__") or len(list(names)) == 0:
            problems.append(f"{variable_prefix}_tls_names must be a non-empty list of host names or IP addresses")
        else:
            for name in names:
                text = str(name).strip()
                if not (_ip(text) or DNS_NAME_RE.fullmatch(text)):
                    problems.append(f"{variable_prefix}_tls_names: {name!r} is neither a host name nor an IP address")
    return problems


class FilterModule:
    def filters(self):
        return {
            "gateway_san": gateway_san,
            "gateway_url_host": gateway_url_host,
            "gateway_tls_problems": gateway_tls_problems,
            "ollama_gate_tls_problems": gateway_tls_problems,
        }
