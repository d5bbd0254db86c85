"""openlora.advisor: the local llama.cpp model (constrained JSON) for the supervisor, synthesis and chat."""
