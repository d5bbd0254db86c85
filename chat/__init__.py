"""openlora.chat: the TUI's chat front (request → intent → goal draft; answers from the registry)."""
