"""PHI label sets and the surrogate category of each PHI label.

The default PHI labels are the i2b2/UTHealth 2014 de-identification categories
(Stubbs & Uzuner 2015): the seven top-level categories and their subtypes, so a
pipeline whose NER predicts either level works without configuration.
"""

from typing import Dict, List, Optional

# Surrogate categories: how a PHI string of a label is replaced.
NAME = "name"
DATE = "date"
AGE = "age"
ID = "id"
PHONE = "phone"
EMAIL = "email"
URL = "url"
IP = "ip"
STREET = "street"
CITY = "city"
STATE = "state"
COUNTRY = "country"
ZIP = "zip"
FACILITY = "facility"
ORGANIZATION = "organization"
DEPARTMENT = "department"
PROFESSION = "profession"
USERNAME = "username"
LOCATION = "location"

# i2b2 2014 label -> surrogate category. Top-level categories first, then subtypes.
I2B2_2014_PHI: Dict[str, str] = {
    # NAME
    "NAME": NAME,
    "PATIENT": NAME,
    "DOCTOR": NAME,
    "USERNAME": USERNAME,
    # PROFESSION
    "PROFESSION": PROFESSION,
    # LOCATION
    "LOCATION": LOCATION,
    "ROOM": ID,
    "DEPARTMENT": DEPARTMENT,
    "HOSPITAL": FACILITY,
    "ORGANIZATION": ORGANIZATION,
    "STREET": STREET,
    "CITY": CITY,
    "STATE": STATE,
    "COUNTRY": COUNTRY,
    "ZIP": ZIP,
    "LOCATION-OTHER": LOCATION,
    # AGE
    "AGE": AGE,
    # DATE
    "DATE": DATE,
    # CONTACT
    "CONTACT": PHONE,
    "PHONE": PHONE,
    "FAX": PHONE,
    "EMAIL": EMAIL,
    "URL": URL,
    "IPADDR": IP,
    # ID
    "ID": ID,
    "SSN": ID,
    "MEDICALRECORD": ID,
    "HEALTHPLAN": ID,
    "ACCOUNT": ID,
    "LICENSE": ID,
    "VEHICLE": ID,
    "DEVICE": ID,
    "BIOID": ID,
    "IDNUM": ID,
}

# Labels of general-purpose NER models (spaCy's OntoNotes pipelines, Presidio)
# that name identifiers, so a pipe placed after `en_core_web_sm` does not keep
# a PERSON verbatim as if it were clinical content.
GENERAL_PHI: Dict[str, str] = {
    "PERSON": NAME,
    "PER": NAME,
    "GPE": CITY,
    "LOC": LOCATION,
    "FAC": FACILITY,
    "ORG": ORGANIZATION,
}

PHI_CATEGORIES: Dict[str, str] = {**I2B2_2014_PHI, **GENERAL_PHI}
DEFAULT_PHI_LABELS: List[str] = list(PHI_CATEGORIES)


def surrogate_category(label: str, overrides: Optional[Dict[str, str]] = None) -> str:
    """Return the surrogate category used to replace a PHI string of `label`.

    label (str): The entity label, e.g. "PATIENT" or "MEDICALRECORD".
    overrides (Optional[Dict[str, str]]): Extra label -> category entries that
        take precedence over the i2b2 table (for custom label schemes).
    RETURNS (str): One of the category constants of this module. Unknown PHI
        labels fall back to format-preserving ID replacement, which never keeps
        a character class the original did not have.
    """
    if overrides and label in overrides:
        return overrides[label]
    return PHI_CATEGORIES.get(label.upper(), ID)


def validate_categories(mapping: Dict[str, str]) -> None:
    """Raise ValueError if `mapping` names a category this package cannot produce."""
    known = set(PHI_CATEGORIES.values())
    bad = {label: cat for label, cat in mapping.items() if cat not in known}
    if bad:
        raise ValueError(f"Unknown surrogate categories {bad}; choose from {sorted(known)}.")
