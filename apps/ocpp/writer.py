"""The group-commit writer of the OCPP hot path.

Connections do not touch the database themselves. They submit write operations; one asyncio task per process
(per event loop) takes everything queued, runs it in ONE hop to a dedicated writer thread inside ONE short
transaction — bulk inserts for meter values and the message log, a few bulk updates for sessions, connectors and
stations — commits, and only then resolves each caller's future. So a charger's message is acknowledged only after
what it carried is committed, and N connections cost one round trip, not N (DESIGN.md "group commit").

While a batch runs, new operations queue up and form the next batch (natural group commit); an idle writer waits
`max_delay_s` after the first operation to gather company. A batch that fails is retried operation by operation,
each in its own transaction, so one bad operation fails alone. `writers_stop()` (daphne shutdown, tests) flushes
what is queued before returning.

Operation kinds are registered with a function that takes the list of payloads of that kind in the batch and
returns one result per payload (see apps/ocpp/services/hot.py)."""
from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

BatchHandler = Callable[[list[Any]], list[Any]]
_HANDLERS: dict[str, BatchHandler] = {}
# Kinds run in this order inside a batch; unknown kinds run last in registration order.
_ORDER: list[str] = []


def handler(kind: str) -> Callable[[BatchHandler], BatchHandler]:
    """Register the batch function of an operation kind."""

    def register(fn: BatchHandler) -> BatchHandler:
        _HANDLERS[kind] = fn
        if kind not in _ORDER:
            _ORDER.append(kind)
        return fn

    return register


@dataclass
class Op:
    kind: str
    payload: Any
    station_id: int | None = None
    heartbeat: bool = False
    log: list = field(default_factory=list)  # message log rows (LOG_FIELDS tuples or unsaved OcppMessage) committed with it
    future: asyncio.Future | None = None


@dataclass
class WriterStats:
    batches: int = 0
    ops: int = 0
    retried_batches: int = 0
    failed_ops: int = 0
    busy_s: float = 0.0
    largest_batch: int = 0


# The message log row as the consumer builds it: a plain tuple in this column order (no model instance per frame).
LOG_FIELDS = ("station_id", "direction", "message_type", "action", "message_id", "payload", "raw", "error_code",
              "created_at")


def _log_rows(ops: list[Op]) -> list[tuple]:
    rows = []
    for op in ops:
        for row in op.log:
            rows.append(row if isinstance(row, tuple) else tuple(getattr(row, name) for name in LOG_FIELDS))
    return rows


def _logs_insert(ops: list[Op]) -> None:
    from apps.core.bulk import rows_insert

    from .models import OcppMessage

    rows_insert(model=OcppMessage, fields=LOG_FIELDS, rows=_log_rows(ops))


def _apply(ops: list[Op]) -> list[Any]:
    """Run a batch's operations (caller holds the transaction). Returns results aligned with `ops`."""
    from apps.stations.live import stations_seen

    results: list[Any] = [None] * len(ops)
    by_kind: dict[str, list[int]] = {}
    for index, op in enumerate(ops):
        if op.kind != "log":
            by_kind.setdefault(op.kind, []).append(index)
    for kind in sorted(by_kind, key=lambda k: _ORDER.index(k) if k in _ORDER else len(_ORDER)):
        indexes = by_kind[kind]
        fn = _HANDLERS.get(kind)
        if fn is None:
            raise LookupError(f"no writer handler for operation kind {kind!r}")
        for index, result in zip(indexes, fn([ops[i].payload for i in indexes]), strict=True):
            results[index] = result
    now = timezone.now()
    seen = {op.station_id for op in ops if op.station_id is not None and not op.heartbeat}
    beats = {op.station_id for op in ops if op.station_id is not None and op.heartbeat}
    if beats:
        stations_seen(station_ids=sorted(beats), at=now, heartbeat=True)
    if seen - beats:
        stations_seen(station_ids=sorted(seen - beats), at=now)
    _logs_insert(ops)
    return results


def _store_logs_alone(op: Op) -> None:
    """Keep the evidence of a message whose operation failed: its log rows, without the operation."""
    if not op.log:
        return
    try:
        with transaction.atomic():
            _logs_insert([op])
    except DatabaseError:
        logger.exception("could not store the message log of a failed %s operation", op.kind)


def _reset_connection_if_broken(exc: BaseException) -> None:
    if isinstance(exc, (InterfaceError, OperationalError)):
        connection.close()


