"""Shared by the Python scripts of tests/reliability/: the same contract as lib.sh.

scale(quick, full) picks by TG_RELIABILITY_SCALE; figure(text) prints one
result line for doc/reliability.md. Exit 0 = held, 1 = did not, 77 = skipped.
"""
import os


def scale(quick, full):
    return quick if os.environ.get("TG_RELIABILITY_SCALE", "full") == "quick" else full


def figure(text):
    print("figure: " + text, flush=True)
