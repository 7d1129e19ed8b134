"""The modules of bench/run, one per concern; bench/README.md ("Layout")
says which does what."""
