"""Views computed from an audit's models, as plain data for the app and the report: contrast of two
models, the "look inside" views, prediction matrices, forget-set difficulty, relevance maps, the
embedding map and which checks each forgery fools."""
