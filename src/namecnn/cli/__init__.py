"""The `namecnn` command line (main.py) and its subcommands. Each subcommand module imports what it runs inside
`run`: the parser is built for every call, and mlflow, optuna or scikit-learn take seconds to import."""
