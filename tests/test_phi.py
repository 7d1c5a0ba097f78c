"""PHI detection: each identifier shape (positives and tricky negatives), synth_phi precedence,
the residual-PHI check, and the PHI scorer against a hand-computed fixture."""

import pytest
import spacy
import srsly
from conftest import make_doc
from typer.testing import CliRunner

from spacy_synthnotes.cli import app
from spacy_synthnotes.phi import find_identifiers, find_listed_names, find_names, find_shapes
from spacy_synthnotes.phi.evaluate import PRESIDIO_SKIP_WORDS, PhiScorer, is_hipaa


def shapes(text):
    return [(text[m.start : m.end], m.label) for m in find_shapes(text)]


@pytest.mark.parametrize(
    "text,expected",
    [
        ("seen on 3/14/2021.", ("3/14/2021", "DATE")),
        ("seen on 03/14/21 at noon", ("03/14/21", "DATE")),
        ("CT 2021-03-14 showed", ("2021-03-14", "DATE")),
        ("admitted 14-MAR-2021.", ("14-MAR-2021", "DATE")),
        ("on March 14, 2021 he", ("March 14, 2021", "DATE")),
        ("f/u Mar 14th", ("Mar 14th", "DATE")),
        ("returns on 3/14 for labs", ("3/14", "DATE")),
        ("seen on the 14th", ("the 14th", "DATE")),
        ("since March 2021", ("March 2021", "DATE")),
        ("14 March 2021", ("14 March 2021", "DATE")),
        ("diagnosed in 2019 with", ("2019", "DATE")),
        ("Call (617) 555-0192 today", ("(617) 555-0192", "PHONE")),
        ("Call 617.555.0192", ("617.555.0192", "PHONE")),
        ("pager 4-5566 or pager 5566", ("5566", "PHONE")),
        ("Fax: 617-555-0100", ("617-555-0100", "FAX")),
        ("mail jsmith@mgh.org now", ("jsmith@mgh.org", "EMAIL")),
        ("see https://portal.mgh.org/pt?id=3.", ("https://portal.mgh.org/pt?id=3", "URL")),
        ("host 10.12.0.254 down", ("10.12.0.254", "IPADDR")),
        ("SSN 123-45-6789", ("123-45-6789", "SSN")),
        ("MRN: 00482913", ("00482913", "MEDICALRECORD")),
        ("Acct # 55-1234-99", ("55-1234-99", "ACCOUNT")),
        ("Accession #: RA4061358", ("RA4061358", "IDNUM")),
        ("lives at 12 Main Street, Apt 4B", ("12 Main Street, Apt 4B", "STREET")),
        ("Boston, MA 02114", ("02114", "ZIP")),
        ("a 92-year-old man", ("92", "AGE")),
        ("a 45 y/o woman", ("45", "AGE")),
        ("aged 101", ("101", "AGE")),
        ("Signed: jdoe42 at", ("jdoe42", "USERNAME")),
        ("Date: 1978-04-13 12:20:39\nName", ("1978-04-13 12:20:39", "DATE")),
        ("seen 3/14/2021 2:30 PM today", ("3/14/2021 2:30 PM", "DATE")),
        (
            "address 6e40:4041:c617:e898:c11:40d2:c669:2eb4 blocked",
            ("6e40:4041:c617:e898:c11:40d2:c669:2eb4", "IPADDR"),
        ),
        ("Desk: +41 (0)96 471 07 95\nFax", ("+41 (0)96 471 07 95", "PHONE")),
        ("call +447700 921 916", ("+447700 921 916", "PHONE")),
        ("Mobile: 03.93.92.16.85", ("03.93.92.16.85", "PHONE")),
        ("Phone:\n0487 98 11 92\n", ("0487 98 11 92", "PHONE")),
        ("My IBAN is GB10LORI20288482594042", ("GB10LORI20288482594042", "ACCOUNT")),
        ("IBAN DE89 3704 0044 0532 0130 00.", ("DE89 3704 0044 0532 0130 00", "ACCOUNT")),
        ("my zip code is 610", ("610", "ZIP")),
        ("postal code B0J 2H0", ("B0J 2H0", "ZIP")),
        ("retired at the age of 45", ("45", "AGE")),
        ("A 75\u2013year\u2013old female", ("75", "AGE")),
        ("A 33 - year old woman", ("33", "AGE")),
        ("began at 13 months of age", ("13", "AGE")),
        ("a 6-week-old infant", ("6", "AGE")),
        ("My brother just turned 35.", ("35", "AGE")),
        ("lives in Apt. 117 with her son", ("Apt. 117", "STREET")),
        ("PSC 3294, Box 9168\nAPO AA 61487", ("PSC 3294, Box 9168", "STREET")),
        ("Unit 7349 Box 6067\nDPO AE 99081.", ("Unit 7349 Box 6067", "STREET")),
        ("Unit 7349 Box 6067\nDPO AE 99081.", ("DPO AE", "CITY")),
        ("Unit 7349 Box 6067\nDPO AE 99081.", ("99081", "ZIP")),
        ("sent to uscgc aslakhanov\nfpo ae 44941?", ("uscgc aslakhanov", "STREET")),
        ("sent to uscgc aslakhanov\nfpo ae 44941?", ("44941", "ZIP")),
        ("Mail: P.O. Box 255, Nuuk", ("P.O. Box 255", "STREET")),
        ("9791 Markt 84 Apt. 597 MÜLLNERN", ("9791 Markt 84", "STREET")),
        ("75956 Rákóczi út 66. Apt. 268, Beder", ("75956 Rákóczi út 66.", "STREET")),
        ("07960 Aqqusinersuaq 111\n Suite 201\n Sisimiut", ("07960 Aqqusinersuaq 111", "STREET")),
        ("lives at 86036 Rua do Arenque 1634, Goiânia", ("86036 Rua do Arenque 1634", "STREET")),
        ("Address: 5533 119 Countess Close\n", ("119 Countess Close", "STREET")),
        ("send it to 18 McPherson Road today", ("18 McPherson Road", "STREET")),
        ("The bus station is on Villacher Strasse 89", ("Villacher Strasse 89", "STREET")),
        ("Address: Király u. 15, Lyss", ("Király u. 15", "STREET")),
        ("Lina Artemova\n2224 Trenerys gate 232\n", ("Trenerys gate 232", "STREET")),
        ("Lives at Hauptstraße 5, 10115 Berlin", ("Hauptstraße 5", "STREET")),
        ("moved to Koskikatu 25 in Tampere", ("Koskikatu 25", "STREET")),
        ("Address: Via Roma 10, Milano", ("Via Roma 10", "STREET")),
        ("the corner of ul. Grochowa 80 and", ("ul. Grochowa 80", "STREET")),
        ("daughter lives at 33 avenue de Provence", ("33 avenue de Provence", "STREET")),
        ("In June, the patient received", ("June", "DATE")),
        ("stable until mid-October when", ("October", "DATE")),
        ("died at the end of May, 4 months", ("May", "DATE")),
        ("flew to Phoenix on Tuesday morning", ("Tuesday", "DATE")),
        ("has not eaten since monday", ("monday", "DATE")),
        ("Hungary 34796\n(37) 788-063-Office\\,07700 063 966-Fax", ("(37) 788-063", "PHONE")),
        ("Hungary 34796\n(37) 788-063-Office\\,07700 063 966-Fax", ("07700 063 966", "FAX")),
        ("APO AA 61487\n416 60 039 office\n", ("416 60 039", "PHONE")),
        ("ZIP: 394 13", ("394 13", "ZIP")),
        ("recurrences between 2011 and 2013", ("2011", "DATE")),
        ("a 19\u2005months old girl", ("19", "AGE")),
        ("3565 Πλατεία Συντάγματος 204\n Suite 279", ("3565 Πλατεία Συντάγματος 204", "STREET")),
    ],
)
def test_identifier_shapes_are_found(text, expected):
    assert expected in shapes(text)


