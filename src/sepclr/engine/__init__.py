"""Training loop, devices and model files."""
