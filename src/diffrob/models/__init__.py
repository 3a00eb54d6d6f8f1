"""Classifiers and diffusion models: trained here (the embedded default), or downloaded from their sources
(RobustBench, the Hugging Face hub, guided diffusion) with pinned, checked files; and the rehearsal's random-weight
stand-ins of those sources."""
