"""The metrics page: how often things break, how fast the team answers, whether promises are kept.

Each chart is one database query (selectors/), drawn server-side as SVG (svg.py) with a text table
and a CSV download of the same figures (charts.py). Nothing here writes.
"""
