"""Composition invariants: one label per pixel, soft masks consistent with the index mask."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from xmem_tui.interaction import compose

SHAPE = (12, 14)


def _index(k: int) -> st.SearchStrategy[np.ndarray]:
    return arrays(np.uint8, SHAPE, elements=st.integers(0, k))


def _soft(k: int) -> st.SearchStrategy[np.ndarray]:
    return arrays(np.uint8, (k, *SHAPE), elements=st.integers(0, 255))


def _probs(k: int) -> st.SearchStrategy[np.ndarray]:
    return arrays(np.float32, (k, *SHAPE), elements=st.floats(0, 1, width=32))


def _check(index: np.ndarray, soft: np.ndarray, k: int) -> None:
    assert index.dtype == np.uint8 and soft.dtype == np.uint8
    assert soft.shape == (k, *index.shape)
    assert index.max() <= k
    assert (soft.astype(np.int32).sum(axis=0) <= 255).all()
    np.testing.assert_array_equal(compose.index_from_soft(soft), index)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 4).flatmap(lambda k: st.tuples(st.just(k), _index(k), _soft(k))))
def test_normalise_soft_is_consistent(case: tuple[int, np.ndarray, np.ndarray]) -> None:
    k, index, soft = case
    _check(index, compose.normalise_soft(soft, index, k), k)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 4).flatmap(lambda k: st.tuples(st.just(k), _index(k), _soft(k), _probs(1),
                                                     st.integers(1, k))))
def test_click_resets_only_the_clicked_object(case) -> None:
    k, index, soft, prob, label = case
    new_index, new_soft = compose.apply_click(index, soft, prob[0], label, k)
    _check(new_index, new_soft, k)
    inside = prob[0] > 0.5
    assert (new_index[inside] == label).all()
    assert not (new_index[~inside] == label).any()
    untouched = ~inside & (index != label)
    np.testing.assert_array_equal(new_index[untouched], index[untouched])


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 4).flatmap(lambda k: st.tuples(st.just(k), _probs(k))))
def test_scribble_result_is_a_partition(case) -> None:
    k, probs = case
    index, soft = compose.apply_scribble(probs)
    _check(index, soft, k)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 4).flatmap(lambda k: st.tuples(st.just(k), _index(k), _soft(k),
                                                     arrays(np.bool_, SHAPE), st.integers(0, k))))
def test_paint_is_hard_inside_region(case) -> None:
    k, index, soft, region, label = case
    new_index, new_soft = compose.apply_paint(index, soft, region, label, k)
    _check(new_index, new_soft, k)
    assert (new_index[region] == label).all()
    np.testing.assert_array_equal(new_index[~region], index[~region])
    np.testing.assert_array_equal(new_soft[:, region], compose.hard_soft(new_index, k)[:, region])


def test_aggregate_lets_confident_object_win_and_sums_to_one() -> None:
    probs = np.array([[[0.9, 0.1]], [[0.6, 0.2]]], np.float32)  # 2 objects, 1x2 image
    full = compose.aggregate(probs)
    np.testing.assert_allclose(full.sum(axis=0), 1.0, atol=1e-5)
    assert full[:, 0, 0].argmax() == 1  # object 1 beats object 2 and background
    assert full[:, 0, 1].argmax() == 0  # both unlikely: background


def test_click_result_keeps_soft_edge_of_clicked_object() -> None:
    index = np.zeros((1, 3), np.uint8)
    prob = np.array([[0.2, 0.7, 1.0]], np.float32)
    new_index, soft = compose.apply_click(index, None, prob, 1, 1)
    np.testing.assert_array_equal(new_index, [[0, 1, 1]])
    np.testing.assert_array_equal(soft[0], [[51, 178, 255]])
