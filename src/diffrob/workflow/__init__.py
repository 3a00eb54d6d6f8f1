"""What a configuration implies before anything runs (no torch at import): its checks, the experiment design, each
job's parameters and resources, the projected bill; and the benchmarks and memory probes behind it."""