@pytest.mark.parametrize(
    "text",
    [
        "Norco 5/325 mg PO q6h PRN",
        "BP 120/80, HR 72",
        "BP 146/98 RR 24 SpO2 97%",
        "GCS 15, pain 2/10, strength 4/5 in RLE",
        "rates pain 7/10",
        "fluticasone-salmeterol 250/50 mcg inhaled BID",
        "ABG 7.31/58/72 on 2L",
        "WBC 12.3 K/uL, Hgb 9.8, Plt 250000/uL",
        "NT-proBNP of 1919 pg/mL",
        "heparin 5000 units SQ q8h",
        "LVEF 30-35%, V4-V6 T wave inversions",
        "2/2 sets of blood cultures positive",
        "EF 55% on echo, 1.5 cm nodule",
        "Jane Doe, MD",
        "+2 pitting edema, reflexes +3 bilaterally, 1+ pulses",
        "Cell: 12.5 K/uL; office: 2nd floor",
        "turned 2 times overnight, q12h at 12:30",
        "Via Foley 16 Fr catheter; Brigade 5 medics; Monitoring 24 hours; Tie 2 sutures",
        "HLA-B27 positive, BRCA1 c.68_69delAG",
        "aPTT 35.2 s, INR 1.1, ab12 abcd efgh ijkl mnop",
        "transferred to Unit 4B, Bed 12, Room 3104",
        "Tylenol 2 tabs PO q6h, 2 Percocet 5 mg PO BID, Box 3 of 4 reviewed",
        "seen on USS Lincoln deployment; Unit 12 box 3",
        "dialysis on Mondays and Thursdays; BP 120/80 taken 2 times in the office",
        "WBC 12.3 K/uL, 4 mg IV at home",
    ],
)
def test_clinical_numbers_are_not_identifiers(text):
    assert [s for s in shapes(text) if s[1] != "AGE"] == []


