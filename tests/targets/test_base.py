"""How a case becomes a request: the seed each repeat sends."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arcanos_eval.model import Case
from arcanos_eval.targets.base import build_request, repeat_seed
from tests.conftest import target

CASE = Case("c", "s", "happy_path", ({"role": "user", "content": "hi"},))
INT64 = st.integers(-(2**63), 2**63 - 1)


def test_each_repeat_sends_the_configured_seed_plus_its_index():
    config = target("base", None, params={"temperature": 0.7, "seed": 7})
    requests = [build_request(config, CASE, r) for r in range(3)]
    assert [r.params["seed"] for r in requests] == [7, 8, 9]
    assert len({r.fingerprint for r in requests}) == 3
    # Nothing but the seed tells the repeats apart.
    assert {r.params["temperature"] for r in requests} == {0.7}
    assert {tuple(m["content"] for m in r.messages) for r in requests} == {("You are base.", "hi")}


def test_repeat_zero_sends_the_request_a_single_answer_sends():
    config = target("base", None, params={"seed": 7, "max_tokens": 10})
    assert build_request(config, CASE, 0) == build_request(config, CASE)
    assert build_request(config, CASE, 0).params == {"max_tokens": 10, "seed": 7}


@pytest.mark.parametrize("params", [{}, {"temperature": 1.0}, {"seed": "7"}, {"seed": True}])
def test_without_an_integer_seed_every_repeat_sends_the_same_request(params):
    config = target("base", None, params=params)
    assert len({build_request(config, CASE, r).fingerprint for r in range(4)}) == 1
    assert build_request(config, CASE, 3).params == params


@given(INT64, st.integers(0, 1000))
def test_seeds_stay_signed_64_bit_and_distinct(seed, repeat):
    derived = repeat_seed(seed, repeat)
    assert isinstance(derived, int) and -(2**63) <= derived < 2**63
    assert derived == seed if repeat == 0 else derived != seed
    assert (derived - seed - repeat) % 2**64 == 0


def test_the_largest_seed_wraps_around():
    assert repeat_seed(2**63 - 1, 1) == -(2**63)
