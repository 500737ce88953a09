"""Object detection (sheet: "YOLO IoU", "Non-max suppression").

A box is (x1, y1, x2, y2) with x1 <= x2 and y1 <= y2; areas are continuous
(width = x2 − x1, no +1 pixel convention).
"""

import numpy as np

from ._checks import as_array, number


def _box(name, value):
    box = as_array(name, value, ndim=1)
    if box.shape != (4,):
        raise ValueError(f"{name}: expected (x1, y1, x2, y2), got {box.shape[0]} numbers")
    if not np.all(np.isfinite(box)):
        raise ValueError(f"{name}: coordinates must be finite")
    x1, y1, x2, y2 = box
    if x2 < x1:
        raise ValueError(f"{name}: x2 = {x2:g} is left of x1 = {x1:g}")
    if y2 < y1:
        raise ValueError(f"{name}: y2 = {y2:g} is above y1 = {y1:g}")
    return box


def _area(box):
    return (box[2] - box[0]) * (box[3] - box[1])


def iou(box_a, box_b):
    """Intersection over union: IoU = intersection area / union area, in [0, 1].

    Disjoint or edge-touching boxes give 0. Two zero-area boxes have no union: ValueError.
    """
    return _iou(_box("box_a", box_a), _box("box_b", box_b), "box_a and box_b")


def _iou(a, b, names):
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    intersection = width * height
    union = _area(a) + _area(b) - intersection
    if union <= 0:
        raise ValueError(f"{names}: both boxes have zero area, IoU is undefined")
    return float(intersection / union)


def nms(boxes, scores, iou_threshold=0.5):
    """Greedy non-max suppression: keep the best-scoring box, discard every box whose
    IoU with it is > iou_threshold (strictly: IoU = threshold is kept), repeat with the
    best remaining box.

    boxes: (N, 4); scores: (N,). Equal scores go to the lower index first. Returns the
    kept indices (Python ints) in the order they were kept.
    """
    boxes = as_array("boxes", boxes)
    if boxes.size == 0:
        boxes = boxes.reshape(0, 4)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"boxes: expected shape (N, 4), got {boxes.shape}")
    checked = [_box(f"boxes[{k}]", box) for k, box in enumerate(boxes)]
    scores = as_array("scores", scores, ndim=1)
    if scores.shape != (len(checked),):
        raise ValueError(f"scores: expected one score per box ({len(checked)}), got shape {scores.shape}")
    if not np.all(np.isfinite(scores)):
        raise ValueError("scores: values must be finite")
    threshold = number("iou_threshold", iou_threshold)
    if not 0 <= threshold <= 1:
        raise ValueError(f"iou_threshold: must lie in [0, 1], got {iou_threshold!r}")
    remaining = [int(k) for k in np.argsort(-scores, kind="stable")]
    kept = []
    while remaining:
        best, *rest = remaining
        kept.append(best)
        remaining = [k for k in rest if _iou(checked[best], checked[k], f"boxes[{best}] and boxes[{k}]") <= threshold]
    return kept