@pytest.mark.parametrize(
    "text,expected",
    [
        ("Mr. John Smith was seen", ("John Smith", "PATIENT")),
        ("discussed with Dr. Wong today", ("Wong", "DOCTOR")),
        ("Electronically signed by Kathleen Gray on", ("Kathleen Gray", "DOCTOR")),
        ("Shannon Diaz, RN", ("Shannon Diaz", "DOCTOR")),
        ("Patient: Young, David\nMRN", ("Young, David", "PATIENT")),
        ("pt's daughter Mary called", ("Mary", "PATIENT")),
        ("transferred from Mercy General Hospital", ("Mercy General Hospital", "HOSPITAL")),
        ("Portal message: Hi, my name is Siiri Virtanen and", ("Siiri Virtanen", "PATIENT")),
        ("What is your last name? Magnusson", ("Magnusson", "PATIENT")),
        ("Voicemail: this is Ana Costa calling about refills", ("Ana Costa", "PATIENT")),
        ("Recent travel to Papua New Guinea, fever since", ("Papua New Guinea", "COUNTRY")),
        ("emigrated from the United States of America in", ("United States of America", "COUNTRY")),
        ("Mr. Łukasz Żółć was seen", ("Łukasz Żółć", "PATIENT")),  # letters with diacritics
        ("Pt prefers to be called Bill.", ("Bill", "PATIENT")),
        ("everyone calls me Antti", ("Antti", "PATIENT")),
        ("lives with her kid Lukas and", ("Lukas", "PATIENT")),
        ("Dear Ödön Kovács,\nYour appointment", ("Ödön Kovács", "PATIENT")),
        ("Kind regards,\nSzabina Gelencsér\n", ("Szabina Gelencsér", "PATIENT")),
        ("Social: Maria Costa lives at home with her son.", ("Maria Costa", "PATIENT")),
        ("Lóa F Sigmundsdóttir lives at 63 Rue de Kairouan", ("Lóa F Sigmundsdóttir", "PATIENT")),
        ("Verda lives on 33 avenue de Provence street.", ("Verda", "PATIENT")),
        ("Mr. Ravil G Yefimov was seen", ("Ravil G Yefimov", "PATIENT")),  # an initial without its stop
        ("seen by Dr. Dyan van Gijn today", ("Dyan van Gijn", "DOCTOR")),  # a name particle
        ("Mrs. Barbara Yudina Apt. 675 62314 Mellemvej 32", ("Barbara Yudina", "PATIENT")),  # not "Apt"
    ],
)
def test_name_heuristics(text, expected):
    assert expected in [(text[m.start : m.end], m.label) for m in find_names(text)]


@pytest.mark.parametrize(
    "text",
    [
        "Congo red stain positive for amyloid; Malta fever and Guinea worm ruled out.",
        "This is Lasix 40 mg daily. My name is not known to staff.",
        "Chad Smith presented; lives in Georgia, moved from New Jersey.",
    ],
)
def test_diseases_stains_states_and_names_are_not_countries(text):
    assert [m for m in find_names(text) if m.label == "COUNTRY"] == []
    assert [m for m in find_names(text) if m.rule in ("introduction", "calling")] == []


def test_durations_are_not_ages():
    assert shapes("symptoms for 3 months, a 2 week course, 4 years of smoking, day 5 of 7") == []


def test_month_names_need_date_context():
    assert shapes("You may take it; Dr. June Smith saw her after August Jones left.") == []


@pytest.mark.parametrize(
    "text",
    [
        "Dear Sir,\nThank you for the referral.",
        "Hi Team!\nPlease see below.",
        "Best regards,\nThe Cardiology Team",
        "Thanks,\nPatient Services",
        "Dear Anna Smith, thank you",  # a greeting only when the name ends its line
        "called EMS and was named in the report",
        "We moved here from Norway. Patient lives alone; Daughter lives nearby. She lives with You.",
        "Foley stays in place. Drain stays in.",
    ],
)
def test_greetings_and_sign_offs_without_a_person(text):
    assert [m.label for m in find_names(text) if m.label == "PATIENT"] == []


def test_name_heuristics_do_not_cross_lines_or_take_headings():
    text = "Attending: Dr. Sara Perez\n\nChief Complaint:\nFoley catheter placed. The Patient is stable."
    assert [text[m.start : m.end] for m in find_identifiers(text)] == ["Sara Perez"]


def test_a_name_particle_needs_a_name_after_it():
    text = "Mr. Smith de novo. Dr. Jones da capo."
    assert [text[m.start : m.end] for m in find_names(text)] == ["Smith", "Jones"]


@pytest.mark.parametrize(
    "text,expected",
    [
        ("Have you heard Petr Kloz speak yet?", ["Petr Kloz"]),
        ("Patient Jane Smith was seen.", ["Jane Smith"]),  # "Patient" is not a name
        ("Mary Ann Smith called the clinic", ["Mary Ann Smith"]),
        ("Anna Wilson's daughter visited", ["Anna Wilson"]),  # a possessive
        ("Sean O'Brien came in; Julieta S Almeida signed", ["Sean O'Brien", "Julieta S Almeida"]),
        ("tennis player Hülya Bouwmeester over visa", ["Hülya Bouwmeester"]),
        # A given name alone where the context makes it a person: a subject, a speaker, a greeting.
        ("Seen today. Maria reports chest pain; Enrico said no.", ["Maria", "Enrico"]),
        ("Signed: Dr. Smith\nOtakar was seen", ["Otakar"]),  # a subject at the start of a line
        ("Nurse: call back?\nElla: What a relief.", ["Ella"]),
        ("Hi Freddy, I'm writing about my refill", ["Freddy"]),
        ("a block on my card? my name is lena andersson.", ["lena andersson"]),
        ("hello, my name is kati and", ["kati"]),
        # ...and not: after a code or a name word, places and months, headings, words that are no name.
        ("Patients with G6PD Wayne underwent splenectomy; France was the origin; June was warm.", []),
        ("Plan: Dana seen today.\nHi There, Dear Team, my name is not known; my name is on it.", []),
        # Eponyms, particles, given names that are English words, a given name alone, facilities.
        ("History of Charcot Marie Tooth disease and Anna Wilson's disease.", []),
        ("Von Hippel Lindau syndrome; Babinski sign absent; Rose Bengal stain.", []),
        ("Max Dose 40 mg. Iris Nevus noted. Ray Count normal. Will Follow up.", []),
        ("Wilson disease in June; Jude Medical valve; Dana seen today.", []),
        ("Jane M. was seen", []),  # an initial is not a second name
    ],
)
def test_listed_names(text, expected):
    assert [(text[m.start : m.end], m.label) for m in find_listed_names(text)] == [
        (name, "PATIENT") for name in expected
    ]


