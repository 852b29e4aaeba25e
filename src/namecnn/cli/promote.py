"""namecnn promote: make a registered model the champion because it is better, not because it was trained last:
only when the paired comparison with the champion on the same validation names says so."""

HELP = ("make a model models:/namecnn@champion, only if it beats the champion on the same validation names at "
        "McNemar p < evaluate.promote_p")


def add(p):
    p.add_argument("ref", metavar="MODEL", help="a run id, a DVC experiment, a git revision, or models:/namecnn/N")
    p.add_argument("--force", action="store_true", help="promote even without a significant lead (said in the "
                                                        "version's description)")
    p.add_argument("--params", default="params.yaml", help="its evaluate section: seed, bootstrap, level, promote_p")
    return p


def run(args):
    import mlflow
    import numpy as np

    from .. import config
    from ..errors import NameCNNError
    from ..scoring import compare
    from ..tracking import lookup, registry, store

    p = config.section("evaluate", args.params)
    store.connect()
    client = mlflow.MlflowClient()
    with store.store_errors():
        run = lookup.find_run(args.ref, client)
        mv = registry.version_of(client, run.info.run_id)
        if mv is None:
            raise NameCNNError(f"{args.ref}: run {run.info.run_id} has no registered version of {registry.MODEL}")
        held = registry.champion(client)
        if held is not None and held.version == mv.version:
            print(f"version {mv.version} is already models:/{registry.MODEL}@champion")
            return
        if held is None:
            c, line = None, "the store had no champion"
        else:
            c = compare.by_name(lookup.predictions(run.info.run_id), lookup.predictions(held.run_id),
                                np.random.default_rng(p["seed"]), p["bootstrap"], p["level"])
            line = (f"version {mv.version} against the champion (version {held.version}): {100 * c['diff']:+.1f} "
                    f"points, {round(100 * c['level'])}% paired bootstrap {100 * c['low']:+.1f} to "
                    f"{100 * c['high']:+.1f}, McNemar p = {c['p_mcnemar']:.3g}")
        better = c is None or (c["diff"] > 0 and c["p_mcnemar"] < p["promote_p"])
        if not better and not args.force:
            raise NameCNNError(f"refused: {line}; it must be better at McNemar p < {p['promote_p']:g} "
                               f"(evaluate.promote_p; --force promotes it anyway)")
        how = "promoted" if better else "promoted by force, without a significant lead"
        client.set_registered_model_alias(registry.MODEL, registry.CHAMPION, str(mv.version))
        client.set_model_version_tag(registry.MODEL, str(mv.version), "namecnn.role", registry.CHAMPION)
        client.update_model_version(registry.MODEL, str(mv.version),
                                    description=f"{how.capitalize()} by namecnn promote: {line}. "
                                                f"{mv.description or ''}".strip())
    print(f"version {mv.version} is now models:/{registry.MODEL}@champion ({how}): {line}")
