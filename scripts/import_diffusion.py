"""Load the downloaded diffusion model, check its schedule against the config, save it for the workflow."""

from diffrob.models.diffusion import build_scheduler, check_schedule, load_diffusion, save_diffusion
from diffrob.models.guided import load_guided_weights, save_guided_diffusion
from diffrob.runtime import configure

configure(1, snakemake.log[0])
diffusion = snakemake.params.diffusion
if snakemake.params.source == "hub":
    unet, scheduler = load_diffusion(snakemake.input[0])
    check_schedule(scheduler, diffusion["schedule"], snakemake.input[0])
    save_diffusion(unet, scheduler, snakemake.output[0])
else:
    unet = load_guided_weights(snakemake.input[0], diffusion["guided"]["model"])
    save_guided_diffusion(unet, build_scheduler(diffusion["schedule"]), snakemake.output[0])
