"""openlora.packs: the domain packs that ship with OpenLoRA (siem, code, verse, docs).

What it is for: holding the built-in packs, each a subpackage whose ``PACK`` is registered under the
``openlora.packs`` entry-point group in pyproject.toml, exactly as a third-party pack registers its own.
What it is not for: the pack interface or discovery (``openlora.synthesis.packs``); nothing in the
core imports these packages directly.
"""
