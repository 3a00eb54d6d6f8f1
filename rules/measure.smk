rule trajectories:
    input:
        unpack(trajectory_inputs),
        ddpm="data/models/ddpm",
        eval="data/inputs/eval.safetensors",
    output:
        "data/measurements/{sampler}-t{t}/trajectories.json",
    log:
        "logs/trajectories/{sampler}-t{t}.log",
    benchmark:
        "benchmarks/trajectories/{sampler}-t{t}.tsv"
    conda:
        CONDA_ENV
    threads: 2
    resources:
        **job_resources("trajectories"),
        gpu=1,
    params:
        chain=chain_params,
        attacks=lambda w: list(trajectory_inputs(w)),
        uniform_epsilons=config["measure"]["uniform_epsilons"],
        seed=lambda w: DESIGN.trajectory_seed(point_of(w)),
        partial="data/partial/trajectories/{sampler}-t{t}",  # finished inputs, kept until the output is written
    script:
        "../scripts/trajectories.py"


rule table1_distances:
    input:
        unpack(fid_inputs),
        shards=fixed_shards,
        ddpm="data/models/ddpm",
        classifier="data/models/classifier.safetensors",
        eval="data/inputs/eval.safetensors",
    output:
        "data/measurements/{sampler}-t{t}/table1.json",
    log:
        "logs/table1_distances/{sampler}-t{t}.log",
    benchmark:
        "benchmarks/table1_distances/{sampler}-t{t}.tsv"
    conda:
        CONDA_ENV
    threads: 2
    resources:
        **job_resources("table1_distances"),
        gpu=1,
    params:
        chain=chain_params,
        fid=config["measure"]["fid"],
        partial="data/partial/table1/{sampler}-t{t}",  # finished shards, kept until the output is written
    script:
        "../scripts/table1_distances.py"


rule randomness:
    input:
        ddpm="data/models/ddpm",
        eval="data/inputs/eval.safetensors",
    output:
        "data/measurements/{sampler}-t{t}/randomness.json",
    log:
        "logs/randomness/{sampler}-t{t}.log",
    benchmark:
        "benchmarks/randomness/{sampler}-t{t}.tsv"
    conda:
        CONDA_ENV
    threads: 2
    resources:
        **job_resources("randomness"),
        gpu=1,
    params:
        chain=chain_params,
        sizes=config["measure"]["randomness"],
        epsilon=config["attack"]["epsilon"],
        partial="data/partial/randomness/{sampler}-t{t}",  # finished images, kept until the output is written
    script:
        "../scripts/randomness.py"


rule jacobian:
    input:
        ddpm="data/models/ddpm",
        eval="data/inputs/eval.safetensors",
    output:
        "data/measurements/{sampler}-t{t}/jacobian.json",
    log:
        "logs/jacobian/{sampler}-t{t}.log",
    benchmark:
        "benchmarks/jacobian/{sampler}-t{t}.tsv"
    conda:
        CONDA_ENV
    threads: 2
    resources:
        **job_resources("jacobian"),
        gpu=1,
    params:
        chain=chain_params,
        n_images=config["measure"]["jacobian_images"],
        patch=config["measure"]["jacobian_patch"],
        seed=DESIGN.seeds[0],
        partial="data/partial/jacobian/{sampler}-t{t}",  # finished images, kept until the output is written
    script:
        "../scripts/jacobian.py"


rule compression:
    input:
        shards=fixed_shards,
        ddpm="data/models/ddpm",
        eval="data/inputs/eval.safetensors",
    output:
        "data/measurements/{sampler}-t{t}/compression.json",
    log:
        "logs/compression/{sampler}-t{t}.log",
    benchmark:
        "benchmarks/compression/{sampler}-t{t}.tsv"
    conda:
        CONDA_ENV
    threads: 2
    resources:
        **job_resources("compression"),
        gpu=1,
    params:
        chain=chain_params,
        seeds=lambda w: list(DESIGN.compression_seeds(point_of(w))),
        epsilon=config["attack"]["epsilon"],
        partial="data/partial/compression/{sampler}-t{t}",  # finished seeds and shards
    script:
        "../scripts/compression.py"


rule correlations:
    input:
        pairs=lambda w: [shard_file("adversarial", k) for p in DESIGN.correlation_pairs() for k in (p.first, p.second)],
        eval="data/inputs/eval.safetensors",
    output:
        "data/measurements/{sampler}-t{t}/correlations.json",
    log:
        "logs/correlations/{sampler}-t{t}.log",
    benchmark:
        "benchmarks/correlations/{sampler}-t{t}.tsv"
    conda:
        CONDA_ENV
    params:
        pairs=[
            (shard_file("adversarial", p.first), shard_file("adversarial", p.second))
            for p in DESIGN.correlation_pairs()
        ],
    script:
        "../scripts/correlations.py"


