"""Images as model inputs (needs Pillow: ``pip install stun-client[image]``)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np


def load_image(
    path: str | os.PathLike[str],
    *,
    size: tuple[int, int] | None = None,
    layout: Literal["NCHW", "NHWC", "CHW", "HWC"] = "NCHW",
    mode: Literal["RGB", "L"] = "RGB",
    scale: float = 1 / 255,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
) -> np.ndarray[Any, Any]:
    """An image file as a float32 array: resized to ``size`` (width, height), ``× scale`` (0–1 by
    default), then ``(x - mean) / std`` per channel, in ``layout`` (a batch of one for N…)."""
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - exercised only without Pillow
        raise ImportError("load_image needs Pillow: pip install 'stun-client[image]'") from None
    with Image.open(path) as img:
        im = img.convert(mode)
        if size is not None:
            im = im.resize(size, Image.Resampling.BILINEAR)
        arr = np.asarray(im, dtype=np.float32) * np.float32(scale)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if mean is not None:
        arr = arr - np.asarray(mean, dtype=np.float32)
    if std is not None:
        arr = arr / np.asarray(std, dtype=np.float32)
    if layout in ("NCHW", "CHW"):
        arr = arr.transpose(2, 0, 1)
    if layout.startswith("N"):
        arr = arr[None]
    return np.ascontiguousarray(arr, dtype=np.float32)