def test_listed_full_names_outrank_clinical_entities_given_names_alone_do_not():
    # An eponym is not a listed name, whatever word follows the given name.
    text = "Seen with Petr Kloz today; Addison Crisis ruled out. Ludwig angina? Wilson's disease."
    assert phi_ents(text) == [("Petr Kloz", "PATIENT")]
    # A PHI entity inside a listed name widens to it; a clinical entity stays where no name holds it.
    assert phi_ents(text, [("Kloz", "PATIENT"), ("Addison Crisis", "PROBLEM")]) == [
        ("Petr Kloz", "PATIENT"),
        ("Addison Crisis", "PROBLEM"),
    ]
    # A full name the NER took for a drug or a problem is a name ...
    text = "Jarmila Fiedlerová\n\nSeen for a huge Joseph Tolbert fan club."
    ents = [("Jarmila Fiedlerová", "DRUG"), ("huge Joseph Tolbert", "PROBLEM")]
    assert phi_ents(text, ents) == [("Jarmila Fiedlerová", "PATIENT"), ("Joseph Tolbert", "PATIENT")]
    # ... a given name alone is not.
    assert phi_ents("Addison reports fatigue.") == [("Addison", "PATIENT")]
    assert phi_ents("Addison reports fatigue.", [("Addison", "PROBLEM")]) == [("Addison", "PROBLEM")]
    nlp = spacy.blank("en")
    nlp.add_pipe("synth_phi", config={"name_list": False})
    assert [e.text for e in nlp(text).ents] == []


def test_synth_phi_merges_rules_and_ner_with_precedence():
    nlp = spacy.blank("en")
    doc = make_doc(
        nlp,
        "Mr. John Smith seen 3/14/2021 for chest pain by Dr. Wong.",
        [("John", "PATIENT"), ("3/14/2021 for", "PROBLEM"), ("chest pain", "PROBLEM"), ("Wong", "PATIENT")],
    )
    nlp.add_pipe("synth_phi")
    doc = nlp(doc)
    assert [(e.text, e.label_) for e in doc.ents] == [
        ("John Smith", "PATIENT"),  # a name heuristic's span around the NER's PHI span: the whole name
        ("3/14/2021", "DATE"),  # a shape beats an overlapping clinical entity
        ("chest pain", "PROBLEM"),
        ("Wong", "PATIENT"),  # NER PHI beats the "Dr." heuristic's label
    ]
    rules_only = spacy.blank("en")
    rules_only.add_pipe("synth_phi", config={"names": False})
    assert [e.label_ for e in rules_only("Mr. Smith seen 3/14/2021.").ents] == ["DATE"]


def phi_ents(text, ner_spans=()):
    """synth_phi's entities on `text`, after an "NER" that marked `ner_spans` ((substring, label))."""
    nlp = spacy.blank("en")
    doc = make_doc(nlp, text, list(ner_spans))
    nlp.add_pipe("synth_phi")
    return [(e.text, e.label_) for e in nlp(doc).ents]


def test_address_block_lines_below_a_street_are_locations():
    text = "Please send it to:\n28 Tungata 11\n Apt. 322\n HÖFN\n Iceland 72399\n\nHope you are well."
    assert phi_ents(text, [("Tungata 11", "STREET")]) == [
        ("28 Tungata 11", "STREET"),  # a bare number just before a street joins it
        ("Apt. 322", "STREET"),  # the unit shape found it already
        ("HÖFN", "LOCATION"),
        ("Iceland", "COUNTRY"),
        ("72399", "ZIP"),
    ]
    # The name alone on the line above the street is the addressee.
    text = "Maureen Thibault\n\n41086 Kiannonkatu 98\nOULU\n\nDear Ms. Thibault,"
    assert phi_ents(text)[:3] == [
        ("Maureen Thibault", "PATIENT"),
        ("41086 Kiannonkatu 98", "STREET"),
        ("OULU", "LOCATION"),
    ]
    assert phi_ents("Home Address\n40 Elm Street")[0] == ("40 Elm Street", "STREET")
    # The block also continues after a town and postcode on the street's own line.
    text = "Address: 5 Koskikatu, 53650 Lappeenranta\nSAVONLINNA\nPhone: 040 123 4567"
    ents = phi_ents(text, [("5 Koskikatu", "STREET"), ("53650", "ZIP"), ("Lappeenranta", "CITY")])
    assert ("SAVONLINNA", "LOCATION") in ents
    # A name with a particle over the street; a number the NER took for a postcode is the house number.
    text = "Dyan van Gijn\n\n3536 1659 Hoog St\n Brakpan\n\nThanks."
    assert phi_ents(text, [("3536", "ZIP")])[:2] == [
        ("Dyan van Gijn", "PATIENT"),
        ("3536 1659 Hoog St", "STREET"),
    ]
    # A town after the street or unit on the street's own line, not a new sentence after it.
    assert [label for _, label in phi_ents("Lives at 40 Elm St. HTN, DM.")] == ["STREET"]
    text = "Meet me at 51709 Spinatsch 94 Apt. 615 Moosleerau Switzerland"
    assert phi_ents(text)[-2:] == [("Moosleerau", "LOCATION"), ("Switzerland", "COUNTRY")]
    assert ("SAINT-PRIEST", "LOCATION") in phi_ents("It is 31 rue de la Hulotais, Apt. 087 SAINT-PRIEST.")
    # A region code the NER took for a clinical abbreviation is the address's on an address line...
    text = "Send it to 05575 Feldstrasse 42\nSAVONLINNA\n, PA\n 31842\n\nThanks."
    ents = phi_ents(text, [("PA", "TEST")])
    assert ("PA", "LOCATION") in ents and ("31842", "ZIP") in ents and ("PA", "TEST") not in ents
    # ...but not in a line of clinical text, nor away from an address.
    assert ("CT", "TEST") in phi_ents("Lives at 40 Elm Street\nCT chest today", [("CT", "TEST")])
    assert phi_ents("Plan: PA and lateral chest film", [("PA", "TEST")]) == [("PA", "TEST")]


