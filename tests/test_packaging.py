"""What a release carries besides code: the licence, and one version shared by the package and the ontology."""
from __future__ import annotations

import tomllib
from pathlib import Path

from rdflib import DCTERMS, OWL, URIRef

import cnkg
from cnkg.namespaces import ONTOLOGY_IRI
from cnkg.vocabulary import read_ontology

ROOT = Path(__file__).resolve().parents[1]


def test_the_licence_text_is_apache_2_0_and_declared_as_a_licence_file():
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text and "END OF TERMS AND CONDITIONS" in text
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "Apache-2.0"
    assert set(project["license-files"]) >= {"LICENSE", "NOTICE"}  # what puts them into the wheel's dist-info


def test_the_ontology_header_states_licence_creator_and_the_package_version():
    ontology = read_ontology()
    assert ontology.value(ONTOLOGY_IRI, OWL.versionInfo).toPython() == cnkg.__version__
    assert ontology.value(ONTOLOGY_IRI, OWL.versionIRI) == URIRef(f"{ONTOLOGY_IRI}/{cnkg.__version__}")
    assert ontology.value(ONTOLOGY_IRI, DCTERMS.license) == URIRef("https://www.apache.org/licenses/LICENSE-2.0")
    assert ontology.value(ONTOLOGY_IRI, DCTERMS.creator) is not None
