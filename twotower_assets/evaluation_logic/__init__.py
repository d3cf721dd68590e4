"""Evaluation logic without Dagster: challenge metrics, baselines, two-tower continuation.

`evaluate` runs every model on the same held-out inputs; `report.format_comparison` prints the
table the main job shows at its end.
"""
