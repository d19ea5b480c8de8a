"""Checks before the job (dgnet_core.preflight): output folder, model file, device."""

from __future__ import annotations

import pytest


def test_preflight_checks_name_the_users_paths(tmp_path) -> None:
    from dgnet_core.errors import OutputError, WeightsError
    from dgnet_core.preflight import check_device, check_model_file, check_output_dir

    taken = tmp_path / "taken"
    taken.write_text("user data")
    assert check_output_dir(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    assert not (tmp_path / "new").exists()  # checked, not created
    with pytest.raises(OutputError, match=f"output folder is an existing file: {taken}$"):
        check_output_dir(taken)
    with pytest.raises(OutputError, match=f"under a file: {taken}$"):
        check_output_dir(taken / "sub" / "dir")
    assert taken.read_text() == "user data"
    notes = tmp_path / "notes.txt"
    notes.write_text("not a model")
    with pytest.raises(WeightsError, match=rf"must end in \.safetensors or \.onnx: {notes}$"):
        check_model_file(notes)
    with pytest.raises(WeightsError, match=f"model file not found: {tmp_path / 'm.onnx'}$"):
        check_model_file(tmp_path / "m.onnx")
    onnx = tmp_path / "m.onnx"
    onnx.write_bytes(b"x")
    assert check_model_file(onnx) == onnx
    with pytest.raises(WeightsError, match=f"{onnx} is an ONNX model; the torch back-end"):
        check_model_file(onnx, backend="torch")
    st = tmp_path / "w.safetensors"
    st.write_bytes(b"x")
    with pytest.raises(WeightsError, match=f"{st} has no ONNX export beside it"):
        check_model_file(st, backend="onnx")
    check_device("cpu")
    check_device("auto")
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        with pytest.raises(WeightsError, match="the CUDA device is not available"):
            check_device("cuda")
