"""What ``quantfund fleet`` does over NATS: change the fleet state, read it, verify its trail.

A change is written twice, in this order: appended to the audit stream (chained to the last
entry, refused by the server if another command appended first), then set in the state bucket
(compare-and-set on its revision). Trees follow the bucket; the trail is what ``verify`` checks.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import nats.errors
import nats.js.errors
from nats.aio.msg import Msg

from supervisor.fleet.chain import check_chain, next_change
from supervisor.fleet.config import FleetConfig
from supervisor.fleet.connect import TRANSIENT, Planes, connect, open_planes, retry
from supervisor.fleet.credentials import FleetCredentials
from supervisor.fleet.errors import FleetChangeConflict, FleetMessageMalformed
from supervisor.fleet.messages import (
    ACK_PREFIX,
    AUDIT_STREAM,
    AUDIT_SUBJECT,
    STATE_KEY,
    TREES_BUCKET,
    FleetAck,
    FleetChange,
    FleetStateName,
    TreeSummary,
    decode,
    encode,
)
from supervisor.halts_chain import VerifyReport

STALE_AFTER_S = 5.0
"""A tree whose last summary is older than this is stale: waited for only while it may still
be there (``RECENT_S``), and then never counted as a missing ack."""
RECENT_S = 60.0
"""A stale tree heard from within this long may be alive behind a stream's failover (its
summaries not written): a command waits for its ack until the timeout too."""


@dataclass
class TreeView:
    """One tree in ``fleet status``."""

    summary: TreeSummary
    """Its last summary."""
    age_s: float
    """Seconds since it was made."""
    stale: bool
    """Older than the stale limit."""


@dataclass
class CommandResult:
    """What a fleet command did."""

    change: FleetChange
    """The change written."""
    acked: dict[str, FleetAck] = field(default_factory=dict)
    """Trees that acknowledged it within the timeout, by tree id."""
    missing: list[str] = field(default_factory=list)
    """Trees expected (fresh summaries) that did not."""
    stale: list[str] = field(default_factory=list)
    """Trees known but stale: not waited for."""
    elapsed_s: float = 0.0
    """From the first write (the audit trail's append) to the last ack (or the timeout)."""


@dataclass
class FleetView:
    """``fleet status``: the state, every tree, the trail's verification."""

    state: FleetChange | None
    """The fleet state in force (None: never set, i.e. ACTIVE)."""
    trees: list[TreeView]
    """Every tree that ever published a summary."""
    trail: VerifyReport
    """The audit trail's chain check."""
    bad: list[str] = field(default_factory=list)
    """Malformed entries found (key or seq: problem)."""


async def open_fleet(cfg: FleetConfig, creds: FleetCredentials, deadline: float) -> Planes:
    """A connection to the fleet with its buckets and trail open (requests retried until
    ``deadline``)."""
    nc = await connect(cfg, creds, name="quantfund-fleet-cli")
    try:
        return await open_planes(nc, cfg.replicas, deadline)
    except BaseException:
        await nc.close()
        raise


async def trees(planes: Planes, stale_after_s: float = STALE_AFTER_S) -> tuple[
        list[TreeView], list[str]]:
    """Every tree's last summary, and what could not be read.

    Read from the bucket's stream by plain requests (its subjects, then the last message of
    each), not by a KV watcher: requests can be retried while a stream changes leader.
    """
    found: list[TreeView] = []
    bad: list[str] = []
    stream = f"KV_{TREES_BUCKET}"
    prefix = f"$KV.{TREES_BUCKET}."
    info = await planes.js.stream_info(stream, subjects_filter=f"{prefix}>")
    now = time.time()
    for subject in sorted(info.state.subjects or {}):
        key = subject.removeprefix(prefix)
        try:
            raw = await planes.js.get_last_msg(stream, subject)
        except nats.js.errors.NotFoundError:
            continue
        if raw.headers and raw.headers.get("KV-Operation") in ("DEL", "PURGE"):
            continue
        try:
            summary = decode(raw.data or b"", TreeSummary)
        except FleetMessageMalformed as exc:
            bad.append(f"tree {key}: {exc}")
            continue
        age = max(0.0, now - summary.at)
        found.append(TreeView(summary=summary, age_s=age, stale=age > stale_after_s))
    return found, bad


async def _current(planes: Planes) -> tuple[FleetChange | None, int, str]:
    """The state in the bucket, its revision (0: no key yet), and what is wrong with it."""
    try:
        entry = await planes.state.get(STATE_KEY)
    except nats.js.errors.KeyNotFoundError:
        return None, 0, ""
    try:
        return decode(entry.value or b"", FleetChange), entry.revision or 0, ""
    except FleetMessageMalformed as exc:  # a command overwrites it; status reports it
        return None, entry.revision or 0, f"fleet state: {exc}"


async def _last_audited(planes: Planes) -> tuple[FleetChange | None, int]:
    """The last entry of the audit trail and its stream sequence (0: empty trail)."""
    try:
        raw = await planes.js.get_last_msg(AUDIT_STREAM, AUDIT_SUBJECT)
    except nats.js.errors.NotFoundError:
        return None, 0
    return decode(raw.data or b"", FleetChange), raw.seq or 0


async def change(
    cfg: FleetConfig, creds: FleetCredentials, state: FleetStateName, *, who: str,
    reason: str, timeout_s: float, stale_after_s: float = STALE_AFTER_S,
) -> CommandResult:
    """Set the fleet state; wait up to ``timeout_s`` for every fresh tree's ack.

    Raises:
        FleetUnreachable: No server answered.
        FleetChangeConflict: Another command wrote first; nothing was written by this one.
        ValueError: A blank reason or who.
    """
    planes = await open_fleet(cfg, creds, time.monotonic() + timeout_s)
    try:
        return await change_on(planes, state, who=who, reason=reason, timeout_s=timeout_s,
                               stale_after_s=stale_after_s)
    finally:
        await planes.nc.close()


async def change_on(
    planes: Planes, state: FleetStateName, *, who: str, reason: str, timeout_s: float,
    stale_after_s: float = STALE_AFTER_S, expected: set[str] | None = None,
) -> CommandResult:
    """``change`` on an open connection (the benchmark's loop); ``expected``: the trees to
    wait for (default: every tree with a fresh summary)."""
    deadline = time.monotonic() + timeout_s
    acks: asyncio.Queue[Msg] = asyncio.Queue()

    async def on_ack(msg: Msg) -> None:
        await acks.put(msg)

    sub = await planes.nc.subscribe(f"{ACK_PREFIX}.>", cb=on_ack)
    try:
        stale: list[str] = []
        maybe: set[str] = set()
        if expected is None:
            views, _ = await retry(lambda: trees(planes, stale_after_s), deadline)
            running = [v for v in views if not v.summary.stopped]
            expected = {v.summary.tree_id for v in running if not v.stale}
            maybe = {v.summary.tree_id for v in running if v.stale and v.age_s < RECENT_S}
            stale = sorted(v.summary.tree_id for v in views if v.stale or v.summary.stopped)
        last, stream_seq = await retry(lambda: _last_audited(planes), deadline)
        _, revision, _ = await retry(lambda: _current(planes), deadline)
        new = next_change(last, state, who=who, reason=reason, at=time.time())
        started = time.monotonic()
        await _append(planes, new, stream_seq, deadline)
        await _set_state(planes, new, revision, deadline)
        result = CommandResult(change=new, stale=stale)
        await _collect(acks, result, expected | maybe, started + timeout_s)
        result.elapsed_s = time.monotonic() - started
        result.missing = sorted(expected - set(result.acked))
        result.stale = [t for t in stale if t not in result.acked]
        return result
    finally:
        await sub.unsubscribe()


async def _append(planes: Planes, new: FleetChange, stream_seq: int, deadline: float) -> None:
    """Append ``new`` to the audit trail; retried with the same message id (the server drops
    a duplicate) until ``deadline``.

    Raises:
        FleetChangeConflict: Another command appended first.
    """
    headers = {"Nats-Expected-Last-Subject-Sequence": str(stream_seq),
               "Nats-Msg-Id": f"fleet-{new.seq}-{new.hash[:16]}"}
    while True:
        try:
            await planes.js.publish(AUDIT_SUBJECT, encode(new), stream=AUDIT_STREAM,
                                    headers=dict(headers))
        except TRANSIENT:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)
        except nats.js.errors.APIError as exc:
            raise FleetChangeConflict(f"the audit trail moved on while writing ({exc}); "
                                      "run `quantfund fleet status` and try again") from exc
        else:
            return


