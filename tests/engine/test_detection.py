"""det.*: IoU against a rasterized area count and Shapely's polygon areas, with properties;
NMS against a recursive reference."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from shapely.geometry import box as polygon_box

from grader import engine

STEP = 0.25  # box corners lie on this grid, so a raster of half that step counts areas exactly
RASTER = STEP / 2


def _raster(box, size=8.0):
    centers = np.arange(RASTER / 2, size, RASTER)
    xs, ys = np.meshgrid(centers, centers)
    x1, y1, x2, y2 = box
    return (xs > x1) & (xs < x2) & (ys > y1) & (ys < y2)


def _raster_iou(a, b):
    """IoU from pixel counts of the two boxes painted on a fine grid (no box arithmetic)."""
    pa, pb = _raster(a), _raster(b)
    return np.count_nonzero(pa & pb) / np.count_nonzero(pa | pb)


@st.composite
def boxes(draw, min_size=1):
    x1, y1 = draw(st.integers(0, 20)), draw(st.integers(0, 20))
    w, h = draw(st.integers(min_size, 12)), draw(st.integers(min_size, 12))
    return (x1 * STEP, y1 * STEP, (x1 + w) * STEP, (y1 + h) * STEP)


@settings(max_examples=80, deadline=None)
@given(boxes(), boxes())
def test_iou_against_rasterized_areas(a, b):
    assert engine.iou(a, b) == pytest.approx(_raster_iou(a, b), abs=1e-12)


@settings(max_examples=80, deadline=None)
@given(st.tuples(*[st.floats(-50, 50, allow_nan=False)] * 2, st.floats(0.01, 30), st.floats(0.01, 30)),
       st.tuples(*[st.floats(-50, 50, allow_nan=False)] * 2, st.floats(0.01, 30), st.floats(0.01, 30)))
def test_iou_against_shapely_polygon_areas(a, b):
    boxes_ = [(x, y, x + w, y + h) for x, y, w, h in (a, b)]
    first, second = (polygon_box(*corners) for corners in boxes_)
    expected = first.intersection(second).area / first.union(second).area
    assert engine.iou(*boxes_) == pytest.approx(expected, rel=1e-9, abs=1e-12)


@settings(max_examples=80, deadline=None)
@given(boxes(min_size=0), boxes())
def test_iou_properties(a, b):
    value = engine.iou(a, b)
    assert 0 <= value <= 1
    assert value == engine.iou(b, a)
    assert engine.iou(b, b) == 1


@settings(max_examples=40, deadline=None)
@given(boxes(), boxes(), st.floats(0, 3))
def test_iou_is_zero_when_disjoint_or_touching(a, b, gap):
    # move b entirely to the right of a, `gap` apart (gap 0: the edges touch)
    shift = a[2] - b[0] + gap
    moved = (b[0] + shift, b[1], b[2] + shift, b[3])
    assert engine.iou(a, moved) == 0


def test_iou_worked_examples():
    assert engine.iou([0, 0, 2, 2], [1, 1, 3, 3]) == pytest.approx(1 / 7)  # 1 / (4 + 4 − 1)
    assert engine.iou([0, 0, 2, 1], [0, 0, 1, 1]) == 0.5  # inside: 1 / 2
    assert engine.iou([0, 0, 1, 1], [1, 1, 2, 2]) == 0  # corners touch


def test_iou_domain_errors():
    with pytest.raises(ValueError, match=r"^box_a:.*x2"):
        engine.iou([2, 0, 1, 1], [0, 0, 1, 1])
    with pytest.raises(ValueError, match=r"^box_b:.*y2"):
        engine.iou([0, 0, 1, 1], [0, 2, 1, 1])
    with pytest.raises(ValueError, match=r"^box_a:"):
        engine.iou([0, 0, 1], [0, 0, 1, 1])
    with pytest.raises(ValueError, match=r"^box_a and box_b:.*zero area"):
        engine.iou([1, 1, 1, 1], [1, 1, 1, 3])


def _reference_nms(boxes, scores, threshold):
    """Recursive NMS: the best box survives; recurse on the boxes it does not suppress."""
    def iou_matrix(a, b):
        lo, hi = np.maximum(a[:, None, :2], b[None, :, :2]), np.minimum(a[:, None, 2:], b[None, :, 2:])
        inter = np.prod(np.clip(hi - lo, 0, None), axis=-1)
        area = lambda z: np.prod(z[:, 2:] - z[:, :2], axis=-1)  # noqa: E731
        return inter / (area(a)[:, None] + area(b)[None, :] - inter)

    def keep(candidates):
        if not candidates:
            return []
        best = max(candidates, key=lambda k: (scores[k], -k))
        others = [k for k in candidates if k != best]
        if not others:
            return [best]
        overlaps = iou_matrix(boxes[[best]], boxes[others])[0]
        return [best] + keep([k for k, o in zip(others, overlaps) if not o > threshold])

    return keep(list(range(len(boxes))))


@settings(max_examples=60, deadline=None)
@given(st.lists(boxes(), min_size=0, max_size=8), st.data())
def test_nms_against_recursive_reference(box_list, data):
    scores = data.draw(st.lists(st.integers(0, 5), min_size=len(box_list), max_size=len(box_list)))
    threshold = data.draw(st.sampled_from([0.3, 0.5, 0.7]))
    boxes_arr, scores_arr = np.array(box_list, dtype=float).reshape(-1, 4), np.array(scores, dtype=float)
    got = engine.nms(boxes_arr, scores_arr, threshold)
    assert got == _reference_nms(boxes_arr, scores_arr, threshold)
    assert all(type(k) is int for k in got)


def test_nms_sheet_rule_iou_above_half_dropped_equal_kept():
    best = [0, 0, 2, 1]
    exactly_half = [0, 0, 1, 1]  # IoU = 1/2
    above_half = [0, 0, 1.2, 1]  # IoU = 0.6
    far = [5, 5, 6, 6]
    assert engine.nms([best, exactly_half], [0.9, 0.8]) == [0, 1]
    assert engine.nms([best, above_half], [0.9, 0.8]) == [0]
    # kept in score order, the far box is never suppressed
    assert engine.nms([far, above_half, best], [0.3, 0.8, 0.9]) == [2, 0]


def test_nms_suppression_is_only_against_kept_boxes():
    # B overlaps A (dropped); C overlaps B but not A: C survives because B was dropped.
    A, B, C = [0, 0, 2, 2], [0.5, 0, 2.5, 2], [2, 0, 4, 2]
    assert engine.iou(B, C) > 0.1 and engine.iou(A, C) == 0  # IoU(A, B) = 0.6, IoU(B, C) = 1/7
    assert engine.nms([A, B, C], [0.9, 0.8, 0.7], iou_threshold=0.1) == [0, 2]


def test_nms_domain_errors():
    with pytest.raises(ValueError, match=r"^boxes\[1\]:.*x2"):
        engine.nms([[0, 0, 1, 1], [3, 0, 2, 1]], [0.5, 0.4])
    with pytest.raises(ValueError, match=r"^scores:"):
        engine.nms([[0, 0, 1, 1]], [0.5, 0.4])
    with pytest.raises(ValueError, match=r"^boxes:"):
        engine.nms([[0, 0, 1]], [0.5])
    with pytest.raises(ValueError, match=r"^iou_threshold:"):
        engine.nms([[0, 0, 1, 1]], [0.5], iou_threshold=1.5)
    assert engine.nms(np.zeros((0, 4)), []) == []
