# Fit: robustness as a sigmoid of the compression rate over every (sampler, t*) point (Fig. 3b).


rule fit_sigmoid:
    input:
        compression=[measurement("compression", p) for p in DESIGN.points()],
        metrics=[shard_file("metrics", k) for p in DESIGN.points() for k in DESIGN.fixed_shards(p)],
    output:
        fit="data/measurements/sigmoid.json",
        points="data/measurements/sigmoid_points.csv",
    params:
        attack=MAIN_ATTACK,
        epsilon=config["attack"]["epsilon"],  # the budget of every point (diffrob screen measures at it)
    log:
        "logs/fit_sigmoid.log",
    benchmark:
        "benchmarks/fit_sigmoid.tsv"
    script:
        "../scripts/fit_sigmoid.py"


# diffrob screen for the purifiers of config `screen`: compression alone predicts fixed-randomness robustness through
# the sigmoid fitted above (no attack, no gradient).
SCREEN = config.get("screen") or {}
SCREENED, SCREEN_LEFT_OUT = screened_purifiers(config)  # those naming a fine-tune not made here are left out


def screen_files():
    """The screen of every purifier listed in config `screen` that this configuration can screen."""
    return [f"data/measurements/screen/{name}.json" for name in SCREENED]


def screened(wildcards):
    """The settings of one screened purifier, with the workflow's defaults filled in (model ddpm, its respacing)."""
    entry = dict(SCREENED[wildcards.name])
    if "callable" in entry:
        return entry
    entry.setdefault("model", "ddpm")
    steps = entry.get("reverse_steps", config["purification"]["reverse_steps"])
    chain = chain_of(Point(entry["sampler"], int(entry["t_star"])))
    entry["chain"] = {**chain, "reverse_steps": min(int(steps), int(entry["t_star"]))}
    return entry


def screened_model(wildcards):
    """The workflow's model folder a screened purifier uses (none for a callable, a hub id or a folder of one's own)."""
    model = SCREENED[wildcards.name].get("model", "ddpm")
    if "callable" in SCREENED[wildcards.name]:
        return []
    if model == "ddpm":
        return ["data/models/ddpm"]
    return [addt_model_dir(model.removeprefix("addt/"))] if model.startswith("addt/") else []


rule screen:
    input:
        model=screened_model,
        classifier="data/models/classifier.safetensors",
        eval="data/inputs/eval.safetensors",
        sigmoid="data/measurements/sigmoid.json",
    output:
        "data/measurements/screen/{name}.json",
    params:
        purifier=screened,
        seeds=SCREEN.get("seeds", [0]),
        epsilon=config["attack"]["epsilon"],  # the budget of the sigmoid's points
    threads: 2
    resources:
        **job_resources("screen"),
        gpu=1,
    log:
        "logs/screen/{name}.log",
    benchmark:
        "benchmarks/screen/{name}.tsv"
    script:
        "../scripts/screen.py"
