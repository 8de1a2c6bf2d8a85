"""The metrics role's exporter (roles/metrics/files/mailstack-metrics-exporter) loaded as a module for tests."""

import importlib.machinery
import importlib.util
import os
import re

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXPORTER = os.path.join(REPO_ROOT, 'roles', 'metrics', 'files', 'mailstack-metrics-exporter')


def load_exporter():
    """The exporter script as a module (it has no .py name: it is installed as a program)."""
    loader = importlib.machinery.SourceFileLoader('mailstack_metrics_exporter', EXPORTER)
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(loader.name, loader))
    loader.exec_module(module)
    return module


# One sample of the Prometheus text format: name, optional {labels}, value.
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?')
UNESCAPE = {'\\\\': '\\', '\\"': '"', '\\n': '\n'}


def parse_exposition(text):
    """{(metric name, ((label, value), ...) sorted): value} of a Prometheus text exposition."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith('#'):
            continue
        match = SAMPLE.match(line)
        if not match:
            raise ValueError('not a sample line: %r' % line)
        name, labels, value = match.groups()
        pairs = tuple(sorted((label, re.sub(r'\\[\\"n]', lambda m: UNESCAPE[m.group(0)], raw))
                             for label, raw in LABEL.findall(labels or '')))
        samples[(name, pairs)] = float(value)
    return samples


def series(name, **labels):
    """The key of one series in parse_exposition's result."""
    return (name, tuple(sorted(labels.items())))


# The metrics role's endpoint, as a Prometheus on the host itself scrapes it.
ENDPOINT = 'http://127.0.0.1:9154/metrics'
SCRAPE = ("python3 -c 'import sys, urllib.request; "
          "sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())' %s")


def scrape(host, url=ENDPOINT):
    """The exposition text of the metrics endpoint, fetched inside the testinfra `host`."""
    return host.check_output(SCRAPE % url)


def by_label(host, name, label):
    """{value of `label`: sample} of the metric `name`, scraped inside `host`."""
    return {dict(key[1])[label]: value for key, value in parse_exposition(scrape(host)).items() if key[0] == name}
