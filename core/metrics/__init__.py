"""What a module needs to declare a tenant KPI: the metric's spec, its facts, and period arithmetic.

The metrics plugin computes, lists and charts them; modules only describe them (see docs/metrics.md).
"""
