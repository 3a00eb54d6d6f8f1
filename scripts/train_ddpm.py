"""Train the embedded DDPM and save it with save_pretrained."""

from diffrob.data import load_image_set
from diffrob.models.diffusion import save_diffusion, train_ddpm
from diffrob.runtime import configure

configure(snakemake.threads, snakemake.log[0])
d = snakemake.params.diffusion
t = d["train"]
unet, scheduler = train_ddpm(
    load_image_set(snakemake.input.train),
    d["unet"],
    d["schedule"],
    t["steps"],
    t["batch_size"],
    t["lr"],
    t["seed"],
    t["ema_decay"],
)
save_diffusion(unet, scheduler, snakemake.output[0])
