"""The chaos run in small: the real server SIGKILLed at every named fault point and at
random under load, restarted each time; nothing acknowledged is lost or doubled."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.chaos import chaos, report
from db import faults

KILLS = 5           # after_claim, before_commit, random, after_commit, mid_send
INTERVAL = 3.0      # between tries; a restart takes ~4 s here, so the third try finds it up


async def test_a_short_chaos_run_loses_and_doubles_nothing(tmp_path: Path) -> None:
    counts, tally = await chaos(KILLS, seed=14, interval=INTERVAL, actors=4, folder=tmp_path)
    print(report(counts, tally, KILLS, 14, INTERVAL, 0))
    assert sum(tally.kills.values()) == KILLS and tally.restarts == KILLS
    assert tally.kills["random"] >= 1
    assert sum(n for name, n in tally.kills.items() if name in faults.POINTS) >= 2, tally.kills
    assert counts.acknowledged_listings >= 1, "the run must exercise the seller flow"
    assert counts.lost_listings == counts.double_listings == 0
    assert counts.lost_orders == counts.double_orders == counts.orders_over_forms == 0
    assert counts.lost_cancellations == 0
    assert counts.stock_mismatches == 0
    assert counts.double_handled_messages == 0
    assert counts.double_sends == 0
    assert counts.integrity == "ok"


@pytest.mark.parametrize("setting, passes", [("after_claim", 1), ("after_claim:3", 3),
                                             ("", 0), ("mid_send:x", 1)])
def test_fault_settings_parse(setting: str, passes: int) -> None:
    name, count = faults.parse(setting)
    assert name == setting.partition(":")[0] and (count == passes or not name)


def test_a_fault_point_kills_on_its_turn_and_not_before(tmp_path: Path) -> None:
    """BOT_FAULT=NAME:N: passes 1..N-1 go on, pass N is a SIGKILL."""
    script = ("from db import faults\nimport sys\n"
              "for n in range(1, 10):\n    print(n, flush=True)\n    faults.hit('after_claim')\n"
              "    faults.hit('mid_send')\n")
    env = {**os.environ, faults.ENV: "after_claim:3"}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, cwd=Path(__file__).resolve().parent.parent, timeout=30)
    assert done.returncode == -signal.SIGKILL
    assert done.stdout.split() == ["1", "2", "3"]
    assert time.monotonic() - started < 30
