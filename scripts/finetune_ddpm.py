"""Fine-tune the workflow's DDPM as ADDT (or its clean control, or an ablation), data-parallel on the GPUs the job
was given, resuming from its last saved step; saved with save_pretrained."""

import math

from diffrob.addt.distributed import launch, visible_gpus
from diffrob.addt.finetune import FinetuneSettings, finetune_files
from diffrob.addt.training_state import StepCheckpoints
from diffrob.data import count_training_images
from diffrob.resume import job_identity
from diffrob.runtime import configure

configure(snakemake.threads, snakemake.log[0])
i, p = snakemake.input, snakemake.params
train = [i.train] if isinstance(i.train, str) else list(i.train)  # the digits' set, or CIFAR-10's five batches
settings = FinetuneSettings.from_mapping(p.finetune, snakemake.wildcards.mode)
world = min(visible_gpus(), max(1, int(snakemake.resources.get("gpu", 1))))
every = snakemake.config["addt"]["finetune"].get("checkpoint_every")  # read here: how often never changes a result
epoch = math.ceil(count_training_images(train) / settings.batch_size)
every = epoch if every is None else int(every)  # default: a state saved every epoch
settings_read = {"mode": snakemake.wildcards.mode, "finetune": p.finetune, "processes": world}
identity = job_identity(settings_read, [i.ddpm, i.classifier, *train])
checkpoints = StepCheckpoints(p.partial, identity, every)
launch(world, finetune_files, i.ddpm, i.classifier, train, settings, snakemake.output[0], checkpoints)
checkpoints.clear()
