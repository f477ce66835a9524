"""Specs HAProxy cannot serve are refused with the load balancer and field named, before any change."""

from __future__ import annotations

import pytest

from gennaker.providers.local.haproxy import FrontendSpec, HAProxyError, HealthCheckSpec, ServerSpec
from gennaker.providers.local.haproxy.config import Paths, Settings, render, structure_digest
from gennaker.providers.local.haproxy.specs import validate_frontends


def fe(**kwargs: object) -> FrontendSpec:
    base: dict[str, object] = {"name": "shop-web", "port": 8080}
    base.update(kwargs)
    return FrontendSpec(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("frontends", "message"),
    [
        ([fe(name="shop web")], "load balancer 'shop web': the name may only hold"),
        ([fe(name="_stats")], "load balancer '_stats': the name may only hold"),
        ([fe(), fe(port=8081)], "load balancer 'shop-web' is listed twice"),
        (
            [fe(), fe(name="shop-api")],
            "load balancer 'shop-api': port 8080 is already the port of load balancer 'shop-web'",
        ),
        ([fe(port=0)], "load balancer 'shop-web': listener port 0 must be a number between 1 and 65535"),
        ([fe(port=9100)], "port 9100 is the account's HAProxy stats port"),
        ([fe(protocol="UDP")], "protocol 'UDP' is not HTTP or TCP"),
        ([fe(health_check=HealthCheckSpec(path="health"))], "health check path 'health' must start with '/'"),
        ([fe(health_check=HealthCheckSpec(path="/a b"))], "health check path '/a b' must start with '/'"),
        ([fe(health_check=HealthCheckSpec(path=None, interval_seconds=0))], "health check interval"),
        ([fe(health_check=HealthCheckSpec(path=None, healthy_threshold=0))], "healthy threshold 0"),
        (
            [fe(servers=(ServerSpec("i-1", "localhost", 1),))],
            "server 'i-1': address 'localhost' is not an IP address",
        ),
        ([fe(servers=(ServerSpec("i-1", "127.0.0.1", 70000),))], "server 'i-1': port 70000"),
        ([fe(servers=(ServerSpec("i-1", "127.0.0.1", 1, weight=300),))], "server 'i-1': weight 300"),
        (
            [fe(servers=(ServerSpec("i-1", "127.0.0.1", 1, state="off"),))],
            "state 'off' is not ready, drain or maint",
        ),  # type: ignore[arg-type]
        ([fe(servers=(ServerSpec("i 1", "127.0.0.1", 1),))], "server 'i 1': the name may only hold"),
        (
            [fe(servers=(ServerSpec("i-1", "127.0.0.1", 1), ServerSpec("i-1", "127.0.0.1", 2)))],
            "server 'i-1' is listed twice",
        ),
    ],
)
def test_bad_specs_are_refused_naming_the_field(frontends: list[FrontendSpec], message: str) -> None:
    with pytest.raises(HAProxyError) as caught:
        validate_frontends(frontends, reserved_ports=(9100,))
    assert message in str(caught.value)


def test_servers_do_not_change_the_structure(tmp_path: object) -> None:
    settings = Settings(
        account="a", paths=Paths(tmp_path), bind_address="127.0.0.1", stats_port=9100, prometheus=True
    )  # type: ignore[arg-type]
    check = HealthCheckSpec(path="/health")
    empty = fe(health_check=check)
    full = fe(health_check=check, servers=(ServerSpec("i-1", "127.0.0.1", 9001, weight=5, state="maint"),))
    assert structure_digest(settings, [empty]) == structure_digest(settings, [full])
    assert structure_digest(settings, [empty]) != structure_digest(
        settings, [fe(health_check=HealthCheckSpec(path="/ready"))]
    )
    assert structure_digest(settings, [empty]) != structure_digest(
        settings, [fe(health_check=check, port=8081)]
    )
    text = render(settings, [full])
    assert "    server i-1 127.0.0.1:9001 weight 5 disabled" in text
    assert "    http-check send meth GET uri /health ver HTTP/1.1 hdr Host localhost" in text
    assert "    bind 127.0.0.1:8080" in text
    ipv6 = Settings(account="a", paths=Paths(tmp_path), bind_address="::1", stats_port=9100, prometheus=False)  # type: ignore[arg-type]
    text = render(ipv6, [fe(servers=(ServerSpec("i-1", "::1", 9001),))])
    assert "    bind [::1]:8080" in text and "server i-1 [::1]:9001 weight 100" in text
    assert "prometheus-exporter" not in text
