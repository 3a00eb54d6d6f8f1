# Fit: robustness as a sigmoid of the compression rate over every (sampler, t*) point (Fig. 3b).


rule fit_sigmoid:
    input:
        compression=[measurement("compression", p) for p in DESIGN.points()],
        metrics=[shard_file("metrics", k) for p in DESIGN.points() for k in DESIGN.fixed_shards(p)],
    output:
        fit="data/measurements/sigmoid.json",
        points="data/measurements/sigmoid_points.csv",
    log:
        "logs/fit_sigmoid.log",
    benchmark:
        "benchmarks/fit_sigmoid.tsv"
    conda:
        CONDA_ENV
    params:
        attack=MAIN_ATTACK,
        epsilon=config["attack"]["epsilon"],  # the budget of every point (diffrob screen measures at it)
    script:
        "../scripts/fit_sigmoid.py"


rule screen:
    input:
        model=screened_model,
        classifier="data/models/classifier.safetensors",
        eval="data/inputs/eval.safetensors",
        sigmoid="data/measurements/sigmoid.json",
    output:
        "data/measurements/screen/{name}.json",
    log:
        "logs/screen/{name}.log",
    benchmark:
        "benchmarks/screen/{name}.tsv"
    conda:
        CONDA_ENV
    threads: 2
    resources:
        **job_resources("screen"),
        gpu=1,
    params:
        purifier=screened,
        seeds=SCREEN.get("seeds", [0]),
        epsilon=config["attack"]["epsilon"],  # the budget of the sigmoid's points
    script:
        "../scripts/screen.py"
