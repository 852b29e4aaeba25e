"""The Optuna search: the Optuna study and its storage, the space, trials and workers, the confirmation, outputs."""
