"""The group-commit writer of the OCPP hot path.

Connections do not touch the database themselves. They submit write operations; per event loop, each writer lane
(one asyncio task, one thread, one database connection; see GroupCommitWriter) takes everything queued for it, runs
it in ONE hop to its thread inside ONE short transaction — COPY for meter values and the message log, a few
set-based updates for sessions, connectors and stations sent with the COMMIT in one round trip — commits, and only
then resolves each caller's future. So a charger's message is acknowledged only after
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
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from apps.core.bulk import rows_deferred

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
    # Message-log rows committed with the operation: LOG_FIELDS tuples (or unsaved OcppMessage instances).
    log: list = field(default_factory=list)
    future: asyncio.Future | None = None
    # A read whose result is all it does: skipped when its caller stopped waiting before the batch ran (a
    # handshake daphne gave up on), so a herd of abandoned attempts costs the database nothing.
    droppable: bool = False


@dataclass
class WriterStats:
    batches: int = 0
    ops: int = 0
    retried_batches: int = 0
    failed_ops: int = 0
    busy_s: float = 0.0
    largest_batch: int = 0

    def since(self, earlier: "WriterStats") -> "WriterStats":
        """The counts between `earlier` (a copy taken then) and now; largest_batch is the largest overall."""
        return WriterStats(self.batches - earlier.batches, self.ops - earlier.ops,
                           self.retried_batches - earlier.retried_batches, self.failed_ops - earlier.failed_ops,
                           self.busy_s - earlier.busy_s, self.largest_batch)


# The message log row as the connection builds it: a plain tuple in this column order (no model instance per frame).
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
        stations_seen(station_ids=sorted(beats), at=now, heartbeat=True, deferred=True)
    if seen - beats:
        stations_seen(station_ids=sorted(seen - beats), at=now, deferred=True)
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


def _transaction(ops: list[Op]) -> list[Any]:
    """One transaction for `ops`. The bulk writes of the batch (meter values, message log, session running state,
    last seen) are deferred and sent with the COMMIT in one round trip on PostgreSQL (apps.core.bulk)."""
    with transaction.atomic(), rows_deferred() as deferred:
        results = _apply(ops)
        deferred.send(commit=True)
    return results


def _execute(ops: list[Op]) -> tuple[list[tuple[bool, Any]], bool]:
    """Writer thread: the whole batch in one transaction; on failure, each operation in its own."""
    try:
        results = _transaction(ops)
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
            outcomes.append((True, _transaction([op])[0]))
        except Exception as exc:  # noqa: BLE001 - reported to that operation's caller only
            _reset_connection_if_broken(exc)
            logger.warning("OCPP write %s failed: %r", op.kind, exc, exc_info=exc)
            _store_logs_alone(op)
            outcomes.append((False, exc))
    return outcomes, True


def _close_connection() -> None:
    connection.close()


class _Lane:
    """One queue, one drain task and one writer thread (so one database connection: Django's are per thread)."""

    def __init__(self, writer: "GroupCommitWriter", index: int):
        self.writer = writer
        self.queue: list[Op] = []
        self.wakeup = asyncio.Event()
        self.full = asyncio.Event()  # cuts the gathering window short: a full batch, or a stop
        self.task: asyncio.Task | None = None
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"evnet-ocpp-writer-{index}")

    def add(self, op: Op) -> None:
        self.queue.append(op)
        if self.task is None:
            self.task = self.writer._loop.create_task(self.drain(), name="evnet-ocpp-writer")
        self.wakeup.set()
        if len(self.queue) >= self.writer.max_batch:
            self.full.set()

    async def drain(self) -> None:
        writer = self.writer
        loop = writer._loop
        while True:
            if not self.queue:
                if writer._stopping:
                    return
                self.wakeup.clear()
                await self.wakeup.wait()
                continue
            if len(self.queue) < writer.max_batch and writer.max_delay_s and not writer._stopping:
                self.full.clear()
                try:
                    async with asyncio.timeout(writer.max_delay_s):
                        await self.full.wait()
                except TimeoutError:
                    pass
            batch, self.queue = self.queue[: writer.max_batch], self.queue[writer.max_batch:]
            batch = [op for op in batch if not (op.droppable and op.future is not None and op.future.cancelled())]
            if not batch:
                continue
            started = time.perf_counter()
            try:
                outcomes, retried = await loop.run_in_executor(self.executor, _execute, batch)
            except BaseException as exc:  # noqa: BLE001 - never leave a caller waiting forever
                for op in batch:
                    if op.future is not None and not op.future.done():
                        op.future.set_exception(exc if isinstance(exc, Exception) else RuntimeError(repr(exc)))
                if isinstance(exc, asyncio.CancelledError):
                    raise
                continue
            stats = writer.stats
            stats.batches += 1
            stats.ops += len(batch)
            stats.busy_s += time.perf_counter() - started
            stats.largest_batch = max(stats.largest_batch, len(batch))
            stats.retried_batches += int(retried)
            writer.report_maybe()
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
        self.wakeup.set()
        self.full.set()
        if self.task is not None:
            await asyncio.shield(self.task)
            self.task = None
        await self.writer._loop.run_in_executor(self.executor, _close_connection)
        self.executor.shutdown(wait=True)


