# Inputs: the embedded digits (split once), the CIFAR-10 test set (downloaded), or ImageNet validation
# images from a folder the user gives. The first N images are evaluated.

if DATASET == "digits":

    rule prepare_inputs:
        output:
            train="data/inputs/train.safetensors",
            eval="data/inputs/eval.safetensors",
        log:
            "logs/prepare_inputs.log",
        benchmark:
            "benchmarks/prepare_inputs.tsv"
        conda:
            CONDA_ENV
        params:
            data=config["data"],
        script:
            "../scripts/prepare_inputs.py"

elif DATASET == "cifar10":

    rule download_cifar10:
        output:
            f"{config['data']['folder']}/{CIFAR10_TEST_BATCH}",
            [f"{config['data']['folder']}/{batch}" for batch in CIFAR10_TRAIN_BATCHES],  # ADDT fine-tunes on them
        log:
            "logs/download_cifar10.log",
        benchmark:
            "benchmarks/download_cifar10.tsv"
        localrule: True
        conda:
            CONDA_ENV
        params:
            data=config["data"],
        script:
            "../scripts/download_cifar10.py"

    rule prepare_inputs:
        input:
            f"{config['data']['folder']}/{CIFAR10_TEST_BATCH}",
        output:
            eval="data/inputs/eval.safetensors",
        log:
            "logs/prepare_inputs.log",
        benchmark:
            "benchmarks/prepare_inputs.tsv"
        conda:
            CONDA_ENV
        params:
            data=config["data"],
        script:
            "../scripts/prepare_cifar10.py"

elif DATASET == "imagenet":

    rule prepare_inputs:
        output:
            eval="data/inputs/eval.safetensors",
        log:
            "logs/prepare_inputs.log",
        benchmark:
            "benchmarks/prepare_inputs.tsv"
        conda:
            CONDA_ENV
        threads: 2
        params:
            data=config["data"],
        script:
            "../scripts/prepare_imagenet.py"
