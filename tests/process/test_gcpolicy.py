"""The collector policy (annotd.process.gcpolicy): frozen rooms are still freed after they
are deleted, refreshes come by the documented rules, every pass is timed, the setting applies."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from annotd.base.config import Config
from annotd.base.looplag import LagWindow
from annotd.live.hub import Hub
from annotd.process import gcpolicy
from annotd.process.daemon import Daemon
from annotd.process.gcpolicy import GcPolicy

from ..conftest import daemon_config


class Counts:
    def __init__(self) -> None:
        self.units = 0
        self.rooms_closed = 0
        self.sockets_closed = 0
        self.now = 1000.0


@pytest.fixture
def counts() -> Counts:
    return Counts()


@pytest.fixture
def policy(counts: Counts) -> Iterator[GcPolicy]:
    p = GcPolicy(LagWindow(), freeze=True, units=lambda: counts.units, rooms_closed=lambda: counts.rooms_closed,
                 sockets_closed=lambda: counts.sockets_closed, clock=lambda: counts.now)
    p.install()
    try:
        yield p
    finally:
        p.uninstall()
    assert gc.get_freeze_count() == 0  # nothing stays withheld from the collector


async def test_a_frozen_room_is_freed_after_deletion(policy: GcPolicy, counts: Counts) -> None:
    hub = Hub(Config())
    counts.units = 100  # one room of many: no churn refresh
    live = hub.create_room("r1")
    refs = [weakref.ref(live), weakref.ref(live.room), weakref.ref(live.room.doc)]
    frozen = gc.get_freeze_count()
    counts.units += gcpolicy.FREEZE_STEP
    policy.tick()  # growth: everything that exists now is frozen
    assert policy.freezes == 1 and gc.get_freeze_count() > frozen
    del live
    await hub.delete_room("r1")
    counts.rooms_closed = hub.rooms_closed
    gc.collect()
    assert any(r() is not None for r in refs)  # its cycles are frozen: a plain collection leaves them
    policy.tick()  # the first tick that sees the close notes when
    counts.now += gcpolicy.REFRESH_AFTER_S - 1
    policy.tick()
    assert "age" not in policy.refreshes
    counts.now += 1
    policy.tick()
    assert policy.refreshes.get("age") == 1
    assert all(r() is None for r in refs)


async def test_a_refresh_before_any_growth_leaves_the_start_up_objects_frozen(policy: GcPolicy) -> None:
    frozen = gc.get_freeze_count()
    hub = Hub(Config())
    live = hub.create_room("r1")
    refs = [weakref.ref(live), weakref.ref(live.room), weakref.ref(live.room.doc)]
    del live
    await hub.delete_room("r1")
    policy.refresh("trim")
    assert all(r() is None for r in refs)  # the room was never frozen: a plain pass freed it
    assert gc.get_freeze_count() == frozen  # the start-up objects were not walked, nor refrozen
    assert policy.refreshes == {"trim": 1}


def test_only_the_first_pass_of_a_trim_refreshes(policy: GcPolicy, counts: Counts) -> None:
    counts.units = gcpolicy.FREEZE_STEP
    policy.tick()  # growth frozen: a refresh now unfreezes everything
    policy.before_trim(first=True)
    assert policy.refreshes == {"trim": 1}
    frozen = gc.get_freeze_count()
    policy.before_trim(first=False)
    assert policy.refreshes == {"trim": 1} and gc.get_freeze_count() == frozen


def test_churn_refreshes_after_a_burst_once_it_is_quiet(policy: GcPolicy, counts: Counts) -> None:
    counts.units = 100
    policy.tick()
    counts.sockets_closed, counts.units = 30, 70  # 30 of 100 closed: past a quarter
    policy.tick()
    assert "churn" not in policy.refreshes  # still closing
    counts.now += gcpolicy.QUIET_S
    policy.tick()
    assert policy.refreshes.get("churn") == 1
    counts.sockets_closed, counts.units = 40, 60  # 10 of 70 since: under a quarter
    counts.now += 10 * gcpolicy.QUIET_S
    policy.tick()
    assert policy.refreshes.get("churn") == 1


def test_growth_is_frozen_in_steps(policy: GcPolicy, counts: Counts) -> None:
    policy.tick()
    counts.units = gcpolicy.FREEZE_STEP - 1
    policy.tick()
    assert policy.freezes == 0
    keep = [[i] for i in range(1000)]  # objects that live on
    counts.units = gcpolicy.FREEZE_STEP
    policy.tick()
    assert policy.freezes == 1
    assert not gc.get_objects(2)  # the survivors moved to the permanent generation
    del keep


def test_every_pass_is_timed(policy: GcPolicy) -> None:
    before = policy.window.current().samples
    gc.collect(0)
    gc.collect()
    assert policy.window.current().samples == before + 2


async def test_the_setting_applies() -> None:
    on = Daemon(daemon_config())
    off = Daemon(daemon_config(server={"gc_freeze": False}))
    assert on.gc.freeze and not off.gc.freeze
    off.gc.install()
    try:
        assert gc.get_freeze_count() == 0  # timing only: nothing frozen
        gc.collect()
        assert gc.get_freeze_count() == 0 and off.metrics.gc_pause.current().samples >= 1
    finally:
        off.gc.uninstall()
