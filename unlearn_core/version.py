"""The package's version, in a leaf module so that any stage can record it without a cycle."""

__version__ = "0.1.0"

# The verdict's judging rules, recorded with every result so that ``verify`` tells a report
# judged under earlier rules from an edited one: 1 (no record) the rules up to 2026-12-01;
# 2 halfway power (a check rules a forgery family out only when the original lies a band
# half-width beyond its band; the levels follow it); 3 a check without power no longer fails a
# model on the less-forgotten side (``checks.judge``), so statuses judged under 1 or 2 can differ;
# 4 an exact proof decides (``checks.verdict.fold``): a model whose outputs equal, bit for bit,
# its own method's run from scratch without the data passes, whatever a band drawn by that
# method's runs with other seeds says of one of its figures.
JUDGE_RULES = 4
