"""Training, evaluation and synthetic data for DG-Net; depends only on dgnet_core."""
