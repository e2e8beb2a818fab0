"""Retry arithmetic of the runtime (templates/runtime/_base_client.py), with the random source fixed:
exponential backoff with jitter, and the server's Retry-After / retry-after-ms within a cap."""

from __future__ import annotations

import math
from email.utils import formatdate

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from templates.runtime._base_client import (
    INITIAL_RETRY_DELAY,
    MAX_RETRY_AFTER,
    MAX_RETRY_DELAY,
    SyncAPIClient,
    backoff_delay,
    retry_after_seconds,
)
from templates.runtime._types import NOT_GIVEN

NOW = 1_700_000_000.0


def test_constants_are_the_documented_ones() -> None:
    assert (INITIAL_RETRY_DELAY, MAX_RETRY_DELAY, MAX_RETRY_AFTER) == (0.5, 8.0, 60.0)


def test_backoff_doubles_from_half_a_second_and_caps_at_eight() -> None:
    assert [backoff_delay(n, 0.0) for n in range(7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_backoff_never_overflows() -> None:
    assert backoff_delay(1024, 0.0) == 8.0
    assert backoff_delay(10**9, 0.0) == 8.0


@pytest.mark.parametrize(("jitter", "factor"), [(0.0, 1.0), (0.5, 0.875), (0.999, 0.75025)])
def test_jitter_shortens_by_up_to_a_quarter(jitter: float, factor: float) -> None:
    assert [backoff_delay(n, jitter) for n in range(6)] == pytest.approx([d * factor for d in (0.5, 1, 2, 4, 8, 8)])


@given(st.integers(min_value=0, max_value=10_000), st.floats(min_value=0.0, max_value=1.0, exclude_max=True))
def test_backoff_stays_within_its_jitter_bounds(retries_taken: int, jitter: float) -> None:
    full = min(0.5 * 2 ** min(retries_taken, 16), 8.0)
    assert 0.75 * full <= backoff_delay(retries_taken, jitter) <= full


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "1"}, 1.0),
        ({"Retry-After": "2.5"}, 2.5),
        ({"Retry-After": " 3 "}, 3.0),
        ({"retry-after-ms": "250"}, 0.25),
        ({"Retry-After-Ms": "1500", "Retry-After": "9"}, 1.5),  # the precise header wins
        ({"retry-after-ms": "soon", "Retry-After": "4"}, 4.0),  # an unreadable one is skipped
        ({"Retry-After": formatdate(NOW + 30, usegmt=True)}, 30.0),
        ({"Retry-After": formatdate(NOW - 5, usegmt=True)}, -5.0),
        ({"Retry-After": "-3"}, -3.0),
        ({"Retry-After": "whenever"}, None),
        ({}, None),
    ],
)
def test_retry_after_seconds(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after_seconds(httpx.Headers(headers), now=lambda: NOW) == expected


def client(jitter: float = 0.0) -> SyncAPIClient:
    made = SyncAPIClient(http_client=None, base_url="http://127.0.0.1:1", auth_headers={}, auth_query={}, user_agent="t/1",
                         timeout=NOT_GIVEN, max_retries=2, default_headers=None, default_query=None,
                         strict_response_validation=False)
    made._random = lambda: jitter
    return made


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "1"}, 1.0),
        ({"Retry-After": "0"}, 0.0),
        ({"Retry-After": "60"}, 60.0),  # the cap itself is honoured
        ({"Retry-After": "60.5"}, 2.0),  # over the cap: backoff (retry 3 of the client: 2 s)
        ({"Retry-After": "86400"}, 2.0),
        ({"Retry-After": "-1"}, 2.0),
        ({"retry-after-ms": "-100"}, 2.0),
        ({"retry-after-ms": "nan"}, 2.0),
        ({"retry-after-ms": "inf"}, 2.0),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, 2.0),  # long past: backoff
        ({"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"}, 2.0),  # decades away: backoff
        ({"Retry-After": "garbage"}, 2.0),
    ],
)
def test_the_client_honours_sane_waits_and_falls_back_to_backoff(headers: dict[str, str], expected: float) -> None:
    assert client()._retry_delay(2, httpx.Headers(headers)) == expected


def test_a_transport_failure_has_no_headers_and_gets_backoff_with_jitter() -> None:
    assert [client(jitter=0.5)._retry_delay(n, None) for n in range(6)] == [0.4375, 0.875, 1.75, 3.5, 7.0, 7.0]


def test_the_random_source_is_drawn_once_per_backoff_and_not_for_server_waits() -> None:
    drawn: list[float] = []

    def source() -> float:
        drawn.append(0.0)
        return 0.0

    subject = client()
    subject._random = source
    subject._retry_delay(0, httpx.Headers({"Retry-After": "1"}))
    assert drawn == []
    subject._retry_delay(0, httpx.Headers({"Retry-After": "900"}))
    subject._retry_delay(1, None)
    assert len(drawn) == 2


def test_copies_keep_the_injected_seams() -> None:
    subject = client(jitter=0.25)
    recorded: list[float] = []
    subject._sleep = recorded.append
    copy = subject.with_options(max_retries=5)
    assert copy._sleep is subject._sleep and copy._random is subject._random
    assert math.isclose(copy._retry_delay(0, None), 0.5 * (1 - 0.25 * 0.25))
