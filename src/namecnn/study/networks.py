"""The study's named networks: study.configs entries over study.base at study.steps, and the entry given as the
word `train`, the train section itself (the default network, at its own steps)."""
from .. import config
from ..errors import NameCNNError
from ..training import recipe

DEFAULT = "default_model"       # the row that is the train section (`default_model: train`); its mean is a metric
TRAIN = "train"                 # a configuration given as this word is the train section, at its own steps


def network(p, name, meta, train):
    """(train config, Arch) of configuration `name`: the train section if it is given as `train`, else
    study.base at study.steps with its overrides. Evaluated once, at the last step."""
    if name not in p["configs"]:
        raise NameCNNError(f"study.configs.{name}: no such configuration")
    over = p["configs"][name] or {}
    if over == TRAIN:
        return recipe.train_config({**train, "eval_every": train["steps"]}, meta, section="train")
    if not isinstance(over, dict):
        raise NameCNNError(f"study.configs.{name}: expected overrides of study.base or the word train, got {over!r}")
    return recipe.train_config({**p["base"], "steps": p["steps"], "eval_every": p["steps"], **over}, meta,
                               section=f"study.configs.{name}")


def named(name, meta, path="params.yaml"):
    """(train config, Arch) of network `name` of params.yaml: `train` (the default network) or a study.configs
    entry, for the commands and benchmarks that time or train one by name."""
    train = config.section("train", path)
    if name == TRAIN:
        return recipe.train_config(train, meta)
    return network(config.section("study", path), name, meta, train)
