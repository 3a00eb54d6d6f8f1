# ADDT (Liu et al., ICLR 2025; config `addt`): the workflow's DDPM fine-tuned as ADDT and as its clean control
# (and the ablations asked for), then every model attacked as ADDT evaluates, under EOT (free randomness, losses
# summed over K draws) and under DW-box (xi_s fixed and known), and measured by compression (eq. 10).
# Its files are named in rules/common.smk.


if ADDT:

    wildcard_constraints:
        model="base|clean|addt|addt_no_rbgm|addt_no_guidance",
        mode="clean|addt|addt_no_rbgm|addt_no_guidance",
        norm="linf|l2",
        setting="eot|dwbox",

    ADDT_CHAIN = chain_of(DESIGN.main)  # ADDT evaluates the main sampler at the main t*

    rule finetune_ddpm:
        input:
            ddpm="data/models/ddpm",
            classifier="data/models/classifier.safetensors",
            train=TRAINING_SET,
        output:
            directory("data/models/addt/{mode}"),
        log:
            "logs/finetune_ddpm/{mode}.log",
        benchmark:
            "benchmarks/finetune_ddpm/{mode}.tsv"
        conda:
            CONDA_ENV
        threads: 2
        resources:
            **job_resources("finetune_ddpm"),
            gpu=job_gpus("finetune_ddpm"),  # data-parallel over the GPUs of one node
        params:
            finetune=lambda w: finetune_settings(ADDT["finetune"], w.mode),  # what this mode reads
            partial="data/partial/finetune/{mode}",  # the training state, saved every epoch
        script:
            "../scripts/finetune_ddpm.py"

    rule addt_attack:
        input:
            ddpm=lambda w: addt_model_dir(w.model),
            classifier="data/models/classifier.safetensors",
            eval="data/inputs/eval.safetensors",
        output:
            shard="data/adversarial/addt/{model}/{norm}-{setting}-seed{seed}.safetensors",
            metrics="data/adversarial/addt/{model}/{norm}-{setting}-seed{seed}.json",
        log:
            "logs/addt_attack/{model}-{norm}-{setting}-seed{seed}.log",
        benchmark:
            "benchmarks/addt_attack/{model}-{norm}-{setting}-seed{seed}.tsv"
        conda:
            CONDA_ENV
        threads: 2
        resources:
            **job_resources("addt_attack"),
            gpu=1,
        params:
            chain=ADDT_CHAIN,
            evaluation=lambda w: protocol_settings(ADDT["evaluate"], w.norm, w.setting),  # what this shard reads
            n_images=ADDT["evaluate"]["n_images"],
            partial="data/partial/adversarial/addt/{model}/{norm}-{setting}-seed{seed}",  # finished batches
        script:
            "../scripts/addt_attack.py"

    rule addt_compression:
        input:
            shards=lambda w: [addt_shard(w.model, "linf", "dwbox", s) for s in ADDT["evaluate"]["seeds"]],
            ddpm=lambda w: addt_model_dir(w.model),
            eval="data/inputs/eval.safetensors",
        output:
            "data/measurements/addt/{model}/compression.json",
        log:
            "logs/addt_compression/{model}.log",
        benchmark:
            "benchmarks/addt_compression/{model}.tsv"
        conda:
            CONDA_ENV
        threads: 2
        resources:
            **job_resources("addt_compression"),
            gpu=1,
        params:
            chain=ADDT_CHAIN,
            seeds=ADDT["evaluate"]["seeds"],
            epsilon=ADDT["evaluate"]["linf"]["epsilon"],
            n_images=ADDT["evaluate"]["n_images"],
            partial="data/partial/compression/addt/{model}",  # finished seeds and shards
        script:
            "../scripts/compression.py"

    rule addt_summary:
        input:
            metrics=addt_shards("json"),
            compression=addt_compression_files(),
            sigmoid="data/measurements/sigmoid.json",
        output:
            ADDT_SUMMARY,
        log:
            "logs/addt_summary.log",
        benchmark:
            "benchmarks/addt_summary.tsv"
        localrule: True
        conda:
            CONDA_ENV
        params:
            models=addt_models(),
            on_sigmoid=DESIGN.addt_on_sigmoid,  # residuals only at the sigmoid's budget
        script:
            "../scripts/addt_summary.py"

    rule addt_n_evaluation:
        input:
            shard=lambda w: addt_shard(w.model, w.norm, "eot", w.seed),
            ddpm=lambda w: addt_model_dir(w.model),
            classifier="data/models/classifier.safetensors",
            eval="data/inputs/eval.safetensors",
        output:
            "data/measurements/n_evaluation/addt/{model}/{norm}-eot-seed{seed}.json",
        log:
            "logs/addt_n_evaluation/{model}-{norm}-seed{seed}.log",
        benchmark:
            "benchmarks/addt_n_evaluation/{model}-{norm}-seed{seed}.tsv"
        conda:
            CONDA_ENV
        threads: 2
        resources:
            **job_resources("addt_n_evaluation"),
            gpu=1,
        params:
            chain=ADDT_CHAIN,
            draws=N_DRAWS,
            key=lambda w: {"model": w.model, "attack": f"addt_{w.norm}", "seed": int(w.seed)},
            batch_size=ADDT["evaluate"]["batch_size"],
            n_images=ADDT["evaluate"]["n_images"],
            partial="data/partial/n_evaluation/addt/{model}/{norm}-eot-seed{seed}",  # finished draws
        script:
            "../scripts/n_evaluation.py"
