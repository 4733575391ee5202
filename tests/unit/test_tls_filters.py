"""The HTTPS filters (roles/ollama_gate/filter_plugins/tls.py): subjectAltName entries, the
checks of a role's TLS settings, host names as URLs write them."""
import pytest

from ollama_gate_filters import load

tls = load("tls")


@pytest.mark.parametrize(
    ("name", "san"),
    [("gpu-box.lan", "DNS:gpu-box.lan"), ("GPU-Box", "DNS:gpu-box"), ("192.168.1.100", "IP:192.168.1.100"),
     ("[2001:db8::1]", "IP:2001:db8::1"), ("2001:DB8::1", "IP:2001:db8::1")],
)
def test_san_entries(name, san):
    assert tls.gateway_san(name) == san


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("none", "x"), []),
        (("acme", "x", "ollama.example.com"), []),
        (("acme", "x", "ollama.example.com", None, "admin@example.com"), []),
        (("internal", "x", "", ["gpu-box", "192.168.1.100", "::1"]), []),
        (("acme", "x"), ["x_domain (or ollama_gate_domain) must be set"]),
        (("acme", "ollama_gate"), ["ollama_gate_domain must be set"]),
        (("acme", "x", "192.0.2.1"), ["x_domain: '192.0.2.1' is not a fully qualified DNS name"]),
        (("acme", "x", "gpu-box"), ["x_domain: 'gpu-box' is not a fully qualified DNS name"]),
        (("acme", "x", "bad_name.example.com"), ["x_domain: 'bad_name.example.com' is not"]),
        (("acme", "x", "ollama.example.com", None, "nobody"), ["x_acme_email: 'nobody' is not an email address"]),
        (("internal", "x", "", []), ["x_tls_names must be a non-empty list"]),
        (("internal", "x", "", "gpu-box"), ["x_tls_names must be a non-empty list"]),
        (("internal", "x", "", ["gpu box", "ok"]), ["x_tls_names: 'gpu box' is neither"]),
        (("False", "x"), ["x_tls must be none, acme or internal (got 'False'; YAML reads a bare off as false"]),
        (("https", "x"), ["x_tls must be none, acme or internal (got 'https'"]),
        (("acme", "x", "ollama.example.com", None, "", "", "", "", "", 8080, 443),
         ["nginx_gateway_http_port must be 80 with tls acme"]),
        (("internal", "x", "", ["gpu-box"], "", "", "", "", "", 8443, 8443),
         ["nginx_gateway_http_port and nginx_gateway_port are both 8443"]),
        (("internal", "x", "", ["gpu-box"], "", "", "", "", "", 8080, 443), []),
        (("none", "x", "", None, "", "", "", "", "", 8080, 8080), []),
    ],
)
def test_tls_problems_name_the_variable(args, expected):
    problems = tls.gateway_tls_problems(*args)
    assert len(problems) == len(expected), problems
    for problem, start in zip(problems, expected):
        assert problem.startswith(start), problem


@pytest.mark.parametrize(
    ("name", "literal"),
    [("gpu-box.lan", "gpu-box.lan"), ("192.168.1.100", "192.168.1.100"), ("fd00::1", "[fd00::1]"),
     ("[FD00::1]", "[fd00::1]"), ("::ffff:10.0.0.1", "[::ffff:a00:1]")],
)
def test_url_host_brackets_ipv6(name, literal):
    assert tls.gateway_url_host(name) == literal
