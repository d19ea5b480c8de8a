"""DG-Net video-to-3D engine: pure Python (no bpy); see docs/ARCHITECTURE.md."""
