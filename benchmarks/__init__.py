"""Benchmarks: synthetic topologies at several sizes, and a runner that reports the numbers.

Run from the repository root: ``python -m benchmarks`` (``--help`` for sizes and output).
"""
