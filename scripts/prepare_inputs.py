"""Split the digits and write the training set and the first N held-out images."""

from diffrob.data import digits_split, save_image_set
from diffrob.runtime import configure

configure(snakemake.threads, snakemake.log[0])
data = snakemake.params.data
train, held_out = digits_split(data["test_fraction"], data["split_seed"])
save_image_set(train, snakemake.output.train)
save_image_set(held_out.head(data["n_eval"]), snakemake.output.eval)
