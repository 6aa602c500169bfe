"""One check of a source: fetch, extract, compare, store, alert (`pipeline`)."""
