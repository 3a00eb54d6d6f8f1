"""From typed records to the paper (no torch): its labels, targets and claims, results.csv, the tables, figures,
captions and report."""
