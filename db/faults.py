"""Named fault points for the chaos run (`python -m bot bench chaos`).

BOT_FAULT=NAME kills this process with SIGKILL the first time it passes the point
NAME; BOT_FAULT=NAME:N the N-th time. Unset (always, outside the chaos run) every
point is one string comparison. It lives in db/, the lowest layer, so that db/,
handlers/ and bot/ can all mark their points.

Points: after_claim (a message's lease is taken), before_commit (any transaction,
just before COMMIT), after_commit (the handler's work is committed, its reply not
yet stored), mid_send (the API took an outbox message, not yet marked sent).
"""
from __future__ import annotations

import os
import signal

ENV = "BOT_FAULT"
POINTS = ("after_claim", "before_commit", "after_commit", "mid_send")


def parse(value: str) -> tuple[str, int]:
    """'after_claim:3' -> ('after_claim', 3); 'mid_send' -> ('mid_send', 1); '' -> no point."""
    name, _, count = value.partition(":")
    return name.strip(), int(count) if count.strip().isdigit() else 1


_point, _left = parse(os.environ.get(ENV, ""))


def hit(name: str) -> None:
    """Die here, as a power cut would, when BOT_FAULT names this point and its turn came."""
    global _left
    if name != _point:
        return
    _left -= 1
    if _left <= 0:
        os.kill(os.getpid(), signal.SIGKILL)