def test_units_post_office_boxes_numbered_towns_and_quoted_blocks_join_the_address():
    # A unit word ends a street's name, so the unit keeps its number.
    assert shapes("It is 9554 62 Rue Gafsa Apt. 981") == [("62 Rue Gafsa", "STREET"), ("Apt. 981", "STREET")]
    # A post-office box and the street after it are one.
    assert shapes("Meet me at P.O. Box 149 Monika Union Apt. 485") == [
        ("P.O. Box 149 Monika Union Apt. 485", "STREET")
    ]
    # A "town" of the NER after a house number that ends with a number is a street; the marks of a
    # quoted block do not end it.
    text = "??? Hafþór Smárason\n??? 4923 Parmova 109\n??? Suite 380\n??? Maribor\n??? Slovenia 2000"
    assert phi_ents(text, [("Parmova 109", "CITY")]) == [
        ("Hafþór Smárason", "PATIENT"),
        ("4923 Parmova 109", "STREET"),
        ("Suite 380", "STREET"),
        ("Maribor", "LOCATION"),
        ("Slovenia", "COUNTRY"),
        ("2000", "ZIP"),
    ]
    assert ("Parmova 109", "CITY") in phi_ents("Lives in Parmova 109 now", [("Parmova 109", "CITY")])
    # Capitalized words after "at", "to", "in"... and before a house number start the street.
    assert phi_ents("I'll meet you at Tungata 11 Rott Crossroad after the concert.") == [
        ("Tungata 11 Rott Crossroad", "STREET")
    ]
    assert [e for e, _ in phi_ents("Saw The Jones 12 Oak St. Then Mrs Lee 40 Elm St.")] == [
        "12 Oak St.",
        "Lee",
        "40 Elm St.",
    ]
    # The whitespace at the edge of an NER entity is not part of it ("CO\n " is the region code "CO").
    text = "Address:     3421 Fagradalsbraut 71\nPisão\n, CO\n 46381"
    assert phi_ents(text, [("Fagradalsbraut 71", "CITY"), ("CO\n ", "TEST")]) == [
        ("3421 Fagradalsbraut 71", "STREET"),
        ("Pisão", "LOCATION"),
        ("CO", "LOCATION"),
        ("46381", "ZIP"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        # A sentence, a field and a heading in capitals are not address lines.
        "Lives at 40 Elm Street\nShe reports chest pain since Monday.",
        "Lives at 40 Elm Street\nPhone: 555-222-1111",
        "Lives at 40 Elm Street\nCough x 3 days",
        # A blank line ends the block; a street in mid-sentence has no block below it.
        "Lives at 40 Elm Street\n\nASSESSMENT",
        "Lives at 40 Elm Street with her son.\nHTN",
        # A number before a street that belongs to something else stays.
        "Moved 2 years ago to 40 Elm Street and lives alone",
        # Capitalized words after a street are a town only up to the end of the line or sentence.
        "Lives at 40 Elm Street, HTN: yes",
        "Address: 40 Elm Street Phone: 555-222-1111",
        "Lives at 40 Elm Street Chief Complaint: cough",
    ],
)
def test_address_blocks_stop_where_the_address_ends(text):
    ents = phi_ents(text)
    assert ents[0] == ("40 Elm Street", "STREET") and all(label != "LOCATION" for _, label in ents)


