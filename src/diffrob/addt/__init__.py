"""ADDT (the second paper): fine-tuning the diffusion model, its resumable state, data-parallel training, and its
evaluation summarised as records."""
