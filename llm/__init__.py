"""openlora.llm: the local llama.cpp client (constrained JSON answers) shared by the supervisor, synthesis and the chat front."""
