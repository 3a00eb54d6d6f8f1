# Measurements per shard: accuracy under the shard's own xi, a fresh xi, and another seed's xi.


rule measure_shard:
    input:
        shard="data/adversarial/{sampler}-t{t}/{attack}-{randomness}-seed{seed}.safetensors",
        ddpm="data/models/ddpm",
        classifier="data/models/classifier.safetensors",
    output:
        "data/metrics/{sampler}-t{t}/{attack}-{randomness}-seed{seed}.json",
    params:
        chain=chain_params,
        seeds=SEEDS,
    threads: 2
    resources:
        gpu=1,
    log:
        "logs/measure_shard/{sampler}-t{t}-{attack}-{randomness}-seed{seed}.log",
    benchmark:
        "benchmarks/measure_shard/{sampler}-t{t}-{attack}-{randomness}-seed{seed}.tsv"
    script:
        "../scripts/measure_shard.py"
