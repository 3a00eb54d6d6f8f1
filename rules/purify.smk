# Purification of the clean evaluation images, per base seed: clean accuracy under xi_s and fresh xi.


rule purify_clean:
    input:
        ddpm="data/models/ddpm",
        classifier="data/models/classifier.safetensors",
        eval="data/inputs/eval.safetensors",
    output:
        "data/purified/{sampler}-t{t}/seed{seed}.json",
    log:
        "logs/purify_clean/{sampler}-t{t}-seed{seed}.log",
    benchmark:
        "benchmarks/purify_clean/{sampler}-t{t}-seed{seed}.tsv"
    conda:
        CONDA_ENV
    threads: 2
    resources:
        **job_resources("purify_clean"),
        gpu=1,
    params:
        chain=chain_params,
        partial="data/partial/purified/{sampler}-t{t}/seed{seed}",  # finished evaluations
    script:
        "../scripts/purify_clean.py"