def _execute(ops: list[Op]) -> tuple[list[tuple[bool, Any]], bool]:
    """Writer thread: the whole batch in one transaction; on failure, each operation in its own."""
    try:
        with transaction.atomic():
            results = _apply(ops)
        return [(True, r) for r in results], False
    except Exception as exc:  # noqa: BLE001 - any failure of the batch falls back to one-by-one below
        _reset_connection_if_broken(exc)
        if len(ops) == 1:
            logger.warning("OCPP write %s failed: %r", ops[0].kind, exc, exc_info=exc)
            _store_logs_alone(ops[0])
            return [(False, exc)], False
        logger.warning("OCPP write batch of %d failed (%r); retrying one by one", len(ops), exc)
    outcomes: list[tuple[bool, Any]] = []
    for op in ops:
        try:
            with transaction.atomic():
                outcomes.append((True, _apply([op])[0]))
        except Exception as exc:  # noqa: BLE001 - reported to that operation's caller only
            _reset_connection_if_broken(exc)
            logger.warning("OCPP write %s failed: %r", op.kind, exc, exc_info=exc)
            _store_logs_alone(op)
            outcomes.append((False, exc))
    return outcomes, True


def _close_connection() -> None:
    connection.close()


class GroupCommitWriter:
    """One per event loop. `submit()` from the loop; results come back on the loop."""

    def __init__(self, *, max_batch: int = 1000, max_delay_s: float = 0.002):
        self.max_batch = max_batch
        self.max_delay_s = max_delay_s
        self.stats = WriterStats()
        self._queue: list[Op] = []
        self._wakeup = asyncio.Event()
        self._full = asyncio.Event()  # cuts the gathering window short: a full batch, or a stop
        self._stopping = False
        self._task: asyncio.Task | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="evnet-ocpp-writer")
        self._loop = asyncio.get_running_loop()

    def submit(self, kind: str, payload: Any = None, *, station_id: int | None = None, heartbeat: bool = False,
               log: list | None = None, wait: bool = True) -> asyncio.Future | None:
        """Queue an operation. With wait (the default) returns a future resolved once it is committed (or
        failed); without, nothing (used for the log of replies sent)."""
        if self._stopping and self._task is None:
            raise RuntimeError("the OCPP writer is stopped")
        future = self._loop.create_future() if wait else None
        self._queue.append(Op(kind, payload, station_id, heartbeat, log or [], future))
        if self._task is None:
            self._task = self._loop.create_task(self._drain(), name="evnet-ocpp-writer")
        self._wakeup.set()
        if len(self._queue) >= self.max_batch:
            self._full.set()
        return future

    async def run(self, kind: str, payload: Any = None, **kwargs) -> Any:
        """Submit and wait for the committed result (raises the operation's exception)."""
        return await self.submit(kind, payload, **kwargs)

    async def _drain(self) -> None:
        loop = self._loop
        while True:
            if not self._queue:
                if self._stopping:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            if len(self._queue) < self.max_batch and self.max_delay_s and not self._stopping:
                self._full.clear()
                try:
                    await asyncio.wait_for(self._full.wait(), self.max_delay_s)
                except asyncio.TimeoutError:
                    pass
            batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch:]
            started = time.perf_counter()
            try:
                outcomes, retried = await loop.run_in_executor(self._executor, _execute, batch)
            except BaseException as exc:  # noqa: BLE001 - never leave a caller waiting forever
                for op in batch:
                    if op.future is not None and not op.future.done():
                        op.future.set_exception(exc if isinstance(exc, Exception) else RuntimeError(repr(exc)))
                if isinstance(exc, asyncio.CancelledError):
                    raise
                continue
            stats = self.stats
            stats.batches += 1
            stats.ops += len(batch)
            stats.busy_s += time.perf_counter() - started
            stats.largest_batch = max(stats.largest_batch, len(batch))
            stats.retried_batches += int(retried)
            for op, (ok, value) in zip(batch, outcomes):
                if not ok:
                    stats.failed_ops += 1
                if op.future is None or op.future.done():
                    continue
                if ok:
                    op.future.set_result(value)
                else:
                    op.future.set_exception(value)

    async def stop(self) -> None:
        """Flush everything queued, then release the writer thread and its database connection."""
        self._stopping = True
        self._wakeup.set()
        self._full.set()
        if self._task is not None:
            await asyncio.shield(self._task)
            self._task = None
        await self._loop.run_in_executor(self._executor, _close_connection)
        self._executor.shutdown(wait=True)


_writers: dict[asyncio.AbstractEventLoop, GroupCommitWriter] = {}


def writer_get() -> GroupCommitWriter:
    """The writer of the running event loop (created on first use)."""
    loop = asyncio.get_running_loop()
    writer = _writers.get(loop)
    if writer is None or writer._stopping:
        writer = _writers[loop] = GroupCommitWriter()
    return writer


async def writers_stop() -> None:
    """Flush and stop the writer of the running loop (clean shutdown: nothing acknowledged or queued is lost)."""
    writer = _writers.pop(asyncio.get_running_loop(), None)
    if writer is not None:
        await writer.stop()