def test_the_streets_of_an_intersection_are_one_street():
    # After "corner of": one STREET from "the", whatever label the NER gave the second street, over a
    # few words or full stops it left out before "and".
    text = "Found at the corner of Elm Road and Oak Lane in Springfield."
    ner = [("Elm Road", "STREET"), ("Oak Lane", "STREET"), ("Springfield", "CITY")]
    assert phi_ents(text, ner) == [("the corner of Elm Road and Oak Lane", "STREET"), ("Springfield", "CITY")]
    text = "It's in the corner of 35 Pentelis Str. and Waechter Turnpike"
    ner = [("35 Pentelis", "STREET"), ("Waechter Turnpike", "CITY")]
    assert phi_ents(text, ner) == [("the corner of 35 Pentelis Str. and Waechter Turnpike", "STREET")]
    # The NER took "the corner of" into the first street, found part of the second or took it for a
    # drug: the second street runs to the end of the sentence, over capitalized words.
    text = "It is the corner of Bygget 64 and Komel Club. BP 120/80."
    ner = [("the corner of Bygget 64", "STREET"), ("Komel", "CITY")]
    assert phi_ents(text, ner)[0] == ("the corner of Bygget 64 and Komel Club", "STREET")
    text = "Sent to the corner of Alšova 408 and Vedzizhev Greens"
    ner = [("Alšova 408", "STREET"), ("Vedzizhev Greens", "DRUG")]
    assert phi_ents(text, ner) == [("the corner of Alšova 408 and Vedzizhev Greens", "STREET")]
    text = "Send a new one to the corner of Kuusiku 7 and Alexander Flat? I am away."
    ner = [("new one to the corner of Kuusiku 7", "STREET"), ("Alexander Flat", "CITY")]
    assert phi_ents(text, ner)[0] == ("new one to the corner of Kuusiku 7 and Alexander Flat", "STREET")
    # Without "corner of": two streets, the first without a house number.
    ner = [("Broadway", "STREET"), ("5th Ave", "STREET")]
    assert phi_ents("EMS found him at Broadway & 5th Ave.", ner) == [("Broadway & 5th Ave", "STREET")]


@pytest.mark.parametrize(
    "text,ner",
    [
        # Two addresses with house numbers stay two.
        ("Lives at 12 Elm St and 40 Oak Ave.", [("12 Elm St", "STREET"), ("40 Oak Ave", "STREET")]),
        # A street and a person, or a clinical entity, after "and" without "corner of".
        ("Lives on Elm Road and Maria visits daily.", [("Elm Road", "STREET"), ("Maria", "PATIENT")]),
        # After "corner of", still not over a clinical entity, a comma or a line break.
        ("the corner of Elm Road and HTN", [("Elm Road", "STREET"), ("HTN", "PROBLEM")]),
        ("the corner of Elm Road and then fell", [("Elm Road", "STREET")]),
        ("the corner of Elm Road, and Oak Lane", [("Elm Road", "STREET"), ("Oak Lane", "STREET")]),
        ("the corner of Elm Road\nand Oak Lane", [("Elm Road", "STREET"), ("Oak Lane", "STREET")]),
        # A lesion at the corner of the mouth is no street at all.
        ("Lesion at the corner of the mouth and lip.", []),
    ],
)
def test_streets_that_are_not_an_intersection_stay_apart(text, ner):
    assert all("and" not in ent_text.split() for ent_text, _ in phi_ents(text, ner))


def test_residual_check_cleans_phi_the_upstream_ner_missed():
    text = (
        "Pt John Smith seen 3/14/2021. Son Peter called from (617) 555-0192; MRN 1234567. Dr. Wong saw him."
    )
    nlp = spacy.blank("en")
    nlp.add_pipe("synth_notes", config={"seed": 1})
    doc = nlp(make_doc(nlp, text, [("John Smith", "PATIENT")]))
    synthetic = doc._.synthetic
    for original in ("John", "Smith", "3/14/2021", "Peter", "(617) 555-0192", "1234567", "Wong"):
        assert original not in synthetic.text
    assert doc._.synthetic_report["residual_phi"] == 5
    labels = [e.label_ for e in synthetic.ents]
    assert labels == ["PATIENT", "DATE", "PATIENT", "PHONE", "MEDICALRECORD", "DOCTOR"]
    names = [e.text for e in synthetic.ents if e.label_ in ("PATIENT", "DOCTOR")]
    assert len(set(names)) == 3  # residual surrogates avoid the surrogates already written

    dropping = spacy.blank("en")
    dropping.add_pipe("synth_notes", config={"residual_check": "drop"})
    dropped = dropping(make_doc(dropping, text, [("John Smith", "PATIENT")]))
    assert dropped._.synthetic is None and dropped._.synthetic_report["note_dropped"] == 1

    off = spacy.blank("en")
    off.add_pipe("synth_notes", config={"residual_check": "off"})
    assert "Wong" in off(make_doc(off, text, [("John Smith", "PATIENT")]))._.synthetic.text
    with pytest.raises(ValueError, match="residual_check must be one of"):
        spacy.blank("en").add_pipe("synth_notes", config={"residual_check": "maybe"})


def test_phi_strings_and_their_whole_word_occurrences_by_hand():
    from spacy_synthnotes.phi.strings import find_phi_strings, phi_strings

    text = "Ms. Lisa Jones, Dr. Wall. Chest wall pain. Seen by Al."
    phi = [(4, 14, "PATIENT"), (20, 24, "DOCTOR"), (51, 53, "DOCTOR")]
    strings = phi_strings(text, phi, [(4, 14), (20, 24), (26, 41), (51, 53)])
    # "wall" occurs outside the PHI only inside the entity "Chest wall pain": still a PHI string. "Al" is
    # shorter than 3 characters. Without that entity, "wall" is also plain text and not identifying.
    assert strings == {"lisa jones": ("PATIENT", "Lisa Jones"), "wall": ("DOCTOR", "Wall")}
    assert phi_strings(text, phi, [(4, 14), (20, 24), (51, 53)]) == {"lisa jones": ("PATIENT", "Lisa Jones")}
    written = "LISA JONES, walls; a wall. Lisa  Jones's"
    assert find_phi_strings(written, strings) == [(0, 10, "PATIENT"), (21, 25, "DOCTOR"), (27, 38, "PATIENT")]
    assert find_phi_strings(written, {}) == []


