"""The DD2424 study reproduced: its configurations trained with every seed (not an Optuna study: see search/)."""
