"""The cnkg ontology (Turtle): the TBox, the SKOS schemes and the SHACL shapes, shipped as package data."""