class FreeTextWriter:
    """Writes the source note's PHI words as plain text, as a causal LM writes common names."""

    def __init__(self, text: str):
        self.text = text

    def __call__(self, plans):
        from spacy_synthnotes.generators.base import Segment, Synthesis

        return [Synthesis([Segment(self.text)], {}) for _ in plans]


def test_residual_check_replaces_the_source_notes_own_phi_written_as_plain_text():
    from spacy_synthnotes.phi.residual import source_phi
    from spacy_synthnotes.pipe import SynthNotes

    source = "Ms. Jones seen by Dr. Smith. Chest wall pain. Wall motion normal."
    nlp = spacy.blank("en")
    doc = make_doc(nlp, source, [("Jones", "PATIENT"), ("Smith", "DOCTOR"), ("Chest wall pain", "PROBLEM")])
    written = "pirin jones \nSMITH note. wall motion; Jonesboro."
    pipe = SynthNotes(nlp, generator=FreeTextWriter(written), phi_labels=["PATIENT", "DOCTOR"], seed=2)
    synthetic = pipe(doc)._.synthetic
    words = synthetic.text.casefold().split()
    assert "jones" not in words and "smith" not in words and "jonesboro." in words
    assert "wall motion;" in synthetic.text  # the source writes "Wall motion" too: not its PHI there
    assert [e.label_ for e in synthetic.ents] == ["PATIENT", "DOCTOR"]
    assert pipe(doc)._.synthetic_report["residual_phi"] == 2
    # Consistent: the surrogate of plain "jones" is the note's surrogate for its patient Jones.
    plan = pipe.plan(doc)
    table = pipe._fallback_surrogates.surrogates_for(plan)
    assert synthetic.ents[0].text.casefold() == table.replace("jones", "PATIENT").casefold()
    assert set(source_phi(plan)) == {"jones", "smith"}
    dropping = SynthNotes(
        nlp, generator=FreeTextWriter(written), phi_labels=["PATIENT", "DOCTOR"], residual_check="drop"
    )
    assert dropping(doc)._.synthetic is None


def test_scorer_matches_a_hand_computed_example():
    nlp = spacy.blank("en")
    text = "John Smith seen 3/14/2021 by Dr. Wong at Mercy Hospital, age 92."
    gold = make_doc(
        nlp,
        text,
        [
            ("John Smith", "PATIENT"),
            ("3/14/2021", "DATE"),
            ("Wong", "DOCTOR"),
            ("Mercy Hospital", "HOSPITAL"),
            ("92", "AGE"),
        ],
    )
    # Predicted: "Smith" only (1 of 2 name tokens), the date exactly, "Dr. Wong" (over-long), nothing for
    # the hospital, the age exactly, and a false positive "seen".
    pred = make_doc(
        nlp,
        text,
        [
            ("Smith", "PATIENT"),
            ("seen", "DATE"),
            ("3/14/2021", "DATE"),
            ("Dr. Wong", "DOCTOR"),
            ("92", "AGE"),
        ],
    )
    scorer = PhiScorer(["PATIENT", "DATE", "DOCTOR", "HOSPITAL", "AGE"])
    scorer.add(gold, pred, "n1")
    scores = scorer.scores()
    # Gold tokens: John, Smith, 3/14/2021, Wong, Mercy, Hospital, 92 = 7; hit: Smith, 3/14/2021, Wong, 92 = 4.
    assert scores["all"]["token_recall"] == pytest.approx(4 / 7)
    # Predicted tokens: Smith, seen, 3/14/2021, Dr., Wong, 92 = 6; correct: Smith, 3/14/2021, Wong, 92 = 4.
    assert scores["all"]["token_precision"] == pytest.approx(4 / 6)
    # Entities: exact matches are the date and the age: 2 of 5 gold, 2 of 5 predicted.
    assert scores["all"]["entity_recall"] == pytest.approx(2 / 5)
    assert scores["all"]["entity_precision"] == pytest.approx(2 / 5)
    # Partial: John Smith (via Smith), the date, Wong, the age; not the hospital -> 4 of 5.
    assert scores["all"]["entity_recall_partial"] == pytest.approx(4 / 5)
    # HIPAA gold: John Smith, 3/14/2021, 92 (over 89): tokens John, Smith, 3/14/2021, 92 -> 3 of 4 hit.
    assert scores["hipaa"]["token_recall"] == pytest.approx(3 / 4)
    assert scores["per_label"]["HOSPITAL"]["token_recall"] == 0.0
    assert [m["text"] for m in scores["misses"]] == ["John Smith", "Mercy Hospital"]
    assert is_hipaa("AGE", "92") and not is_hipaa("AGE", "45") and not is_hipaa("DOCTOR", "Wong")


