"""Data sources, contrastive-analysis datasets and views."""
