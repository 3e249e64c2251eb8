"""RetryPolicy.decide: a pure decision, tested without a clock."""

from __future__ import annotations

import pytest

from app.engine.retry import GiveUp, Retry, RetryPolicy
from app.errors import PermanentError, RetryableError

POLICY = RetryPolicy(max_attempts=8, base=2.0, cap=300.0)


def delay(policy: RetryPolicy, attempt: int, rand: float, **kw: float) -> float:
    decision = policy.decide(RetryableError("busy", **kw), attempt, rand=lambda: rand)
    assert isinstance(decision, Retry)
    return decision.delay


def test_backoff_doubles_until_the_cap() -> None:
    # With the random part at its top, the delay is the full backoff: base * 2**(attempt-1).
    assert [delay(POLICY, n, 1.0) for n in range(1, 8)] == [2, 4, 8, 16, 32, 64, 128]
    assert delay(RetryPolicy(max_attempts=20), 12, 1.0) == 300.0


@pytest.mark.parametrize("attempt", [1, 3, 7])
def test_equal_jitter_stays_in_the_upper_half(attempt: int) -> None:
    full = min(300.0, 2.0 * 2 ** (attempt - 1))
    assert delay(POLICY, attempt, 0.0) == full / 2
    assert delay(POLICY, attempt, 0.5) == full * 0.75
    for r in (0.0, 0.1, 0.37, 0.99):
        assert full / 2 <= delay(POLICY, attempt, r) <= full


def test_retry_after_is_a_floor_not_a_ceiling() -> None:
    assert delay(POLICY, 1, 0.0, retry_after=30.0) == 30.0
    # A Retry-After shorter than the backoff does not shorten it.
    assert delay(POLICY, 6, 1.0, retry_after=1.0) == 64.0


def test_permanent_errors_and_unknown_exceptions_give_up_at_once() -> None:
    assert POLICY.decide(PermanentError("invalid property Tags"), 1) == GiveUp(
        "invalid property Tags")
    assert POLICY.decide(ValueError(), 1) == GiveUp("ValueError")


def test_max_attempts() -> None:
    assert isinstance(POLICY.decide(RetryableError("busy"), 7, rand=lambda: 0.5), Retry)
    assert POLICY.decide(RetryableError("busy"), 8) == GiveUp("gave up after 8 attempts: busy")
    assert RetryPolicy(max_attempts=1).decide(RetryableError("x"), 1) == GiveUp(
        "gave up after 1 attempt: x")
