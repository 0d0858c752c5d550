"""Station passwords: one slow hash check per station, then a keyed verifier on the row serves every later
connection on any process; a wrong password, a new password and a rotated SECRET_KEY behave as they must."""
from __future__ import annotations

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher

from apps.ocpp.services.admission import Admission, AdmissionRequest, PasswordCheckNeeded, password_check_slow, \
    station_admit, stations_admit_known
from apps.stations.models import ChargingStation
from apps.stations.services import station_password_verifier_store
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


def test_a_herd_is_decided_with_one_query(counted, django_assert_num_queries):
    """A reconnect herd: one read for every attempt of the moment, each with its own answer."""
    other = StationFactory(ocpp_id="PWD-2", site__organization__slug="elsewhere")
    other.set_password("second-station-key")
    other.save()
    station_password_verifier_store(station_id=counted.pk, password_hash=counted.password_hash,
                                    password="long-random-authorization-key")
    requests = [
        AdmissionRequest("pwd-1", None, ("PWD-1", "long-random-authorization-key")),  # verifier: admitted
        AdmissionRequest("PWD-1", None, ("PWD-1", "guess")),  # no verifier for this one: the slow check decides
        AdmissionRequest("PWD-2", None, ("PWD-2", "second-station-key")),  # first connection: slow check
        AdmissionRequest("PWD-2", "tejo", ("PWD-2", "second-station-key")),  # another organization's path
        AdmissionRequest("PWD-1", None, ("PWD-2", "long-random-authorization-key")),  # someone else's user
        AdmissionRequest("PWD-1", None, None),
        AdmissionRequest("NOBODY", None, ("NOBODY", "x")),
        AdmissionRequest("NOBODY", "tejo", ("NOBODY", "x")),  # unknown on an organization path: decided apart
        AdmissionRequest("bad/id", None, ("bad/id", "x")),
    ]
    with django_assert_num_queries(1):
        decided = stations_admit_known(requests=requests)
    admitted, guess, first, foreign_org, foreign_user, anonymous, unknown, unknown_on_path, malformed = decided
    assert admitted == Admission(True, station_id=counted.pk, ocpp_id="PWD-1",
                                 registration_status=counted.registration_status, max_power_w=counted.max_power_w)
    assert isinstance(guess, PasswordCheckNeeded) and not password_check_slow(check=guess).ok
    assert isinstance(first, PasswordCheckNeeded) and password_check_slow(check=first).station_id == other.pk
    assert CountingHasher.checks == 2
    assert (foreign_org.ok, foreign_org.status) == (False, 401)
    assert (foreign_user.ok, foreign_user.status) == (False, 401)
    assert (anonymous.ok, anonymous.status) == (False, 401)
    assert (unknown.ok, unknown.status) == (False, 401)
    assert unknown_on_path is None
    assert (malformed.ok, malformed.status) == (False, 400)


def test_the_batched_read_writes_nothing(counted):
    (decided,) = stations_admit_known(requests=[AdmissionRequest("PWD-1", None,
                                                                 ("PWD-1", "long-random-authorization-key"))])
    assert isinstance(decided, PasswordCheckNeeded)
    assert password_check_slow(check=decided).ok
    # The verifier is the caller's to store (the writer does, in a later batch): the read stored nothing.
    assert ChargingStation.objects.get(pk=counted.pk).password_verifier == ""
