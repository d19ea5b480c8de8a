"""Lifting: 2D joints over time in, root-relative 3D joints out (DG-Net, no bpy).

* ``config``: ``DGNetConfig``, the paper's defaults and every ablation;
* ``graphs`` / ``model``: the network (torch; docs/MODEL.md cites each equation);
* ``weights``: safetensors and ONNX files of trained networks, the shipped model's place;
* ``input_frame``: how a window is shown to the network (screen or root-ray frame);
* ``lifter``: ``Lifter``, a network run over clips (windows, batching, flip TTA);
* ``backend``: which runtime lifts (onnxruntime or PyTorch, CPU or CUDA), ``load_lifter``;
* ``early_lift``: lifting on a second thread while detection goes on.
"""
