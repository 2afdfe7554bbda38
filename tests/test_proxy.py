"""Go's ProxyFromEnvironment, as diagnose.proxy models it: one row per rule.

Rows follow golang.org/x/net/http/httpproxy (proxy.go: FromEnvironment, parseProxy,
useProxy and the NO_PROXY matchers) and its proxy_test.go cases.
"""

from __future__ import annotations

import pytest

from diagnose.proxy import choose_proxy

P = "http://proxy.corp:3128"

# (url, env, expected proxy or None, reason fragment)
ROWS = [
    # which variable for which scheme
    ("https://reg.example/v2/", {"HTTPS_PROXY": P}, P, "HTTPS_PROXY"),
    ("https://reg.example/v2/", {"https_proxy": P}, P, "https_proxy"),
    ("https://reg.example/v2/", {"HTTP_PROXY": P}, None, "HTTPS_PROXY not set"),  # no fallback
    ("http://reg.example/v2/", {"HTTP_PROXY": P}, P, "HTTP_PROXY"),
    ("http://reg.example/v2/", {"HTTPS_PROXY": P}, None, "HTTP_PROXY not set"),
    ("https://reg.example/v2/", {"HTTPS_PROXY": P, "https_proxy": "http://lower:1"}, P, "HTTPS_PROXY"),
    ("https://reg.example/v2/", {"HTTPS_PROXY": "", "https_proxy": P}, P, "https_proxy"),  # first non-empty
    # scheme-less proxy values are http://
    ("https://reg.example/v2/", {"HTTPS_PROXY": "proxy.corp:3128"}, P, "HTTPS_PROXY"),
    ("https://reg.example/v2/", {"HTTPS_PROXY": "socks5://s:1080"}, "socks5://s:1080", "HTTPS_PROXY"),
    # never proxied
    ("https://localhost:5000/v2/", {"HTTPS_PROXY": P}, None, "localhost"),
    ("https://127.0.0.1:5000/v2/", {"HTTPS_PROXY": P}, None, "loopback"),
    ("https://127.9.9.9/v2/", {"HTTPS_PROXY": P}, None, "loopback"),
    ("https://[::1]:5000/v2/", {"HTTPS_PROXY": P}, None, "loopback"),
    # NO_PROXY
    ("https://reg.example/v2/", {"HTTPS_PROXY": P, "NO_PROXY": "*"}, None, "'*'"),
    ("https://reg.example/v2/", {"HTTPS_PROXY": P, "no_proxy": "reg.example"}, None, "reg.example"),
    ("https://a.reg.example/v2/", {"HTTPS_PROXY": P, "NO_PROXY": "reg.example"}, None, "reg.example"),
    ("https://reg.example/v2/", {"HTTPS_PROXY": P, "NO_PROXY": ".reg.example"}, P, "HTTPS_PROXY"),
    ("https://a.reg.example/v2/", {"HTTPS_PROXY": P, "NO_PROXY": ".reg.example"}, None, ".reg.example"),
    ("https://a.reg.example/v2/", {"HTTPS_PROXY": P, "NO_PROXY": "*.reg.example"}, None, "*.reg.example"),
    ("https://xreg.example/v2/", {"HTTPS_PROXY": P, "NO_PROXY": "reg.example"}, P, "HTTPS_PROXY"),
    ("https://reg.example/v2/", {"HTTPS_PROXY": P, "NO_PROXY": "reg.example:443"}, None, "reg.example:443"),
    ("https://reg.example:5000/v2/", {"HTTPS_PROXY": P, "NO_PROXY": "reg.example:443"}, P, "HTTPS_PROXY"),
    ("https://10.1.2.3/v2/", {"HTTPS_PROXY": P, "NO_PROXY": "10.0.0.0/8"}, None, "10.0.0.0/8"),
    ("https://11.1.2.3/v2/", {"HTTPS_PROXY": P, "NO_PROXY": "10.0.0.0/8"}, P, "HTTPS_PROXY"),
    ("https://10.1.2.3/v2/", {"HTTPS_PROXY": P, "NO_PROXY": "10.1.2.3"}, None, "10.1.2.3"),
    ("https://10.1.2.3:5000/v2/", {"HTTPS_PROXY": P, "NO_PROXY": "10.1.2.3:443"}, P, "HTTPS_PROXY"),
    ("https://reg.example/v2/", {"HTTPS_PROXY": P, "NO_PROXY": " , REG.EXAMPLE "}, None, "REG.EXAMPLE"),
    ("https://reg.example/v2/", {"HTTPS_PROXY": P, "NO_PROXY": ":443"}, P, "HTTPS_PROXY"),  # malformed
    ("https://reg.example/v2/", {"HTTPS_PROXY": P, "NO_PROXY": "10.0.0.0/8"}, P, "HTTPS_PROXY"),  # CIDR, name
    ("https://reg.example/v2/", {"HTTPS_PROXY": P, "NO_PROXY": "", "no_proxy": "reg.example"}, None, "reg"),
]


@pytest.mark.parametrize(("url", "env", "proxy", "reason"), ROWS)
def test_proxy_choice_follows_go(url: str, env: dict[str, str], proxy: str | None, reason: str) -> None:
    choice = choose_proxy(url, env)
    assert choice.proxy == proxy
    assert reason in choice.reason
    assert choice.error is None


def test_cgi_environment_refuses_http_proxy_like_go() -> None:
    choice = choose_proxy("http://reg.example/v2/", {"HTTP_PROXY": P, "REQUEST_METHOD": "GET"})
    assert choice.proxy is None
    assert choice.error is not None and "CGI" in choice.error
    # HTTPS_PROXY is still honoured in a CGI environment.
    assert choose_proxy("https://reg.example/v2/", {"HTTPS_PROXY": P, "REQUEST_METHOD": "GET"}).proxy == P


def test_non_http_schemes_are_never_proxied() -> None:
    assert choose_proxy("ftp://reg.example/", {"HTTPS_PROXY": P, "HTTP_PROXY": P}).proxy is None
