# The paper: long-format results, tables with the paper's values beside ours, build metadata.


rule results:
    input:
        classifier="data/metrics/classifier.json",
        purified=expand("data/purified/{sampler}-t{t}/seed{seed}.json", sampler=SAMPLERS, t=T_STAR, seed=SEEDS),
        shards=[p for s in SAMPLERS for p in shard_paths("metrics", s, T_STAR)],
    output:
        "paper/results.csv",
    params:
        dataset=config["dataset"],
    log:
        "logs/results.log",
    benchmark:
        "benchmarks/results.tsv"
    script:
        "../scripts/results.py"


rule table2:
    input:
        results="paper/results.csv",
        targets=f"{workflow.basedir}/paper/paper_targets.csv",
    output:
        csv="paper/tables/table2.csv",
        md="paper/tables/table2.md",
        tex="paper/tables/table2.tex",
    params:
        sampler=SAMPLERS[0],
        settings={"epsilon": config["attack"]["epsilon"], "t_star": T_STAR,
                  "reverse_steps": min(config["purification"]["reverse_steps"], T_STAR),
                  "steps": config["attack"]["steps"], "dataset": config["dataset"]},
    log:
        "logs/table2.log",
    benchmark:
        "benchmarks/table2.tsv"
    script:
        "../scripts/table2.py"


rule build_info:
    output:
        "paper/build.json",
    params:
        config=config,
    log:
        "logs/build_info.log",
    script:
        "../scripts/build_info.py"