async def _set_state(planes: Planes, new: FleetChange, revision: int, deadline: float) -> None:
    """Set the state key to ``new`` (compare-and-set on ``revision``), retried until
    ``deadline``; a retry that finds ``new`` already there is a success.

    Raises:
        FleetChangeConflict: Another command set the state in between.
    """
    while True:
        try:
            if revision:
                await planes.state.update(STATE_KEY, encode(new), last=revision)
            else:
                await planes.state.create(STATE_KEY, encode(new))
        except TRANSIENT:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)
        except nats.js.errors.KeyWrongLastSequenceError as exc:
            now, _, _ = await _current(planes)
            if now == new:  # an earlier attempt did it; only its answer was lost
                return
            raise FleetChangeConflict(
                f"fleet change {new.seq} is in the audit trail, but another command set the "
                f"state first ({exc}); run `quantfund fleet status`") from exc
        else:
            return


async def _collect(acks: asyncio.Queue[Msg], result: CommandResult, expected: set[str],
                   deadline: float) -> None:
    """Acks of ``result.change`` until every expected tree acked or the deadline passed."""
    while not expected <= set(result.acked):
        left = deadline - time.monotonic()
        if left <= 0:
            return
        try:
            msg = await asyncio.wait_for(acks.get(), timeout=left)
        except TimeoutError:
            return
        try:
            ack = decode(msg.data, FleetAck)
        except FleetMessageMalformed:
            continue
        if ack.seq == result.change.seq:
            # The first ack a tree sends says what the change did there; a second one (an ack
            # sent again after a send that seemed to fail) must not turn "changed" into "kept".
            result.acked.setdefault(ack.tree_id, ack)


