"""The SSRF guard: which addresses and URLs the prober refuses, and the save-time check that
keeps such URLs out of health checks in the first place."""

from __future__ import annotations

import ipaddress
import json
import re

import pytest
from django.core.exceptions import ImproperlyConfigured, ValidationError
from rest_framework.test import APIClient

from api.tokens import token_create
from deployments.models import HealthCheck
from deployments.probing import BlockedAddress, validate_target_url
from deployments.probing.ssrf import allowed_networks, check_address, refusal_reason
from deployments.probing.transport import Session
from deployments.services import health_check_create, health_check_update
from tests.factories import HealthCheckFactory, ServiceFactory, user_with_role

REFUSED = [
    # IPv4
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.255", "private"),
    ("192.168.1.1", "private"),
    ("169.254.1.1", "link-local"),
    ("169.254.169.254", "cloud metadata"),
    ("100.100.100.200", "cloud metadata"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("100.127.255.254", "carrier-grade NAT"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("0.0.0.0", "unspecified"),
    ("0.1.2.3", "unspecified"),
    ("255.255.255.255", "broadcast"),
    ("240.0.0.1", "reserved"),
    ("192.0.2.1", "documentation"),
    ("198.51.100.7", "documentation"),
    ("203.0.113.9", "documentation"),
    ("198.18.0.1", "benchmarking"),
    ("192.0.0.8", "reserved"),
    ("192.88.99.1", "reserved"),
    # IPv6
    ("::1", "loopback"),
    ("::", "unspecified"),
    ("fc00::1", "private"),
    ("fd12:3456::1", "private"),
    ("fd00:ec2::254", "cloud metadata"),
    ("fe80::1", "link-local"),
    ("fec0::1", "site-local"),
    ("ff02::1", "multicast"),
    ("2001:db8::1", "documentation"),
    ("3fff::1", "documentation"),
    ("64:ff9b:1::1", "local-use NAT64"),
    ("2001::1", "Teredo"),
    ("100::1", "discard"),
    ("::7f00:1", "reserved"),
    ("4000::1", "reserved"),
    # IPv6 forms that carry an IPv4 address are judged by it.
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:10.0.0.1", "private"),
    ("::ffff:169.254.169.254", "cloud metadata"),
    ("::ffff:0.0.0.0", "unspecified"),
    ("64:ff9b::7f00:1", "loopback"),
    ("64:ff9b::a00:1", "private"),
    ("64:ff9b::a9fe:a9fe", "cloud metadata"),
    ("2002:7f00:1::1", "loopback"),
    ("2002:c0a8:101::", "private"),
    ("2002:a9fe:a9fe::", "cloud metadata"),
    ("2002:6440:1::", "carrier-grade NAT"),
]

PUBLIC = [
    "93.184.215.14",
    "8.8.8.8",
    "1.1.1.1",
    "2606:4700:4700::1111",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "2002:808:808::1",
]

METADATA = [
    "169.254.169.254",
    "fd00:ec2::254",
    "100.100.100.200",
    "::ffff:169.254.169.254",
    "64:ff9b::a9fe:a9fe",
    "2002:a9fe:a9fe::",
]


def ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(text)


class TestAddresses:
    @pytest.mark.parametrize(("address", "reason"), REFUSED)
    def test_each_refused_address_class_is_refused_with_its_reason(self, address, reason):
        assert reason in (refusal_reason(ip(address)) or "")
        with pytest.raises(
            BlockedAddress, match=re.escape(f"blocked by SSRF guard: {ip(address)} is")
        ):
            check_address(ip(address))

    @pytest.mark.parametrize("address", PUBLIC)
    def test_public_addresses_pass(self, address):
        assert refusal_reason(ip(address)) is None

    def test_an_embedded_address_names_the_form_it_came_in(self):
        assert refusal_reason(ip("64:ff9b::7f00:1")) == "loopback (inside 64:ff9b::7f00:1)"

    def test_the_allow_list_opts_private_networks_in_and_nothing_more(self):
        allowed = allowed_networks(["127.0.0.1/32", "10.0.0.0/8"])
        assert refusal_reason(ip("127.0.0.1"), allowed) is None
        assert refusal_reason(ip("10.200.0.1"), allowed) is None
        assert refusal_reason(ip("::ffff:127.0.0.1"), allowed) is None
        assert refusal_reason(ip("127.0.0.2"), allowed) == "loopback"
        assert refusal_reason(ip("192.168.0.1"), allowed) == "private"
        assert refusal_reason(ip("::1"), allowed) == "loopback"

    @pytest.mark.parametrize("address", METADATA)
    def test_cloud_metadata_stays_refused_even_when_everything_is_allowed(self, address):
        everything = allowed_networks(["0.0.0.0/0", "::/0"])
        assert refusal_reason(ip(address), everything) == "a cloud metadata address"

    def test_the_unspecified_address_stays_refused_even_when_everything_is_allowed(self):
        everything = allowed_networks(["0.0.0.0/0", "::/0"])
        assert refusal_reason(ip("0.0.0.0"), everything) == "unspecified"
        assert refusal_reason(ip("::"), everything) == "unspecified"
        assert refusal_reason(ip("10.0.0.1"), everything) is None

    def test_a_typo_in_the_allow_list_is_a_configuration_error(self):
        with pytest.raises(ImproperlyConfigured, match=re.escape("'10.0.0.0/33' is not a network")):
            allowed_networks(["10.0.0.0/33"])

    def test_the_allow_list_comes_from_settings_by_default(self, settings):
        settings.HINDSIGHT_PROBE_ALLOWED_NETWORKS = ["192.168.0.0/16"]
        assert allowed_networks() == (ipaddress.ip_network("192.168.0.0/16"),)

    def test_a_name_with_public_and_private_records_is_dialled_on_the_public_one_only(self):
        session = Session()
        usable = session._judge("mixed.example", [ip("127.0.0.1"), ip("93.184.215.14")])
        assert usable == [ip("93.184.215.14")]

    def test_a_name_with_only_refused_records_is_refused_naming_them(self):
        with pytest.raises(BlockedAddress) as excinfo:
            Session()._judge("inside.example", [ip("10.0.0.7"), ip("fd00::7")])
        assert str(excinfo.value) == (
            "blocked by SSRF guard: inside.example resolves to 10.0.0.7, which is private; "
            "fd00::7, which is private (unique local)"
        )


class TestValidateTargetUrl:
    @pytest.mark.parametrize(
        ("url", "code"),
        [
            ("ftp://example.com/", "scheme"),
            ("file:///etc/passwd", "scheme"),
            ("gopher://example.com:70/", "scheme"),
            ("http://", "invalid"),
            ("http://example.com:99999/", "invalid"),
            ("http://user:secret@example.com/", "credentials"),
            ("http://user@example.com/", "credentials"),
            ("http://127.0.0.1/", "blocked_address"),
            ("http://[::1]:8000/", "blocked_address"),
            ("http://[::ffff:10.0.0.1]/", "blocked_address"),
            ("http://169.254.169.254/latest/meta-data/", "blocked_address"),
            ("http://10.0.0.1:8080/health", "blocked_address"),
            ("http://2130706433/", "blocked_address"),
            ("http://0x7f.1/", "blocked_address"),
            ("http://017700000001/", "blocked_address"),
        ],
    )
    def test_bad_target_urls_are_refused_with_a_reason(self, url, code):
        with pytest.raises(ValidationError) as excinfo:
            validate_target_url(url)
        assert excinfo.value.code == code

    @pytest.mark.parametrize(
        "url",
        [
            "https://example.com/health",
            "http://93.184.215.14:8080/",
            "https://[2606:4700:4700::1111]/",
            # Names are judged where it counts, after DNS when the probe connects.
            "http://localhost:8000/",
        ],
    )
    def test_good_target_urls_pass(self, url):
        validate_target_url(url)

    def test_an_allowed_private_address_passes_and_metadata_still_does_not(self, settings):
        settings.HINDSIGHT_PROBE_ALLOWED_NETWORKS = ["0.0.0.0/0"]
        validate_target_url("http://127.0.0.1:8000/health")
        with pytest.raises(ValidationError, match="cloud metadata"):
            validate_target_url("http://169.254.169.254/")


@pytest.mark.django_db
class TestSaveTimeValidation:
    def test_creating_a_check_aimed_at_a_private_address_is_a_url_field_error(self):
        with pytest.raises(ValidationError) as excinfo:
            health_check_create(service=ServiceFactory(), name="DB", url="http://10.0.0.5:5432/")
        assert "10.0.0.5" in excinfo.value.message_dict["url"][0]
        assert not HealthCheck.objects.exists()

    def test_changing_a_check_to_the_metadata_address_is_a_url_field_error(self):
        check = HealthCheckFactory()
        with pytest.raises(ValidationError) as excinfo:
            health_check_update(health_check=check, url="http://169.254.169.254/latest/")
        assert list(excinfo.value.message_dict) == ["url"]
        check.refresh_from_db()
        assert check.url == "https://service.example.test/health"

    def test_the_scheme_rule_keeps_its_message(self):
        with pytest.raises(ValidationError) as excinfo:
            health_check_create(service=ServiceFactory(), name="FTP", url="ftp://example.com/")
        assert "Only http and https URLs can be probed." in excinfo.value.message_dict["url"]

    def test_a_private_check_saves_once_its_network_is_allowed(self, settings):
        settings.HINDSIGHT_PROBE_ALLOWED_NETWORKS = ["10.0.0.0/8"]
        check = health_check_create(service=ServiceFactory(), name="DB", url="http://10.0.0.5/")
        assert check.pk is not None

    @pytest.mark.parametrize(
        "url", ["http://127.0.0.1:8000/", "http://[fd00:ec2::254]/", "https://u:p@example.com/"]
    )
    def test_the_api_answers_a_refused_url_with_a_url_field_problem(self, url):
        ServiceFactory(slug="moodmash")
        _token, raw = token_create(user=user_with_role("admin"), name="ci", scope="write")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        body = {"service": "moodmash", "name": "Home", "url": url}
        response = client.post(
            "/api/v1/health-checks", data=json.dumps(body), content_type="application/json"
        )
        assert response.status_code == 400, response.content
        assert response["Content-Type"] == "application/problem+json"
        assert list(response.json()["errors"]) == ["url"]
        assert not HealthCheck.objects.exists()
