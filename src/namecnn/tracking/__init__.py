"""MLflow: the store, a run's life, a tracked training, the model registry, what a variant changes."""
