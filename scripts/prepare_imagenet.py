"""Write the first N images of RobustBench's ImageNet list, read from the user's validation folder."""

from diffrob.data import save_image_set
from diffrob.models.robustbench import read_imagenet_folder
from diffrob.runtime import configure

configure(snakemake.threads, snakemake.log[0])
data = snakemake.params.data
save_image_set(read_imagenet_folder(data["folder"], data["n_eval"]), snakemake.output.eval)
