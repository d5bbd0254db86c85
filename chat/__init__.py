"""openlora.chat: the chat front of the TUI (request → intent → goal draft; questions answered from the registry)."""
