"""BrokenLoRA: broken LoRA runs with known faults, and how well each strategy rescues them.

``python -m bench.brokenlora [--quick]``; see ``__main__`` for the options and the README for results.
"""
