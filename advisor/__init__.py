"""openlora.advisor: the local llama.cpp model (constrained JSON answers) shared by the supervisor, synthesis and the chat front."""
