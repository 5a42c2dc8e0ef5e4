"""Which URLs a webhook may call: the pure check, without an app and without DNS."""
from __future__ import annotations

import socket

import pytest

from ideas.integrations.urls import UnsafeUrlError, check_url

# Pure rules, no database: the same on either backend, so `make test` runs them on one
# (`once`, docs/testing.md).
pytestmark = pytest.mark.once

PUBLIC = "93.184.215.14"


def resolver(mapping: dict[str, list[str]]):
    """A stand-in for socket.getaddrinfo over a fixed table of names."""

    def resolve(host, port, type=0):
        if host not in mapping:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                 (a, port, 0, 0) if ":" in a else (a, port)) for a in mapping[host]]

    return resolve


DNS = resolver({
    "hooks.example.com": [PUBLIC],
    "intranet.example.com": ["10.1.2.3"],
    "sneaky.example.com": [PUBLIC, "127.0.0.1"],  # one bad address is enough
    "v6.example.com": ["2606:4700::1111"],
    "mapped.example.com": ["::ffff:192.168.1.1"],
    "localhost": ["127.0.0.1", "::1"],
})


@pytest.mark.parametrize(("url", "words"), [
    ("file:///etc/passwd", "http:// or https://"),
    ("ftp://hooks.example.com/in", "http:// or https://"),
    ("gopher://hooks.example.com/", "http:// or https://"),
    ("javascript:alert(1)", "http:// or https://"),
    ("hooks.example.com/in", "http:// or https://"),
    ("http://127.0.0.1", "loopback"),
    ("http://127.0.0.1:8080/hook", "loopback"),
    ("http://10.0.0.1", "private"),
    ("http://172.16.5.4/", "private"),
    ("http://192.168.0.10/", "private"),
    ("http://100.64.0.1/", "private"),  # shared address space (carrier NAT)
    ("http://[::1]", "loopback"),
    ("http://[::1]:9000/x", "loopback"),
    ("http://[fc00::1]/", "private"),
    ("http://[fe80::1]/", "link-local"),
    ("http://169.254.169.254", "link-local"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://[::ffff:127.0.0.1]/", "loopback"),
    ("http://[::ffff:169.254.169.254]/", "link-local"),
    ("http://[::ffff:a9fe:a9fe]/", "link-local"),
    ("http://[2002:7f00:1::]/", "loopback"),  # 6to4 around 127.0.0.1
    ("http://[64:ff9b::a00:1]/", "private"),  # NAT64 around 10.0.0.1
    ("http://0x7f000001", "unusual form"),
    ("http://0x7f.0.0.1/", "unusual form"),
    ("http://2130706433/", "unusual form"),
    ("http://017700000001/", "unusual form"),
    ("http://0177.0.0.1/", "unusual form"),
    ("http://127.1/", "unusual form"),
    ("http://0.0.0.0/", "unspecified"),
    ("http://[::]/", "unspecified"),
    ("http://224.0.0.1/", "multicast"),
    ("http://[ff02::1]/", "multicast"),
    ("http://240.0.0.1/", "reserved"),
    ("http://255.255.255.255/", "reserved"),
    ("http://user:pass@host", "user name and password"),
    ("http://user:pass@hooks.example.com/in", "user name and password"),
    ("https://token@hooks.example.com/in", "user name and password"),
    ("http://hooks.example.com@127.0.0.1/", "user name and password"),
    ("http:///nohost", "needs a host"),
    ("https://", "needs a host"),
    ("http://hooks.example.com:0/", "port"),
    ("http://hooks.example.com:70000/", "port"),
    ("http://hooks.example.com:http/", "port"),
    ("http://hooks .example.com/", "spaces"),
    ("http://hooks.example.com/\x00", "control characters"),
    ("http://[fe80::1%25eth0]/", "zone"),
    ("http://localhost/", "resolves to 127.0.0.1"),
    ("http://intranet.example.com/hook", "resolves to 10.1.2.3"),
    ("http://sneaky.example.com/hook", "resolves to 127.0.0.1"),
    ("http://mapped.example.com/hook", "private"),
    ("http://nowhere.example.com/hook", "could not be resolved"),
    ("", "Enter the URL"),
    ("https://hooks.example.com/" + "a" * 2000, "under 2,000"),
])
def test_bad_urls_are_refused_with_the_reason(url, words):
    with pytest.raises(UnsafeUrlError) as refused:
        check_url(url, resolve=DNS)
    assert words in refused.value.message


@pytest.mark.parametrize(("url", "host", "port", "target", "addresses"), [
    ("https://hooks.example.com/in", "hooks.example.com", 443, "/in", (PUBLIC,)),
    ("http://hooks.example.com", "hooks.example.com", 80, "/", (PUBLIC,)),
    ("HTTPS://Hooks.Example.COM./in?x=1&y=2", "hooks.example.com", 443, "/in?x=1&y=2", (PUBLIC,)),
    ("https://hooks.example.com:8443/a/b", "hooks.example.com", 8443, "/a/b", (PUBLIC,)),
    ("https://v6.example.com/in", "v6.example.com", 443, "/in", ("2606:4700::1111",)),
    (f"http://{PUBLIC}/in", PUBLIC, 80, "/in", (PUBLIC,)),
    ("https://[2606:4700::1111]:8443/in", "2606:4700::1111", 8443, "/in", ("2606:4700::1111",)),
])
def test_public_urls_pass_with_what_the_sender_needs(url, host, port, target, addresses):
    checked = check_url(url, resolve=DNS)
    assert (checked.host, checked.port, checked.target, checked.addresses) == (host, port, target, addresses)


def test_international_names_are_sent_as_punycode():
    dns = resolver({"xn--bcher-kva.example": [PUBLIC]})
    assert check_url("https://bücher.example/in", resolve=dns).host == "xn--bcher-kva.example"


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8080/hook", "http://10.0.0.1/", "http://[::1]:9000/", "http://localhost/",
    "http://intranet.example.com/hook", "http://[fc00::1]/", "http://100.64.0.1/", "http://[::ffff:10.0.0.1]/",
])
def test_an_administrator_may_allow_private_and_loopback_addresses(url):
    assert check_url(url, allow_private=True, resolve=DNS).addresses


