from __future__ import annotations

from pathlib import Path

import pytest

from stun_client import StunClient, ValidationError


def test_upload_from_path_and_bytes(client: StunClient, mlp_path: str) -> None:
    model = client.upload_model(mlp_path)
    assert model.name == "mlp"
    data = Path(mlp_path).read_bytes()
    assert model.size_bytes == len(data)
    assert [(i.name, i.dtype, i.shape) for i in model.inputs] == [("x", "float32", ("N", 4))]
    assert [(o.name, o.dtype) for o in model.outputs] == [("y", "float32")]
    again = client.upload_model(data, name="mlp-bytes")
    assert again.sha256 == model.sha256  # stored by content
    assert client.get_model(model.id).sha256 == model.sha256
    assert model.id in [m.id for m in client.list_models(limit=100)]


def test_invalid_model_is_refused(client: StunClient) -> None:
    with pytest.raises(ValidationError) as e:
        client.upload_model(b"not an onnx file", name="junk")
    assert (e.value.status, e.value.code) == (400, "MODEL_INVALID")


def test_missing_file_is_a_file_error(client: StunClient, tmp_path: Path) -> None:
    with pytest.raises(Exception) as e:
        client.upload_model(tmp_path / "nope.onnx")
    assert getattr(e.value, "code", None) == "FILE_ERROR"
