# Fit: robustness as a sigmoid of the compression rate over every (sampler, t*) point (Fig. 3b).


rule fit_sigmoid:
    input:
        compression=[measurement("compression", s, t) for s, t in points()],
        metrics=[shard("metrics", s, t, MAIN_ATTACK, "fixed", seed) for s, t in points() for seed in fixed_seeds(s, t)],
    output:
        fit="data/measurements/sigmoid.json",
        points="data/measurements/sigmoid_points.csv",
    params:
        attack=MAIN_ATTACK,
    log:
        "logs/fit_sigmoid.log",
    benchmark:
        "benchmarks/fit_sigmoid.tsv"
    script:
        "../scripts/fit_sigmoid.py"
