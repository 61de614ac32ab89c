"""Plotly figures drawn from plain result data, shared by the dashboard and the HTML/PDF report:
``audit`` (accuracy, membership, relevance), ``contrast``, ``inside`` and ``verdict``."""