def _lanes_default() -> int:
    """EVNET_OCPP_WRITER_LANES (1) on PostgreSQL; 1 elsewhere (SQLite has one writer at a time anyway)."""
    if connection.vendor != "postgresql":
        return 1
    return max(1, int(settings.EVNET_OCPP_WRITER_LANES or 1))


class GroupCommitWriter:
    """One per event loop. `submit()` from the loop; results come back on the loop.

    Lanes: on PostgreSQL the writer can run `lanes` batches at once (EVNET_OCPP_WRITER_LANES), each on its own
    thread and connection, so one batch's statements and COMMIT overlap with the next batch's. The default is one:
    on the 2-core benchmark box, where the CPU and not the wait is the limit, two lanes per process made twice the
    transactions of half the size and cost 10-30 % more CPU per message in both daphne and PostgreSQL below 2,000
    msg/s, for no higher peak (bench/README.md, 2026-12-04 afternoon). Operations are routed by station — every
    operation of a station except "call" goes to lane station_id % lanes — so a station's meter values,
    status notifications and heartbeats are written in order by one connection and batches of different lanes
    touch different stations' rows. "call" operations (boot, authorize, start/stop transaction, connection
    open/close, …) all go to lane 0, serialised among themselves as with a single writer: they read and write
    rows shared between stations (cards, funds). A charger has one CALL outstanding at a time (OCPP-J) and each
    is acknowledged after its commit, so its next message, whatever lane it goes to, sees what came before."""

    def __init__(self, *, max_batch: int = 1000, max_delay_s: float | None = None, lanes: int | None = None):
        self.max_batch = max_batch
        self.max_delay_s = settings.EVNET_OCPP_WRITER_MAX_DELAY_S if max_delay_s is None else max_delay_s
        self.stats = WriterStats()
        self._stopping = False
        self._loop = asyncio.get_running_loop()
        self._lanes = [_Lane(self, i) for i in range(lanes or _lanes_default())]
        self.report_interval_s = float(settings.EVNET_OCPP_WRITER_REPORT_INTERVAL_S)
        self._reported = WriterStats()
        self._reported_at = self._loop.time()

    def report_maybe(self) -> None:
        """Every EVNET_OCPP_WRITER_REPORT_INTERVAL_S (0: never), one INFO line on how the writer kept up since the
        last one: operations, batches and their size, time per batch, what is queued now, retries and failures.
        The first sign of a database that no longer keeps up with the chargers is the time per batch and the
        queue growing here, before chargers time out."""
        now = self._loop.time()
        if not self.report_interval_s or now - self._reported_at < self.report_interval_s:
            return
        delta = self.stats.since(self._reported)
        seconds = now - self._reported_at
        self._reported, self._reported_at = replace(self.stats), now
        if not delta.batches:
            return
        logger.info(
            "OCPP writer: %d operations in %d batches in %.0f s (%.1f per batch; largest since start %d), "
            "%.1f ms per batch, %d queued, %d batches retried, %d operations failed", delta.ops, delta.batches, seconds,
            delta.ops / delta.batches, self.stats.largest_batch, 1000 * delta.busy_s / delta.batches,
            sum(len(lane.queue) for lane in self._lanes), delta.retried_batches, delta.failed_ops)

    @property
    def lanes(self) -> int:
        return len(self._lanes)

    def _lane(self, op: Op) -> _Lane:
        if len(self._lanes) == 1 or op.kind == "call":
            return self._lanes[0]
        station_id = op.station_id
        if station_id is None and op.log:
            row = op.log[0]
            station_id = row[0] if isinstance(row, tuple) else row.station_id
        return self._lanes[(station_id or 0) % len(self._lanes)]

    def submit(self, kind: str, payload: Any = None, *, station_id: int | None = None, heartbeat: bool = False,
               log: list | None = None, wait: bool = True, droppable: bool = False) -> asyncio.Future | None:
        """Queue an operation. With wait (the default) returns a future resolved once it is committed (or
        failed); without, nothing (used for the log of replies sent). A droppable operation (a read) is skipped if
        its future is cancelled before its batch runs."""
        if self._stopping and all(lane.task is None for lane in self._lanes):
            raise RuntimeError("the OCPP writer is stopped")
        future = self._loop.create_future() if wait else None
        op = Op(kind, payload, station_id, heartbeat, log or [], future, droppable)
        self._lane(op).add(op)
        return future

    async def run(self, kind: str, payload: Any = None, **kwargs) -> Any:
        """Submit and wait for the committed result (raises the operation's exception)."""
        return await self.submit(kind, payload, **kwargs)

    async def flush(self) -> None:
        """Return once every operation queued before the call is committed (or failed): an empty operation queued
        behind them on every lane."""
        futures = []
        for lane in self._lanes:
            future = self._loop.create_future()
            lane.add(Op("log", None, None, False, [], future))
            futures.append(future)
        await asyncio.gather(*futures)

    async def stop(self) -> None:
        """Flush everything queued, then release the writer threads and their database connections."""
        self._stopping = True
        await asyncio.gather(*(lane.stop() for lane in self._lanes))


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
