"""The send gate's rules, checked against a fake clock (pure, no server, no sleeping)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from livecart.simulator.errors import BotAPIError
from livecart.simulator.faults import FaultInjector
from livecart.simulator.limits import LimitSettings, SendGate

BOT, CHAT = 1, 100


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _gate(clock: FakeClock, *, per_chat_per_second: float, per_chat_burst: int) -> SendGate:
    limits = LimitSettings(
        enforce=True, per_chat_per_second=per_chat_per_second, per_chat_burst=per_chat_burst
    )
    return SendGate(limits, FaultInjector(), clock)


@given(
    burst=st.integers(min_value=1, max_value=5),
    per_second=st.sampled_from([0.5, 1.0, 2.0, 3.0]),
    pauses=st.lists(st.floats(min_value=0, max_value=3), min_size=1, max_size=30),
)
def test_a_sender_that_always_waits_out_retry_after_is_never_flagged(
    burst: int, per_second: float, pauses: list[float]
) -> None:
    clock = FakeClock()
    gate = _gate(clock, per_chat_per_second=per_second, per_chat_burst=burst)

    for pause in pauses:
        clock.now += pause
        while True:
            try:
                gate.admit(BOT, CHAT, "sendMessage")
                break
            except BotAPIError as refusal:
                assert refusal.error_code == 429 and refusal.retry_after is not None
                assert refusal.retry_after >= 1
                clock.now += refusal.retry_after

    assert gate.stats.retry_after_ignored == 0
    assert gate.stats.sent_total == len(pauses)


def test_a_burst_is_allowed_then_one_per_second() -> None:
    clock = FakeClock()
    gate = _gate(clock, per_chat_per_second=1, per_chat_burst=3)

    for _ in range(3):
        gate.admit(BOT, CHAT, "sendMessage")
    with pytest.raises(BotAPIError) as refused:
        gate.admit(BOT, CHAT, "sendMessage")
    assert refused.value.retry_after == 1

    clock.now += 1
    gate.admit(BOT, CHAT, "sendMessage")
    assert (gate.stats.sent_total, gate.stats.rate_limited_total) == (4, 1)


def test_a_send_inside_the_window_is_refused_and_recorded_as_ignored() -> None:
    clock = FakeClock()
    gate = _gate(clock, per_chat_per_second=1, per_chat_burst=1)
    gate.admit(BOT, CHAT, "sendMessage")
    with pytest.raises(BotAPIError):
        gate.admit(BOT, CHAT, "sendMessage")

    clock.now += 0.5
    with pytest.raises(BotAPIError):
        gate.admit(BOT, CHAT, "sendPhoto")

    assert gate.stats.retry_after_ignored == 1
    [event] = gate.stats.retry_after_ignored_events
    assert (event["chat_id"], event["method"], event["early_by_seconds"]) == (
        CHAT,
        "sendPhoto",
        0.5,
    )


def test_other_chats_are_not_held_by_one_chats_window() -> None:
    clock = FakeClock()
    gate = _gate(clock, per_chat_per_second=1, per_chat_burst=1)
    gate.admit(BOT, CHAT, "sendMessage")
    with pytest.raises(BotAPIError):
        gate.admit(BOT, CHAT, "sendMessage")

    gate.admit(BOT, CHAT + 1, "sendMessage")

    assert gate.stats.retry_after_ignored == 0
