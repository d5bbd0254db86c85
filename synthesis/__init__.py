"""openlora.synthesis: turning raw material and a few examples into training pairs, with a quality gate."""