async def view(cfg: FleetConfig, creds: FleetCredentials,
               stale_after_s: float = STALE_AFTER_S) -> FleetView:
    """The fleet state, every tree, and the audit trail checked end to end."""
    deadline = time.monotonic() + 10.0
    planes = await open_fleet(cfg, creds, deadline)
    try:
        state, _, problem = await retry(lambda: _current(planes), deadline)
        found, bad = await retry(lambda: trees(planes, stale_after_s), deadline)
        trail, trail_bad = await retry(lambda: _trail(planes), deadline)
        bad += [problem] if problem else []
        if state is not None and trail.ok and trail.rows_checked and state.seq > trail.rows_checked:
            trail = VerifyReport(False, trail.rows_checked, state.seq,
                                 "the fleet state is not in the audit trail")
        return FleetView(state=state, trees=found, trail=trail, bad=bad + trail_bad)
    finally:
        await planes.nc.close()


async def _trail(planes: Planes) -> tuple[VerifyReport, list[str]]:
    """Every entry of the audit stream, decoded and chain-checked."""
    info = await planes.js.stream_info(AUDIT_STREAM)
    changes: list[FleetChange] = []
    first, last = info.state.first_seq, info.state.last_seq
    if not info.state.messages:
        return check_chain(changes), []
    for seq in range(first, last + 1):
        try:
            raw = await planes.js.get_msg(AUDIT_STREAM, seq)
            changes.append(decode(raw.data or b"", FleetChange))
        except FleetMessageMalformed as exc:
            return VerifyReport(False, len(changes), len(changes) + 1,
                                f"stream entry {seq}: {exc}"), [f"audit {seq}: {exc}"]
        except nats.js.errors.NotFoundError:
            return VerifyReport(False, len(changes), len(changes) + 1,
                                f"stream entry {seq} is missing"), []
    return check_chain(changes), []
