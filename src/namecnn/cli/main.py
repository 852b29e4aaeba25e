"""The `namecnn` command: one module a subcommand (bench, search, predict, compare), each with its parser and
its `run`."""
import argparse
import os

from ..errors import guard
from ..training.memory import keep_freed_memory
from . import bench, compare, data, exps, predict, promote, search

COMMANDS = {"bench": bench, "search": search, "predict": predict, "compare": compare, "promote": promote,
            "exps": exps,
            "data": data}


def parser():
    ap = argparse.ArgumentParser(prog="namecnn", description="Surname -> language ConvNet in NumPy.")
    ap.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    ap.add_argument("-v", "--verbose", action="store_true", help="show MLflow's and Optuna's INFO log lines")
    sub = ap.add_subparsers(dest="command", required=True)
    for name, module in COMMANDS.items():
        module.add(sub.add_parser(name, help=module.HELP, description=module.HELP)).set_defaults(func=module.run)
    return ap


def _version():
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("namecnn")
    except PackageNotFoundError:
        return "unknown"


def main(argv=None):
    args = parser().parse_args(argv)
    if args.verbose:
        os.environ["MLFLOW_LOGGING_LEVEL"] = "INFO"       # read by tracking/store.py in every process, workers too
    keep_freed_memory()
    guard(lambda: args.func(args))