def test_scorer_counts_word_tokens_as_philter_does():
    """Punctuation inside a gold span is left out of the headline token figures, kept in *_all_tokens."""
    nlp = spacy.blank("en")
    text = "Lives at 12 Oak St., Apt 4 - Springfield."
    gold = make_doc(nlp, text, [("12 Oak St., Apt 4", "STREET")])
    pred = make_doc(nlp, text, [("12 Oak St.", "STREET"), ("-", "DATE")])
    scorer = PhiScorer(["STREET", "DATE"])
    scorer.add(gold, pred, "n1")
    scores = scorer.scores()["all"]
    # Gold words: 12, Oak, St., Apt, 4 (the comma is not a word); hit: 12, Oak, St.
    assert scores["token_recall"] == pytest.approx(3 / 5)
    assert scores["token_recall_all_tokens"] == pytest.approx(3 / 6)
    # Predicted words: 12, Oak, St., all correct; the dash is a wrong prediction but not a word.
    assert scores["token_precision"] == 1.0
    assert scores["token_precision_all_tokens"] == pytest.approx(3 / 4)
    assert scores["gold_tokens"] == 5
    assert scorer.scores()["misses"][0]["missed_tokens"] == ["Apt", "4"]
    assert "token_recall_skip_words" not in scores


def test_scorer_leaves_out_skip_words_as_presidio_does():
    """With Presidio's skip words, "the corner of ... and" and "Suite" count neither way; words still do."""
    nlp = spacy.blank("en")
    text = "Meet at the corner of Elm Road and Oak Lane, Suite 4 on Monday morning."
    gold = make_doc(
        nlp, text, [("the corner of Elm Road and Oak Lane, Suite 4", "STREET"), ("Monday morning", "DATE")]
    )
    pred = make_doc(nlp, text, [("Meet at the", "DATE"), ("Elm Road", "STREET"), ("Oak Lane", "STREET")])
    scorer = PhiScorer(["STREET", "DATE"], skip_words=PRESIDIO_SKIP_WORDS)
    scorer.add(gold, pred, "n1")
    scores = scorer.scores()["all"]
    # Gold words: the corner of Elm Road and Oak Lane Suite 4 Monday morning = 12; hit: the Elm Road Oak Lane.
    assert scores["token_recall"] == pytest.approx(5 / 12)
    # Not skip words: Elm Road Oak Lane 4 Monday = 6 (the, corner, of, and, Suite, morning are skipped).
    assert scores["token_recall_skip_words"] == pytest.approx(4 / 6)
    # Predicted words: Meet at the Elm Road Oak Lane = 7; correct: the Elm Road Oak Lane. Without the
    # skip words "at" and "the": Meet Elm Road Oak Lane, 4 correct.
    assert scores["token_precision"] == pytest.approx(5 / 7)
    assert scores["token_precision_skip_words"] == pytest.approx(4 / 5)


def test_evaluate_phi_command(tmp_path):
    path = tmp_path / "gold.jsonl"
    text = "Seen 3/14/2021 by Dr. Wong. Call 617-555-0192."
    srsly.write_jsonl(
        path, [{"text": text, "spans": [[5, 14, "DATE"], [22, 26, "DOCTOR"], [33, 45, "PHONE"]]}]
    )
    result = CliRunner().invoke(
        app, ["evaluate-phi", "--gold", str(path), "--output", str(tmp_path / "s.json")]
    )
    assert result.exit_code == 0, result.output
    scores = srsly.read_json(tmp_path / "s.json")
    assert scores["all"]["token_recall"] == 1.0 and scores["all"]["entity_recall"] == 1.0
    mapped = tmp_path / "mapped.jsonl"
    srsly.write_jsonl(mapped, [{"text": text, "spans": [[5, 14, "DATE_TIME"], [33, 45, "PHONE_NUMBER"]]}])
    result = CliRunner().invoke(
        app,
        [
            "evaluate-phi",
            "--gold",
            str(mapped),
            "--label-map",
            '{"DATE_TIME": "DATE", "PHONE_NUMBER": "PHONE"}',
            "--output",
            str(tmp_path / "m.json"),
            "--presidio-skip-words",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "no skip words" in result.output
    mapped_scores = srsly.read_json(tmp_path / "m.json")
    assert mapped_scores["per_label"]["PHONE"]["gold_entities"] == 1
    assert mapped_scores["hipaa"]["token_recall_skip_words"] == 1.0


def test_evaluate_phi_command_with_relative_dates(tmp_path):
    path = tmp_path / "gold.jsonl"
    text = "Admitted 3/14/2021. Three days later she was discharged."
    srsly.write_jsonl(path, [{"text": text, "spans": [[9, 18, "DATE"], [20, 36, "DATE"]]}])
    recall = {}
    for flag in ([], ["--relative-dates"]):
        out = tmp_path / f"{len(flag)}.json"
        result = CliRunner().invoke(app, ["evaluate-phi", "--gold", str(path), "--output", str(out), *flag])
        assert result.exit_code == 0, result.output
        recall[bool(flag)] = srsly.read_json(out)["per_label"]["DATE"]["entity_recall"]
    assert recall == {False: 0.5, True: 1.0}
    blank = tmp_path / "blank"
    spacy.blank("en").to_disk(blank)
    result = CliRunner().invoke(
        app, ["evaluate-phi", "--gold", str(path), "--pipeline", str(blank), "--relative-dates"]
    )
    assert result.exit_code == 1 and "has no synth_phi component" in " ".join(result.output.split())
