"""Webhooks cannot reach the service's own machine or network (server-side request forgery): every
spelling of an internal address is refused when registered, the target is vetted again when a delivery is
sent (DNS rebinding), redirects are not followed, and http is only for a host the operator lists."""

import socket
import subprocess
import sys

import pytest

pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402
from test_service import LOCAL, _as, _Receiver, _submit, location, receiver, service, work  # noqa: E402,F401 (fixtures)

from vericarbon.service import delivery  # noqa: E402
from vericarbon.service.app import create_app  # noqa: E402
from vericarbon.service.webhooks import Policy, RefusedTarget, check_target  # noqa: E402

INTERNAL = [
    "http://127.0.0.1:{port}/hook", "http://localhost:{port}/hook", "http://2130706433:{port}/hook", "http://127.1:{port}/hook",
    "https://127.0.0.1:{port}/hook", "https://localhost:{port}/hook", "https://2130706433:{port}/hook", "https://127.1:{port}/hook",
    "https://0x7f.0.0.1/", "https://0177.0.0.1/", "https://0x7f000001/", "https://017700000001/", "https://127.0.0.1./",
    "https://[::1]/", "https://[::ffff:127.0.0.1]/", "https://[::ffff:7f00:1]/", "https://[::ffff:10.0.0.1]/", "https://[2002:7f00:1::]/",
    "https://localhost./", "https://0.0.0.0/", "https://0/", "https://[::]/", "https://10.1.2.3/", "https://172.16.0.1/", "https://192.168.1.1/",
    "https://169.254.169.254/latest/meta-data/", "https://[fe80::1]/", "https://[fc00::1]/", "https://224.0.0.1/", "https://[ff02::1]/",
    "https://240.0.0.1/", "https://100.64.0.1/", "https://198.18.0.1/",
]
MALFORMED = ["http://", "https://", "http:///hook", "ftp://example.org/", "file:///etc/passwd", "https://user:pass@example.org/", "https://example.org:99999/", "//example.org/", 42]


@pytest.fixture
def guarded(service):
    """The service's database with an API under the default policy: no host listed."""
    client, store, keys, location = service
    with TestClient(create_app(location)) as strict:
        yield strict, store, keys


@pytest.mark.parametrize("url", INTERNAL)
def test_every_spelling_of_an_internal_address_is_refused(guarded, url):
    client, store, keys = guarded
    response = client.post("/v1/webhooks", json={"url": url.format(port=8080)}, headers=_as(keys["registry"]))
    assert response.status_code == 422 and "refused" in response.json()["error"], response.json()
    assert store.read_one("SELECT count(*) FROM webhooks")[0] == 0
    assert store.read_one("SELECT count(*) FROM audit WHERE action = 'webhook refused'")[0] == 1


@pytest.mark.parametrize("url", MALFORMED)
def test_a_url_without_a_host_or_of_another_scheme_is_refused(guarded, url):
    client, store, keys = guarded
    assert client.post("/v1/webhooks", json={"url": url}, headers=_as(keys["registry"])).status_code == 422
    assert store.read_one("SELECT count(*) FROM webhooks")[0] == 0


def test_http_is_refused_even_for_a_public_address_unless_its_host_is_listed():
    with pytest.raises(RefusedTarget, match="webhook-allow-http"):
        check_target("http://93.184.216.34/hook", Policy())
    assert check_target("https://93.184.216.34/hook", Policy()).address == "93.184.216.34"  # resolved, not contacted


def test_listing_one_host_opens_that_spelling_only(service, receiver):
    client, store, keys, location = service  # the service fixture lists 127.0.0.1 (LOCAL)
    server, url = receiver
    port = server.server_address[1]
    assert client.post("/v1/webhooks", json={"url": url}, headers=_as(keys["registry"])).status_code == 201
    for other in (f"http://127.1:{port}/", f"http://2130706433:{port}/", f"http://localhost:{port}/", f"http://[::ffff:127.0.0.1]:{port}/", f"https://127.1:{port}/"):
        assert client.post("/v1/webhooks", json={"url": other}, headers=_as(keys["registry"])).status_code == 422, other


def test_the_check_is_not_an_assert_so_python_O_keeps_it():
    code = "from vericarbon.service.webhooks import *\ntry:\n check_target('http://127.0.0.1/', Policy())\nexcept RefusedTarget: print('refused')"
    assert subprocess.run([sys.executable, "-O", "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "refused"


def test_a_host_that_resolves_elsewhere_at_delivery_is_not_called(service, receiver, monkeypatch):
    """DNS rebinding: public when registered, loopback when delivered; the delivery is refused, not sent."""
    client, store, keys, location = service
    server, url = receiver
    port = server.server_address[1]
    answers = {"now": "93.184.216.34"}
    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *a, **k: real(answers["now"], *a, **k) if host == "hooks.example.org" else real(host, *a, **k))
    assert client.post("/v1/webhooks", json={"url": f"https://hooks.example.org:{port}/hook"}, headers=_as(keys["registry"])).status_code == 201
    _submit(client, keys["acme"])
    work(location)
    answers["now"] = "127.0.0.1"
    assert delivery.deliver_due(store, LOCAL) == 1
    assert _Receiver.received == []
    assert "resolves to an address of the service's own machine" in store.read_one("SELECT last_error FROM deliveries")[0]


def test_a_redirect_is_not_followed(service, receiver):
    client, store, keys, location = service
    server, url = receiver
    _Receiver.status, _Receiver.location = 302, url + "/internal"
    client.post("/v1/webhooks", json={"url": url}, headers=_as(keys["registry"]))
    _submit(client, keys["acme"])
    work(location)
    assert delivery.deliver_due(store, LOCAL) == 1
    assert len(_Receiver.received) == 1  # the redirect's target was never asked
    assert store.read_one("SELECT last_error, delivered FROM deliveries") == ("HTTP 302 (redirects are not followed)", None)
