# Inputs: the embedded digits, split once; the first N held-out images are evaluated.


rule prepare_inputs:
    output:
        train="data/inputs/train.safetensors",
        eval="data/inputs/eval.safetensors",
    params:
        data=config["data"],
    log:
        "logs/prepare_inputs.log",
    benchmark:
        "benchmarks/prepare_inputs.tsv"
    script:
        "../scripts/prepare_inputs.py"
