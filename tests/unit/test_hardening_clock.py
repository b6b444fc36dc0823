"""Found by the issue-14 fuzzing: one advance-clock of 2^63 seconds ran jobs for ever under the device lock
(and past year 9999). One clock move is now at most ten years; the state is unchanged when refused."""

import time

import pytest

from emulator.engine import DeviceError
from emulator.engine.device import MAX_CLOCK_STEP
from tests.conftest import DAY


def test_one_clock_move_is_bounded(make_device):
    dev = make_device()
    dev.set_usage("network-advantage", 1)
    before, revision = dev.now(), dev.snapshot().revision
    for seconds in (2 ** 63, 18446744073709551615, MAX_CLOCK_STEP + 1, -1):
        started = time.monotonic()
        with pytest.raises(DeviceError) as info:
            dev.advance_clock(seconds)
        assert time.monotonic() - started < 1
        assert str(info.value) == f"% Invalid number of seconds (0 to {MAX_CLOCK_STEP} in one step)"
    with pytest.raises(DeviceError):
        dev.set_clock(before + MAX_CLOCK_STEP + 1)
    assert dev.now() == before and dev.snapshot().revision == revision
    assert MAX_CLOCK_STEP == 3650 * DAY
    dev.advance_clock(400 * DAY)                     # the workflows' spans are far below the bound
    assert dev.now() == before + 400 * DAY