@pytest.mark.parametrize("url", [
    "http://169.254.169.254/", "http://[fe80::1]/", "http://0.0.0.0/", "http://224.0.0.1/", "http://240.0.0.1/",
    "http://0x7f000001/", "http://user:pass@127.0.0.1/", "file:///etc/passwd",
])
def test_allowing_private_addresses_never_allows_the_rest(url):
    with pytest.raises(UnsafeUrlError):
        check_url(url, allow_private=True, resolve=DNS)


def test_the_refusal_says_how_to_allow_private_addresses_only_where_that_would_help():
    with pytest.raises(UnsafeUrlError) as loopback:
        check_url("http://127.0.0.1/", resolve=DNS)
    assert "IDEAS_WEBHOOK_ALLOW_PRIVATE" in loopback.value.message
    with pytest.raises(UnsafeUrlError) as metadata:
        check_url("http://169.254.169.254/", resolve=DNS)
    assert "IDEAS_WEBHOOK_ALLOW_PRIVATE" not in metadata.value.message


def test_each_check_resolves_again():
    """The sender checks at send time: a name that now points inside is refused then."""
    answers = iter([[PUBLIC], ["127.0.0.1"]])

    def rebinding(host, port, type=0):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in next(answers)]

    assert check_url("http://rebind.example.com/", resolve=rebinding).addresses == (PUBLIC,)
    with pytest.raises(UnsafeUrlError, match="resolves to 127.0.0.1"):
        check_url("http://rebind.example.com/", resolve=rebinding)
