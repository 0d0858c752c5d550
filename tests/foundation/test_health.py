import pytest

pytestmark = pytest.mark.django_db


def test_healthz_answers_200(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_answers_200_when_database_and_channel_layer_answer(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json()["checks"] == {"database": "ok", "channel_layer": "ok"}


def test_readyz_answers_503_with_the_reason_when_the_channel_layer_is_down(client, settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                                           "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]}}}
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    try:
        response = client.get("/readyz")
    finally:
        channel_layers.backends.clear()
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert any(problem.startswith("channel layer:") for problem in body["problems"])


def test_readyz_refuses_post(client):
    assert client.post("/readyz").status_code == 405


@pytest.mark.timeout(60)
def test_readyz_answers_503_in_time_when_redis_accepts_but_never_answers(client, settings):
    """A hung Redis (the TCP connection is accepted, nothing is ever answered) must not hang the probe."""
    import socket
    import time

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    port = silent.getsockname()[1]
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                                           "CONFIG": {"hosts": [f"redis://127.0.0.1:{port}/0"]}}}
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    started = time.monotonic()
    try:
        response = client.get("/readyz")
    finally:
        channel_layers.backends.clear()
        silent.close()
    assert response.status_code == 503
    assert any(problem.startswith("channel layer: TimeoutError") for problem in response.json()["problems"])
    assert time.monotonic() - started < 10
