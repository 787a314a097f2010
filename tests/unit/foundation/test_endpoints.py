"""The one outbound rule: https anywhere; http only to loopback, and only when the caller allows it (local runs)."""

import pytest

from greenlight.endpoints import is_loopback_host, is_secure_endpoint


@pytest.mark.parametrize("url", ["https://graph.microsoft.com/v1.0", "https://127.0.0.1:7443/entra"])
def test_https_is_accepted_in_every_environment(url):
    assert is_secure_endpoint(url, allow_http_loopback=False)


@pytest.mark.parametrize("url", ["http://127.0.0.1:10002/devstoreaccount1", "http://localhost:7071", "http://[::1]:80"])
def test_http_to_loopback_only_when_allowed(url):
    assert is_secure_endpoint(url, allow_http_loopback=True)
    assert not is_secure_endpoint(url, allow_http_loopback=False)


@pytest.mark.parametrize(
    "url",
    [
        "http://graph.microsoft.com",  # plain http to a real host
        "http://10.0.0.5",  # private address
        "http://127.0.0.1.evil.example",  # loopback-looking name
        "ftp://127.0.0.1",
        "file:///etc/passwd",
        "https://",  # no host
        "not a url",
        "http://[::1",  # unparseable
    ],
)
def test_everything_else_is_refused_even_locally(url):
    assert not is_secure_endpoint(url, allow_http_loopback=True)


def test_loopback_host_names_are_case_insensitive_and_exact():
    assert is_loopback_host("LOCALHOST")
    assert not is_loopback_host("localhost.example")
    assert not is_loopback_host(None)
