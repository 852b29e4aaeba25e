"""namecnn search: the search stage's Optuna search, with command-line overrides of the search section."""
HELP = "Optuna search with params.yaml's search section; trials join one Optuna study"


def add(s):
    s.add_argument("--workers", type=int, help="processes adding trials to the Optuna study (default: "
                                                 "search.workers in params.yaml; 0: one per core)")
    s.add_argument("--n-trials", type=int, help="total finished trials the Optuna study should hold")
    s.add_argument("--storage", help="journal file path, sqlite:///… or postgresql://… (default: search.storage)")
    s.add_argument("--study-name", help="base name of the Optuna study (default: search.study_name)")
    s.add_argument("--sampler", choices=["random", "tpe"])
    team = s.add_mutually_exclusive_group()
    team.add_argument("--create-only", action="store_true", help="a team's first step, once: create the study "
                                                                 "and enqueue the default, then stop")
    team.add_argument("--trials-only", action="store_true", help="add trials from this machine and stop before "
                                                                 "the confirmation (one last full search runs it)")
    s.add_argument("--params", default="params.yaml")
    s.add_argument("--data", default="data/encoded", help="encoded data directory")
    s.add_argument("--out", default="reports/search", help="where trials.csv, best_params.json, plots go")
    return s


def run(args):
    from .. import config
    from ..search import outputs
    from ..search import run as search
    from ..training import workers

    p = config.load_section("search", args.params)
    for key in ("n_trials", "storage", "study_name", "sampler"):
        if getattr(args, key) is not None:
            p[key] = getattr(args, key)
    p = search.check(p)
    train = config.section("train", args.params)
    jobs = workers.resolve_jobs(p["workers"] if args.workers is None else args.workers)
    until = "study" if args.create_only else "trials" if args.trials_only else None
    s = search.search(p, train, args.data, args.out, jobs, until)
    if until is None:
        print("\n".join(outputs.describe(s)))
    else:
        shown = f"{s['storage'].split('@')[-1]}" if "://" in s["storage"] else s["storage"]
        print(f"search: Optuna study {s['study_name']} in {shown} holds {s['trials']} trials"
              + (f", {s['counted']} counted toward n_trials" if "counted" in s else ""))
