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
    log:
        "logs/fit_sigmoid.log",
    benchmark:
        "benchmarks/fit_sigmoid.tsv"
    script:
        "../scripts/fit_sigmoid.py"
