from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stun_client import InputMismatchError, decode_tensor, encode_tensor, load_npy, save_npy, tensor_from_values, write_outputs
from stun_client.image import load_image


@pytest.mark.parametrize(
    "arr",
    [
        np.array([[1.5, -2, 3]], dtype=np.float32),
        np.array([1.5, 65504], dtype=np.float16),
        np.array([1e300], dtype=np.float64),
        np.array([2**62, -(2**63)], dtype=np.int64),
        np.array([2**64 - 1], dtype=np.uint64),
        np.array([-128, 127], dtype=np.int8),
        np.array([[True, False]]),
        np.array([], dtype=np.float32).reshape(0, 4),
        np.array([b"x".decode(), "héllo"], dtype=object),
    ],
)
def test_round_trip(arr: np.ndarray) -> None:  # type: ignore[type-arg]
    back = decode_tensor(encode_tensor(arr))
    assert back.shape == arr.shape and back.dtype == arr.dtype
    np.testing.assert_array_equal(back, arr)


def test_wire_form_is_little_endian_base64() -> None:
    assert encode_tensor(np.array([1.0], dtype=">f4")) == {"dtype": "float32", "dims": [1], "data": "AACAPw=="}
    assert encode_tensor(np.array([True, False])) == {"dtype": "bool", "dims": [2], "data": "AQA="}


def test_lists_are_checked_against_the_dtype() -> None:
    assert encode_tensor([1, 2], "int32")["data"] == "AQAAAAIAAAA="
    with pytest.raises(InputMismatchError):
        encode_tensor([1.5], "int32")
    with pytest.raises(InputMismatchError):
        encode_tensor([300], "uint8")
    with pytest.raises(InputMismatchError):
        encode_tensor([2], "bool")
    with pytest.raises(InputMismatchError):
        encode_tensor(np.zeros(2, dtype=np.float64), "float32")


def test_json_values_and_npy(tmp_path: Path) -> None:
    x = tensor_from_values({"dtype": "float32", "dims": [2, 2], "data": [1, 2, 3, 4]})
    assert x.dtype == np.float32 and x.shape == (2, 2)
    with pytest.raises(InputMismatchError):
        tensor_from_values({"dtype": "float32", "dims": [3], "data": [1, 2]})
    save_npy(tmp_path / "x.npy", x)
    np.testing.assert_array_equal(load_npy(tmp_path / "x.npy"), x)
    files = write_outputs(tmp_path / "out", {"a/b": x, "a_b": x})
    assert sorted(p.name for p in files.values()) == ["a_b.npy", "a_b_2.npy"]


def test_image_helper(tmp_path: Path) -> None:
    from PIL import Image

    Image.new("RGB", (8, 6), (255, 0, 51)).save(tmp_path / "red.png")
    x = load_image(tmp_path / "red.png", size=(4, 4))
    assert x.shape == (1, 3, 4, 4) and x.dtype == np.float32
    np.testing.assert_allclose(x[0, :, 0, 0], [1.0, 0.0, 0.2], atol=1e-6)
    y = load_image(tmp_path / "red.png", layout="HWC", mean=[0.5, 0.5, 0.5], std=[0.5, 0.5, 0.5])
    assert y.shape == (6, 8, 3)
    np.testing.assert_allclose(y[0, 0], [1.0, -1.0, -0.6], atol=1e-6)
