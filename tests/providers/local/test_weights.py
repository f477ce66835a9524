"""trafficWeight: HAProxy's server weight for each instance of a server group, checked with a
message naming the field; 100 when absent."""

from __future__ import annotations

import pytest

from gennaker.providers.local.weights import DEFAULT_WEIGHT, check_weight, weight_of
from gennaker.providers.protocol import OperationError


def test_a_weight_in_range_is_kept_and_absent_means_the_default() -> None:
    assert check_weight({"trafficWeight": 10}) == 10
    assert check_weight({"trafficWeight": 0}) == 0
    assert check_weight({}) is None
    assert weight_of({"trafficWeight": 256}) == 256
    assert weight_of({}) == DEFAULT_WEIGHT == 100


@pytest.mark.parametrize("bad", [-1, 257, "10", 1.5, True])
def test_a_bad_weight_names_the_field_and_the_range(bad: object) -> None:
    with pytest.raises(OperationError, match=r"trafficWeight must be a whole number from 0 to 256"):
        check_weight({"trafficWeight": bad})
