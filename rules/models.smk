# Models: the embedded default trains its classifier and DDPM here.


rule train_classifier:
    input:
        train="data/inputs/train.safetensors",
    output:
        "data/models/classifier.safetensors",
    params:
        classifier=config["classifier"],
    threads: 2
    log:
        "logs/train_classifier.log",
    benchmark:
        "benchmarks/train_classifier.tsv"
    script:
        "../scripts/train_classifier.py"


rule train_ddpm:
    input:
        train="data/inputs/train.safetensors",
    output:
        directory("data/models/ddpm"),
    params:
        diffusion=config["diffusion"],
    threads: 2
    resources:
        gpu=1,
    log:
        "logs/train_ddpm.log",
    benchmark:
        "benchmarks/train_ddpm.tsv"
    script:
        "../scripts/train_ddpm.py"


rule classifier_metrics:
    input:
        classifier="data/models/classifier.safetensors",
        eval="data/inputs/eval.safetensors",
    output:
        "data/metrics/classifier.json",
    params:
        attack=config["attack"],
    threads: 2
    log:
        "logs/classifier_metrics.log",
    benchmark:
        "benchmarks/classifier_metrics.tsv"
    script:
        "../scripts/classifier_metrics.py"
