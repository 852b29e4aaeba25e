"""The trained network as an MLflow pyfunc model: a list of names in, a DataFrame out."""
from importlib.metadata import version
from pathlib import Path

import mlflow.pyfunc
import pandas as pd
from mlflow.exceptions import MlflowException

from ..errors import NameCNNError
from ..nn import modelio
from . import predict

EXAMPLE = ["cruz", "mcgregor", "yamamoto"]


def as_names(model_input):
    """A list, Series, ndarray or one-column DataFrame of names -> list of str."""
    if isinstance(model_input, pd.DataFrame):
        column = "name" if "name" in model_input.columns else model_input.columns[0]
        return [str(v) for v in model_input[column]]
    if isinstance(model_input, str):
        return [model_input]
    return [str(v) for v in list(model_input)]


class NameCNNModel(mlflow.pyfunc.PythonModel):
    def load_context(self, context):
        self.params, self.meta = modelio.load(context.artifacts["model_dir"])

    def predict(self, context, model_input: list[str], params=None):
        """One row a name; a name that cannot be classified ('' or emoji only) has its reason in column `error`
        and no language, and the others are answered. Any other bad input is MLflow's invalid-parameter error:
        the scoring server answers 400 with the one-line reason, not a stack trace."""
        try:
            return predict.frame(self.params, self.meta, as_names(model_input))
        except NameCNNError as e:
            raise MlflowException.invalid_parameter_value(str(e)) from None


def log_model(model_dir, package_dir):
    """Log model_dir as the run's `model`: served.py as its code (models from code, nothing pickled), the
    package, an input example; the signature (a list of strings in) comes from predict's type hint, and MLflow
    checks the example against it. Registering is registry.register's job, once the run has finished."""
    return mlflow.pyfunc.log_model(
        name="model", python_model=str(Path(__file__).with_name("served.py")), artifacts={"model_dir": str(model_dir)},
        code_paths=[str(package_dir)], input_example=EXAMPLE, pip_requirements=_requirements())


def _requirements():
    return [f"{pkg}=={version(pkg)}" for pkg in ("mlflow", "numpy", "scipy", "pandas", "pyyaml", "tqdm",
                                                 "threadpoolctl", "anyascii")]
