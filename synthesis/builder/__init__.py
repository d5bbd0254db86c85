"""openlora.synthesis.builder: the offline dataset builder — a folder of documents to grounded pairs.

What it is for: ``build-dataset`` and the ``docs`` pack. The stages, one module each: ``documents``
(Markdown and plain text, with encoding fallback), ``html_reader`` and ``pdf_reader`` (parse into
sections with their heading path), ``chunking`` (token-sized chunks with overlap), ``graph`` (entities,
relations and chunk links, deterministic), ``questions`` (question/answer templates over the graph),
``model_assist`` (the optional advisor model: rephrasing and summaries), ``filters`` (grounding,
near-duplicates, leakage) and ``pipeline`` (the public entry points :func:`pipeline.build_dataset` and
:func:`pipeline.documents_to_records`).
What it is not for: training, or reading datasets that are already pairs (``openlora.trainer``).
"""
