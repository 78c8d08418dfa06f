#!/usr/bin/python3
# prom-parse.py: parse a Prometheus text exposition (stdin) with the
# prometheus_client library's parser (Debian: python3-prometheus-client),
# a second, independent parser beside promtool.  Exit 0 and print the
# family and sample counts when it parses; exit 1 with the parser's error
# otherwise; 77 when the library is missing.
import sys

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    print("prom-parse: python3-prometheus-client is not installed", file=sys.stderr)
    sys.exit(77)

text = sys.stdin.read()
try:
    families = list(text_string_to_metric_families(text))
except Exception as e:             # the parser raises ValueError and others
    print(f"prom-parse: rejected: {e!r}", file=sys.stderr)
    sys.exit(1)
samples = sum(len(f.samples) for f in families)
if not families or not samples:
    print("prom-parse: no metric families", file=sys.stderr)
    sys.exit(1)
print(f"{len(families)} families, {samples} samples")
