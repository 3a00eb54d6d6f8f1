"""Statistics of measured numbers (no torch): the sigmoid fit of Sec. 5, intervals, paired tests and N-evaluation
votes."""
