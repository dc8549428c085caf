"""lamina benchmarks: each workload beside its peers, as ratios measured in the same run."""
