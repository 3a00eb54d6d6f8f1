"""Write the first N CIFAR-10 test images."""

from diffrob.data import read_cifar10_binary, save_image_set
from diffrob.runtime import configure

configure(snakemake.threads, snakemake.log[0])
save_image_set(read_cifar10_binary(snakemake.input[0], snakemake.params.data["n_eval"]), snakemake.output.eval)
