"""Vendor-format fake systems for the demo, the tests and the benchmarks.

Written from the vendors' documentation independently of app.sources: the simulator
shares no payload builder, parser or field map with the connectors, so a misreading of a
vendor format shows up as a failing test instead of being baked into both sides.
"""