rule gradient_alignment:
    input:
        shard=lambda w: shard_file("adversarial", DESIGN.alignment_shard()),
        ddpm="data/models/ddpm",
        classifier="data/models/classifier.safetensors",
        eval="data/inputs/eval.safetensors",
    output:
        "data/measurements/{sampler}-t{t}/gradient_alignment.json",
    log:
        "logs/gradient_alignment/{sampler}-t{t}.log",
    benchmark:
        "benchmarks/gradient_alignment/{sampler}-t{t}.tsv"
    conda:
        CONDA_ENV
    threads: 2
    resources:
        **job_resources("gradient_alignment"),
        gpu=1,
    params:
        chain=chain_params,
        attack=ATTACK,
        partial="data/partial/gradient_alignment/{sampler}-t{t}",  # finished batches, kept until the output is written
    script:
        "../scripts/gradient_alignment.py"


rule convergence:
    input:
        shard=lambda w: shard_file("metrics", DESIGN.convergence_shard()),
        autoattack=lambda w: convergence_autoattack(),
        ddpm="data/models/ddpm",
        classifier="data/models/classifier.safetensors",
        eval="data/inputs/eval.safetensors",
    output:
        "data/measurements/{sampler}-t{t}/convergence.json",
    log:
        "logs/convergence/{sampler}-t{t}.log",
    benchmark:
        "benchmarks/convergence/{sampler}-t{t}.tsv"
    conda:
        CONDA_ENV
    threads: 2
    resources:
        **job_resources("convergence"),
        gpu=1,
    params:
        chain=chain_params,
        attack=ATTACK,
        attack_name=MAIN_ATTACK,
        seed=lambda w: DESIGN.convergence_shard().seed,
        budgets=list(DESIGN.convergence_steps),
        partial="data/partial/convergence/{sampler}-t{t}",  # finished batches, kept until the output is written
    script:
        "../scripts/convergence.py"


rule base_classifier:
    input:
        classifier="data/models/classifier.safetensors",
        eval="data/inputs/eval.safetensors",
        compression=[measurement("compression", p) for p in DESIGN.compression_points()],
    output:
        "data/measurements/base_classifier.json",
    log:
        "logs/base_classifier.log",
    benchmark:
        "benchmarks/base_classifier.tsv"
    conda:
        CONDA_ENV
    threads: 2
    resources:
        **job_resources("base_classifier"),
        gpu=1,
    params:
        attack=ATTACK,
        scales=config["measure"]["base_classifier_scales"],
    script:
        "../scripts/base_classifier.py"


rule paired_comparisons:
    input:
        lambda w: [c[side] for c in paired_comparisons() for side in ("first", "second")],
    output:
        "data/measurements/paired.json",
    log:
        "logs/paired_comparisons.log",
    benchmark:
        "benchmarks/paired_comparisons.tsv"
    localrule: True
    conda:
        CONDA_ENV
    params:
        comparisons=paired_comparisons,
    script:
        "../scripts/paired_comparisons.py"


rule n_evaluation:
    input:
        shard=lambda w: shard_file("adversarial", shard_of(w)),
        ddpm="data/models/ddpm",
        classifier="data/models/classifier.safetensors",
        eval="data/inputs/eval.safetensors",
    output:
        "data/measurements/n_evaluation/{sampler}-t{t}/{attack}-{randomness}-seed{seed}.json",
    log:
        "logs/n_evaluation/{sampler}-t{t}-{attack}-{randomness}-seed{seed}.log",
    benchmark:
        "benchmarks/n_evaluation/{sampler}-t{t}-{attack}-{randomness}-seed{seed}.tsv"
    wildcard_constraints:
        randomness="free",
    conda:
        CONDA_ENV
    threads: 2
    resources:
        **job_resources("n_evaluation"),
        gpu=1,
    params:
        chain=chain_params,
        draws=N_DRAWS,
        key=lambda w: {"model": "base", "attack": w.attack, "seed": int(w.seed)},
        batch_size=config["attack"]["batch_size"],  # images classified at once
        partial="data/partial/n_evaluation/{sampler}-t{t}/{attack}-{randomness}-seed{seed}",  # finished draws
    script:
        "../scripts/n_evaluation.py"
