"""evnet's daphne: daphne 4.2.3 plus the ASGI "WebSocket Denial Response" extension and a writer flush on shutdown.

    python -m apps.ocpp.server -b 0.0.0.0 -p 8000 evnet.asgi:application    # same options as `daphne`

Why: a charger with a wrong password must get HTTP 401 and no WebSocket (OCPP 1.6 security profiles 1 and 2).
An ASGI application can only say so through the Denial Response extension (`websocket.http.response.start` /
`.body` sent instead of `websocket.accept`); daphne 4.2.3 does not implement it and turns every close before
accept into 403 ("Access denied", ws_protocol.WebSocketProtocol.serverReject). This module:

- `DenialWebSocketProtocol`: daphne's WebSocket protocol that turns `websocket.http.response.start/body` into the
  HTTP response (status, headers, body) autobahn sends when it fails an opening handshake;
- `EvnetServer`: daphne's Server that builds its WebSocket factory with that protocol, announces the extension in
  every WebSocket scope (`scope["extensions"]["websocket.http.response"]`), and, before the reactor stops, flushes
  the OCPP group-commit writer so nothing already queued is lost on a clean shutdown (SIGTERM / Ctrl-C);
- `EvnetCommandLine`: daphne's command line with that server, and WebSocket connections without the 24 h limit
  daphne applies by default (chargers stay connected for weeks) unless --websocket_timeout is given.

Settings for a reconnect herd (10,000 chargers coming back after a restart; bench/README.md run B failed on each):
- listen backlog `EVNET_OCPP_LISTEN_BACKLOG` (default 4096, capped by the kernel's net.core.somaxconn) instead of
  Twisted's 50, so SYNs queue instead of being dropped into the chargers' exponential back-off;
- a 30 s WebSocket connect timeout unless --websocket_connect_timeout is given (daphne's 5 s killed handshakes that
  were merely queued behind others, and the charger then retried into the same queue);
- the soft open-files limit raised to the hard limit (one descriptor per charger).

Everything else is daphne, unchanged: `run_evnet` and production start this instead of `daphne`."""
from __future__ import annotations

import asyncio
import logging
import os
import pprint
import resource
import sys

import autobahn.websocket.protocol as autobahn_websocket_protocol
import txaio
from autobahn.websocket.types import ConnectionDeny
from daphne.cli import CommandLineInterface
from daphne.server import Server
from daphne.ws_protocol import WebSocketProtocol
from twisted.internet import defer, reactor

logger = logging.getLogger("apps.ocpp")

DENIAL_EXTENSION = "websocket.http.response"
_REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 429: "Too Many Requests",
            500: "Internal Server Error", 503: "Service Unavailable"}


class DenialWebSocketProtocol(WebSocketProtocol):
    """Daphne's WebSocket protocol with the ASGI WebSocket Denial Response extension."""

    _denial: dict | None = None

    def handle_reply(self, message):
        kind = message.get("type")
        if kind == "websocket.http.response.start":
            if self.state != self.STATE_CONNECTING or not hasattr(self, "handshake_deferred"):
                raise ValueError("websocket.http.response.start is only allowed before the WebSocket is accepted")
            headers = [(bytes(k).decode("latin1"), bytes(v).decode("latin1")) for k, v in message.get("headers", [])]
            self._denial = {"status": int(message["status"]), "headers": headers, "body": b""}
            return
        if kind == "websocket.http.response.body":
            if self._denial is None:
                raise ValueError("websocket.http.response.body before websocket.http.response.start")
            self._denial["body"] += message.get("body", b"")
            if not message.get("more_body", False):
                self._deny()
            return
        return super().handle_reply(message)

    def _deny(self):
        status = self._denial["status"]
        self.handshake_deferred.errback(ConnectionDeny(code=status, reason=_REASONS.get(status, "Denied")))
        del self.handshake_deferred
        self.server.protocol_disconnected(self)
        self.server.log_action("websocket", "rejected", {
            "path": self.request.path,
            "client": "%s:%s" % tuple(self.client_addr) if self.client_addr else None,
        })

    def sendHttpErrorResponse(self, code, reason, responseHeaders=None):
        """autobahn's error response, with the application's headers and body when it sent a denial."""
        if self._denial is None:
            return super().sendHttpErrorResponse(code, reason, responseHeaders)
        body = self._denial["body"]
        lines = [f"HTTP/1.1 {code} {reason}"]
        lines += [f"{name}: {value}" for name, value in self._denial["headers"] if name.lower() != "content-length"]
        lines += [f"Content-Length: {len(body)}", "Connection: close"]
        self.sendData(("\r\n".join(lines) + "\r\n\r\n").encode("latin1") + body)


class EvnetServer(Server):
    """Daphne's server with DenialWebSocketProtocol and an OCPP writer flush before shutdown."""

    def __init__(self, *args, **kwargs):
        backlog = int(os.environ.get("EVNET_OCPP_LISTEN_BACKLOG", "4096"))
        kwargs["endpoints"] = [f"{e}:backlog={backlog}" if e.startswith("tcp:") and ":backlog=" not in e else e
                               for e in kwargs.get("endpoints") or []]
        super().__init__(*args, **kwargs)
        reactor.addSystemEventTrigger("before", "shutdown", self._flush_ocpp_writer)

    @property
    def ws_factory(self):
        return self._ws_factory

    @ws_factory.setter
    def ws_factory(self, factory):
        factory.protocol = DenialWebSocketProtocol
        self._ws_factory = factory

    def create_application(self, protocol, scope):
        if scope.get("type") == "websocket":
            scope.setdefault("extensions", {})[DENIAL_EXTENSION] = {}
            # apps.ocpp.connection.client_gone: lets admission skip a handshake whose client already hung up.
            scope["evnet_client_gone"] = lambda: _transport_gone(protocol)
        return super().create_application(protocol, scope)

    def _flush_ocpp_writer(self):
        from apps.ocpp.writer import writers_stop

        logger.info("flushing the OCPP group-commit writer before shutdown")
        return defer.Deferred.fromFuture(asyncio.ensure_future(writers_stop()))


def _transport_gone(protocol) -> bool:
    transport = getattr(protocol, "transport", None)
    return transport is None or bool(getattr(transport, "disconnected", False)) \
        or bool(getattr(transport, "disconnecting", False))


def _pformat_when_debugging(obj, *args, **kwargs) -> str:
    """autobahn's `pformat`, for its debug lines only. autobahn pretty-prints every new connection's settings for a
    debug line (`WebSocketProtocol._connectionMade`) before the logger drops it, debug or not: a tenth of the event
    loop in a reconnect herd of 10,000 chargers (bench/README.md). Formatted only when autobahn logs at debug."""
    if txaio.get_global_log_level() in ("debug", "trace"):
        return pprint.pformat(obj, *args, **kwargs)
    return ""


autobahn_websocket_protocol.pformat = _pformat_when_debugging


class EvnetCommandLine(CommandLineInterface):
    server_class = EvnetServer

    def run(self, args):
        if not any(a.startswith("--websocket_timeout") for a in args):
            args = ["--websocket_timeout", "-1", *args]
        if not any(a.startswith("--websocket_connect_timeout") for a in args):
            args = ["--websocket_connect_timeout", "30", *args]
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != resource.RLIM_INFINITY and hard != resource.RLIM_INFINITY and soft < hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        return super().run(args)


def main(argv: list[str] | None = None) -> None:
    EvnetCommandLine().run(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    main()
