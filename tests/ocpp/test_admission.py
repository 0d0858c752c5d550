"""Station passwords: one slow hash check per station, then a keyed verifier on the row serves every later
connection on any process; a wrong password, a new password and a rotated SECRET_KEY behave as they must."""
from __future__ import annotations

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher

from apps.ocpp.services.admission import station_admit
from apps.stations.models import ChargingStation
from tests.factories import StationFactory

pytestmark = pytest.mark.django_db

HASHER = "tests.ocpp.test_admission.CountingHasher"


class CountingHasher(MD5PasswordHasher):
    """The suite's hasher, counting the slow checks a real PBKDF2 would pay."""

    checks = 0

    def verify(self, password, encoded):
        CountingHasher.checks += 1
        return super().verify(password, encoded)


@pytest.fixture
def counted(settings):
    settings.PASSWORD_HASHERS = [HASHER]
    CountingHasher.checks = 0
    station = StationFactory(ocpp_id="PWD-1")
    station.set_password("long-random-authorization-key")
    station.save()
    return station


def _admit(password: str, ocpp_id: str = "PWD-1"):
    return station_admit(ocpp_id=ocpp_id, organization_slug=None, credentials=(ocpp_id, password))


def test_only_the_first_connection_pays_the_slow_check(counted):
    assert _admit("long-random-authorization-key").ok
    assert CountingHasher.checks == 1
    assert ChargingStation.objects.get(pk=counted.pk).password_verifier
    # Later connections (this process or any other: the verifier is on the row) cost no hash.
    for _ in range(3):
        assert _admit("long-random-authorization-key").ok
    assert CountingHasher.checks == 1


def test_a_wrong_password_is_refused_even_with_a_verifier_stored(counted):
    assert _admit("long-random-authorization-key").ok
    refused = _admit("guess")
    assert not refused.ok and refused.status == 401
    assert _admit("long-random-authorization-key").ok


def test_a_new_password_voids_the_old_one_at_once(counted):
    assert _admit("long-random-authorization-key").ok
    station = ChargingStation.objects.get(pk=counted.pk)
    station.set_password("another-long-authorization-key")
    station.save()
    assert not _admit("long-random-authorization-key").ok
    assert _admit("another-long-authorization-key").ok
    # Even when the hash is replaced behind the model's back (a bulk UPDATE), the old verifier does not match it.
    ChargingStation.objects.filter(pk=counted.pk).update(password_hash=MD5PasswordHasher().encode("third", "salt"))
    assert not _admit("another-long-authorization-key").ok
    assert _admit("third").ok


def test_a_rotated_secret_key_falls_back_to_the_slow_check_once(counted, settings):
    assert _admit("long-random-authorization-key").ok
    settings.SECRET_KEY = "a-new-secret-key-after-rotation-" + "x" * 20
    assert _admit("long-random-authorization-key").ok
    assert CountingHasher.checks == 2
    assert _admit("long-random-authorization-key").ok
    assert CountingHasher.checks == 2
