"""openlora.synthesis.packs: the domain-pack interface, discovery of installed packs, and running them.

What it is for: the small versioned interface a pack implements (``interface``), finding the packs
installed under the ``openlora.packs`` entry-point group and setting aside broken ones (``registry``),
and running a pack's importer into a JSONL file with a report (``running``).
What it is not for: any pack's own code — the built-in packs live in ``openlora.packs`` and are
discovered through their entry points exactly like a third-party pack.
"""
