"""The metrics role's exporter (roles/metrics/files/mailstack-metrics-exporter) loaded as a module for tests."""

import importlib.machinery
import importlib.util
import os

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXPORTER = os.path.join(REPO_ROOT, 'roles', 'metrics', 'files', 'mailstack-metrics-exporter')


def load_exporter():
    """The exporter script as a module (it has no .py name: it is installed as a program)."""
    loader = importlib.machinery.SourceFileLoader('mailstack_metrics_exporter', EXPORTER)
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(loader.name, loader))
    loader.exec_module(module)
    return module
