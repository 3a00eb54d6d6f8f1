"""Fine-tune the workflow's DDPM as ADDT (or its clean control, or an ablation) and save it with save_pretrained."""

from diffrob.addt import FinetuneSettings, finetune
from diffrob.data import load_image_set
from diffrob.models import load_classifier, load_diffusion, save_diffusion
from diffrob.runtime import configure, device

configure(snakemake.threads, snakemake.log[0])
i = snakemake.input
settings = FinetuneSettings.from_mapping(snakemake.params.finetune, snakemake.wildcards.mode)
unet, scheduler = load_diffusion(i.ddpm)
classifier = load_classifier(i.classifier).to(device())
tuned = finetune(unet.to(device()), scheduler, classifier, load_image_set(i.train), settings)
save_diffusion(tuned.cpu(), scheduler, snakemake.output[0])
