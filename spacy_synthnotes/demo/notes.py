"""Build a seeded, annotated demo corpus of clinical notes with Faker PHI.

Four note types (discharge summary, progress note, radiology report, nursing
note), written section by section from curated vocabularies with varied
sentence shapes, abbreviations and date formats. Every PHI string and clinical
entity is annotated with exact character spans as it is written, so the gold
standard is correct by construction. Patients have one to three notes, and the
train/dev/test split is by patient, so no patient is in two splits.
"""

import datetime
import re
from dataclasses import dataclass, field
from pathlib import Path
from random import Random
from typing import Callable, Dict, List, Optional, Tuple

import srsly
from faker import Faker
from spacy.language import Language
from spacy.tokens import Doc, DocBin

from ..extensions import NOTE_META, install_extensions
from ..readers.jsonl import doc_to_record
from . import vocabulary as V

NOTE_TYPES = ("discharge_summary", "progress_note", "radiology_report", "nursing_note")
PHI_LABELS = [
    "PATIENT",
    "DOCTOR",
    "USERNAME",
    "DATE",
    "AGE",
    "HOSPITAL",
    "STREET",
    "CITY",
    "STATE",
    "ZIP",
    "PHONE",
    "EMAIL",
    "MEDICALRECORD",
    "IDNUM",
    "PROFESSION",
]
CLINICAL_LABELS = ["PROBLEM", "DRUG", "DOSE", "ROUTE", "FREQUENCY", "TEST", "PROCEDURE"]
LABELS = PHI_LABELS + CLINICAL_LABELS
SYMPTOMS = [
    p
    for p in V.PROBLEMS
    if p[0]
    in {
        "chest pain",
        "shortness of breath",
        "abdominal pain",
        "nausea and vomiting",
        "fever",
        "headache",
        "low back pain",
        "cough",
        "edema",
        "syncope",
    }
]
SPLITS = {"train": 0.8, "dev": 0.1, "test": 0.1}

# Date formats written in notes; a note uses one main format and sometimes a second.
DATE_STYLES: List[Callable[[datetime.date], str]] = [
    lambda d: f"{d.month}/{d.day}/{d.year}",
    lambda d: d.strftime("%m/%d/%Y"),
    lambda d: d.strftime("%m/%d/%y"),
    lambda d: d.strftime("%Y-%m-%d"),
    lambda d: d.strftime("%d-%b-%Y").upper(),
    lambda d: f"{d.strftime('%B')} {d.day}, {d.year}",
    lambda d: f"{d.strftime('%b')} {d.day}, {d.year}",
]
SHORT_DATE_STYLES: List[Callable[[datetime.date], str]] = [
    lambda d: f"{d.month}/{d.day}",
    lambda d: f"{d.strftime('%b')} {d.day}{_ordinal(d.day)}",
    lambda d: f"{d.strftime('%B')} {d.day}",
]


def _ordinal(day: int) -> str:
    if 11 <= day % 100 <= 13:
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")


_WEEKDAY = re.compile(r"\b(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day\b")


class NoteWriter:
    """Append text and entities; the spans are recorded as the text is written."""

    def __init__(self) -> None:
        self.parts: List[str] = []
        self.spans: List[Tuple[int, int, str]] = []
        self.length = 0

    def text(self, value: str) -> "NoteWriter":
        self.parts.append(value)
        self.length += len(value)
        return self

    def ent(self, value: str, label: str) -> "NoteWriter":
        self.spans.append((self.length, self.length + len(value), label))
        return self.text(value)

    def prose(self, value: str) -> "NoteWriter":
        """Write running text, marking each weekday it names as a DATE ("closed on Sunday"), as
        i2b2 annotates them and `synth_phi` finds them."""
        end = 0
        for match in _WEEKDAY.finditer(value):
            self.text(value[end : match.start()]).ent(match.group(), "DATE")
            end = match.end()
        return self.text(value[end:])

    def line(self, *items) -> "NoteWriter":
        """Write pieces: strings are text, (value, label) tuples are entities; end the line."""
        for item in items:
            if isinstance(item, tuple):
                self.ent(*item)
            else:
                self.text(item)
        return self.text("\n")

    def value(self) -> str:
        return "".join(self.parts)


def write_problem(rng: Random, problem: Tuple[str, List[str]], w: NoteWriter) -> None:
    """Write a problem as its name or one of its abbreviations/variants."""
    name, variants = problem
    w.ent(rng.choice([name] + variants), "PROBLEM")


@dataclass
class Patient:
    first: str
    last: str
    sex: str
    age: int
    mrn: str
    street: str
    city: str
    state: str
    zip: str
    phone: str
    email: str
    profession: str
    relative: str
    relative_name: str
    problems: List[Tuple[str, List[str]]]
    drugs: List[tuple]
    hospital: str
    attending: Tuple[str, str]
    pcp: Tuple[str, str]
    consultant: Tuple[str, str]
    admitted: datetime.date
    notes: List[Dict] = field(default_factory=list)

    @property
    def title(self) -> str:
        return "Mr." if self.sex == "M" else "Ms."

    @property
    def possessive(self) -> str:
        return "his" if self.sex == "M" else "her"

    @property
    def pronoun(self) -> str:
        return "He" if self.sex == "M" else "She"


class DemoCorpusBuilder:
    """Write demo notes. Same seed, same corpus.

    seed (int): The seed of the text and of the Faker PHI.
    locale (str): The Faker locale of the PHI.
    """

    def __init__(self, seed: int = 0, locale: str = "en_US"):
        self.rng = Random(seed)
        self.faker = Faker(locale)
        self.faker.seed_instance(seed)

    # -- people -----------------------------------------------------------------------
    def patient(self) -> Patient:
        rng, fk = self.rng, self.faker
        sex = rng.choice("MF")
        first = fk.first_name_male() if sex == "M" else fk.first_name_female()
        age = rng.choice([rng.randint(19, 89)] * 19 + [rng.randint(90, 101)])
        problems = rng.sample(V.PROBLEMS, rng.randint(2, 5))
        relative = rng.choice(V.RELATIONS)
        relative_is_male = relative in ("husband", "son", "brother", "father", "nephew")
        hospital = rng.choice(
            [
                f"{fk.last_name()} Memorial Hospital",
                f"{fk.city()} General Hospital",
                f"St. {fk.first_name()} Medical Center",
                f"{fk.last_name()} Regional Medical Center",
                f"{fk.city()} Community Hospital",
            ]
        )
        return Patient(
            first=first,
            last=fk.last_name(),
            sex=sex,
            age=age,
            mrn=rng.choice([fk.numerify("#######"), fk.numerify("########"), fk.bothify("??######").upper()]),
            street=fk.street_address(),
            city=fk.city(),
            state=fk.state_abbr(),
            zip=fk.zipcode(),
            phone=rng.choice(
                [fk.numerify("(###) ###-####"), fk.numerify("###-###-####"), fk.numerify("###.###.####")]
            ),
            email=fk.free_email(),
            profession=rng.choice(V.PROFESSIONS),
            relative=relative,
            relative_name=fk.first_name_male() if relative_is_male else fk.first_name_female(),
            problems=problems,
            drugs=rng.sample(V.DRUGS, rng.randint(3, 7)),
            hospital=hospital,
            attending=(fk.first_name(), fk.last_name()),
            pcp=(fk.first_name(), fk.last_name()),
            consultant=(fk.first_name(), fk.last_name()),
            admitted=datetime.date(2015, 1, 1) + datetime.timedelta(days=rng.randint(0, 3000)),
        )

    # -- shared pieces ------------------------------------------------------------------
    def _date(self, date: datetime.date, style: Callable[[datetime.date], str], w: NoteWriter) -> None:
        w.ent(style(date), "DATE")

    def _problem(self, problem: Tuple[str, List[str]], w: NoteWriter) -> None:
        write_problem(self.rng, problem, w)

    def _med(self, drug: tuple, w: NoteWriter, with_route: bool = True) -> None:
        name, doses, routes, freqs = drug
        rng = self.rng
        shown = name if rng.random() < 0.8 else name.capitalize()
        w.ent(shown, "DRUG").text(" ").ent(rng.choice(doses), "DOSE")
        if with_route and rng.random() < 0.8:
            w.text(" ").ent(rng.choice(routes), "ROUTE")
        w.text(" ").ent(rng.choice(freqs), "FREQUENCY")

    def _doctor(self, doctor: Tuple[str, str], w: NoteWriter, full: Optional[bool] = None) -> None:
        first, last = doctor
        full = self.rng.random() < 0.5 if full is None else full
        w.text("Dr. ")
        w.ent(f"{first} {last}" if full else last, "DOCTOR")

    def _age(self, p: Patient, w: NoteWriter) -> None:
        style = self.rng.random()
        if style < 0.5:
            w.ent(str(p.age), "AGE").text("-year-old ")
        elif style < 0.8:
            w.ent(str(p.age), "AGE").text(" y/o ")
        else:
            w.ent(str(p.age), "AGE").text(" yo ")
        w.text(self.rng.choice(["male", "man", "gentleman"] if p.sex == "M" else ["female", "woman", "lady"]))

    def _test_result(self, w: NoteWriter, imaging: Optional[bool] = None) -> None:
        """Write a test and its result; `imaging` restricts to studies (True) or labs (False)."""
        rng = self.rng
        tests = [t for t in V.TESTS if imaging is None or (t[1] is None) == imaging]
        name, value_range, unit, variants = rng.choice(tests)
        shown = rng.choice(variants)
        w.ent(shown, "TEST")
        if value_range is None:
            findings = V.TEST_FINDINGS.get(shown) or ["unremarkable"]
            w.text(" " + rng.choice(findings))
        else:
            low, high, digits = value_range
            value = round(rng.uniform(low, high), digits)
            value_text = str(int(value)) if digits == 0 else f"{value:.{digits}f}"
            w.text(rng.choice([" ", " of ", " was ", " "]) + value_text + (f" {unit}" if unit else ""))

    def _header(self, p: Patient, w: NoteWriter, title: str, date: datetime.date, style) -> None:
        rng = self.rng
        w.line(title.upper())
        w.line(rng.choice(["Patient: ", "Patient Name: ", "NAME: "]), (f"{p.last}, {p.first}", "PATIENT"))
        w.line(rng.choice(["MRN: ", "Medical Record #: ", "MR#: "]), (p.mrn, "MEDICALRECORD"))
        if rng.random() < 0.6:
            dob = date - datetime.timedelta(days=365 * p.age + rng.randint(1, 360))
            w.line("DOB: ", (style(dob), "DATE"))
        w.line(rng.choice(["Date of Service: ", "Date: ", "Service Date: "]), (style(date), "DATE"))
        w.line("Facility: ", (p.hospital, "HOSPITAL"))
        w.text("\n")

    def _signature(self, doctor: Tuple[str, str], date: datetime.date, style, w: NoteWriter) -> None:
        rng = self.rng
        first, last = doctor
        w.text("\n")
        if rng.random() < 0.5:
            w.line(
                "Electronically signed by ", (f"{first} {last}", "DOCTOR"), ", MD on ", (style(date), "DATE")
            )
        else:
            w.line("Attending: ", (f"{first} {last}", "DOCTOR"), ", MD")
            user = f"{first[0].lower()}{last.lower()}{rng.randint(1, 99)}"
            w.line("Signed: ", (user, "USERNAME"), " ", (style(date), "DATE"))

    # -- note types ------------------------------------------------------------------------
    def discharge_summary(self, p: Patient) -> NoteWriter:
        rng, w = self.rng, NoteWriter()
        style = rng.choice(DATE_STYLES)
        short = rng.choice(SHORT_DATE_STYLES)
        stay = rng.randint(2, 9)
        discharged = p.admitted + datetime.timedelta(days=stay)
        self._header(p, w, "Discharge Summary", discharged, style)
        w.line("Admission Date: ", (style(p.admitted), "DATE"))
        w.line("Discharge Date: ", (style(discharged), "DATE"))
        w.text("Attending: ")
        self._doctor(p.attending, w, full=True)
        w.text("\n\n")
        main = p.problems[0]
        w.line(rng.choice(["CHIEF COMPLAINT:", "Chief Complaint:", "CC:"]))
        self._problem(main, w)
        w.text("\n\nHISTORY OF PRESENT ILLNESS:\n")
        w.text(f"{p.title} ").ent(p.last, "PATIENT").text(" is a ")
        self._age(p, w)
        w.text(" with a history of ")
        self._problem(p.problems[1], w)
        if len(p.problems) > 2:
            w.text(" and ")
            self._problem(p.problems[2], w)
        w.text(rng.choice([" who presented to the ED with ", " who presents with ", " admitted for "]))
        self._problem(main, w)
        w.text(rng.choice([" since ", " starting on ", " beginning "]))
        w.ent(short(p.admitted - datetime.timedelta(days=rng.randint(1, 6))), "DATE")
        w.text(". ")
        w.text(rng.choice(["In the ED, ", "On arrival, ", "Initial workup: "]))
        self._test_result(w)
        w.text(" and ")
        self._test_result(w)
        w.text(". ")
        w.text(f"{p.pronoun} was given ")
        self._med(p.drugs[0], w)
        w.text(rng.choice([" and admitted to medicine.", " and admitted for further management.", "."]))
        w.text("\n\nHOSPITAL COURSE:\n")
        for problem in p.problems[: rng.randint(1, len(p.problems))]:
            w.text("# ")
            self._problem(problem, w)
            w.text(": ")
            choice = rng.random()
            if choice < 0.4:
                w.text("Treated with ")
                self._med(rng.choice(p.drugs), w)
                w.text(
                    rng.choice([" with improvement.", ", symptoms resolved.", " and monitored on telemetry."])
                )
            elif choice < 0.7:
                w.text("Underwent ").ent(rng.choice(V.PROCEDURES), "PROCEDURE").text(" on ")
                w.ent(short(p.admitted + datetime.timedelta(days=rng.randint(0, stay))), "DATE")
                w.text(rng.choice([" without complication.", ", tolerated well.", "."]))
            else:
                w.text("Repeat ")
                self._test_result(w)
                w.text(". ")
                self._doctor(p.consultant, w)
                w.text(f" from {rng.choice(V.SPECIALTIES)} was consulted and recommended continuing ")
                self._med(rng.choice(p.drugs), w, with_route=False)
                w.text(".")
            w.text("\n")
        w.text("\nDISCHARGE MEDICATIONS:\n")
        for i, drug in enumerate(p.drugs, start=1):
            w.text(f"{i}. ")
            self._med(drug, w)
            w.text("\n")
        if rng.random() < 0.6:
            w.text("\nALLERGIES: ").ent(rng.choice(V.ALLERGIES), "DRUG").text(
                rng.choice([" (rash)", " (hives)", " (anaphylaxis)", ""])
            )
            w.text("\n")
        w.text("\nSOCIAL HISTORY: ")
        w.text(rng.choice(["Works as a ", "Former ", "Occupation: "])).ent(p.profession, "PROFESSION")
        w.text(". Lives in ").ent(p.city, "CITY").text(", ").ent(p.state, "STATE")
        w.text(f" with {p.possessive} ").text(p.relative).text(" ").ent(p.relative_name, "PATIENT")
        w.text(". ")
        w.text(
            rng.choice(
                [
                    "Denies tobacco use.",
                    "Quit smoking 10 years ago.",
                    "Drinks 2 beers per week.",
                    "No illicit drug use.",
                ]
            )
        )
        w.text("\n\nFOLLOW-UP:\n")
        w.text("Follow up with PCP ")
        self._doctor(p.pcp, w)
        w.text(" on ").ent(style(discharged + datetime.timedelta(days=rng.randint(5, 21))), "DATE")
        w.text(". Call ").ent(p.phone, "PHONE").text(" with questions")
        if rng.random() < 0.3:
            w.text(" or email ").ent(p.email, "EMAIL")
        w.text(".\n")
        if rng.random() < 0.5:
            w.text("Mailing address on file: ").ent(p.street, "STREET").text(", ").ent(p.city, "CITY")
            w.text(", ").ent(p.state, "STATE").text(" ").ent(p.zip, "ZIP").text("\n")
        self._signature(p.attending, discharged, style, w)
        return w

    def progress_note(self, p: Patient) -> NoteWriter:
        rng, w = self.rng, NoteWriter()
        style = rng.choice(DATE_STYLES)
        day = rng.randint(1, 5)
        date = p.admitted + datetime.timedelta(days=day)
        self._header(
            p,
            w,
            rng.choice(["Progress Note", "Daily Progress Note", "Hospital Medicine Progress Note"]),
            date,
            style,
        )
        w.text("SUBJECTIVE:\n")
        w.text(rng.choice(["Pt ", "Patient ", f"{p.title} "]))
        if not w.parts[-1].startswith("P"):
            w.ent(p.last, "PATIENT").text(" ")
        w.text(rng.choice(["reports ", "states ", "c/o ", "endorses "]))
        self._problem(rng.choice(SYMPTOMS), w)
        w.text(rng.choice([" is improving. ", " overnight. ", ", unchanged from yesterday. "]))
        w.text(rng.choice(["Denies ", "No "]))
        self._problem(rng.choice(SYMPTOMS), w)
        w.text(". ")
        w.text(
            rng.choice(
                [
                    "Slept well.",
                    "Tolerating PO.",
                    "Ambulated with PT.",
                    f"{p.relative.capitalize()} at bedside.",
                ]
            )
        )
        w.text("\n\nOBJECTIVE:\n")
        w.text(
            f"Vitals: T {rng.uniform(36.4, 38.9):.1f} HR {rng.randint(58, 122)} "
            f"BP {rng.randint(96, 172)}/{rng.randint(52, 98)} RR {rng.randint(12, 26)} "
            f"SpO2 {rng.randint(88, 100)}% on {rng.choice(['RA', '2L NC', '4L NC'])}\n"
        )
        w.text("Labs: ")
        for i in range(rng.randint(2, 4)):
            if i:
                w.text(", ")
            self._test_result(w, imaging=False)
        w.text("\n")
        if rng.random() < 0.5:
            w.text("Imaging: ")
            self._test_result(w, imaging=True)
            w.text("\n")
        w.text("\nASSESSMENT AND PLAN:\n")
        self._age(p, w)
        w.text(" with ")
        self._problem(p.problems[0], w)
        w.text(f", hospital day {day + 1}.\n")
        for problem in p.problems[:3]:
            w.text("- ")
            self._problem(problem, w)
            w.text(": ")
            if rng.random() < 0.6:
                w.text(rng.choice(["continue ", "start ", "increase ", "hold "]))
                self._med(rng.choice(p.drugs), w)
            else:
                w.text(rng.choice(["f/u ", "trend ", "repeat ", "check "]))
                name, _, _, variants = rng.choice(V.TESTS)
                w.ent(rng.choice(variants), "TEST")
                w.text(rng.choice([" in AM", " tomorrow", ""]))
            w.text("\n")
        w.text("- Dispo: anticipate discharge ")
        w.ent(rng.choice(SHORT_DATE_STYLES)(date + datetime.timedelta(days=rng.randint(1, 4))), "DATE")
        w.text(rng.choice([" pending PT eval", " if stable", ""]) + "\n")
        self._signature(p.attending, date, style, w)
        return w

    def radiology_report(self, p: Patient) -> NoteWriter:
        rng, w = self.rng, NoteWriter()
        style = rng.choice(DATE_STYLES)
        date = p.admitted + datetime.timedelta(days=rng.randint(0, 3))
        exam, variants, findings, normal = rng.choice(V.RADIOLOGY_STUDIES)
        w.line("RADIOLOGY REPORT")
        w.line("EXAM: ", (exam, "TEST"))
        w.line("Patient: ", (f"{p.first} {p.last}", "PATIENT"), "   MRN: ", (p.mrn, "MEDICALRECORD"))
        w.line("Accession #: ", (self.faker.numerify("RA#######"), "IDNUM"))
        w.line("Exam Date: ", (style(date), "DATE"))
        w.line("Location: ", (p.hospital, "HOSPITAL"))
        w.text("\nCLINICAL INDICATION: ")
        self._age(p, w)
        w.text(" with ")
        self._problem(p.problems[0], w)
        w.text(rng.choice([". Evaluate for ", ", r/o ", ". Rule out "]))
        finding = rng.choice(findings)
        w.ent(finding, "PROBLEM")
        w.text(".\n\nCOMPARISON: ")
        if rng.random() < 0.5:
            w.text("Prior ").ent(rng.choice(variants), "TEST").text(" dated ")
            w.ent(style(date - datetime.timedelta(days=rng.randint(30, 900))), "DATE").text(".\n")
        else:
            w.text("None.\n")
        w.text("\nFINDINGS:\n")
        for sentence in rng.sample(normal, rng.randint(2, len(normal))):
            w.text(sentence + " ")
        w.text(rng.choice(["There is ", "Redemonstrated ", "New "]))
        problem = next((x for x in V.PROBLEMS if x[0] == finding), (finding, []))
        self._problem(problem, w)
        w.text(rng.choice([".", " without other acute abnormality.", ", unchanged."]))
        w.text("\n\nIMPRESSION:\n1. ")
        self._problem(problem, w)
        w.text(".\n")
        if rng.random() < 0.5:
            w.text("2. Recommend follow-up ").ent(rng.choice(variants), "TEST").text(" in 3 months.\n")
        w.text("\nFindings discussed with ")
        self._doctor(p.attending, w)
        w.text(" by phone at ").ent(
            p.phone if rng.random() < 0.2 else self.faker.numerify("###-###-####"), "PHONE"
        )
        w.text(" on ").ent(style(date), "DATE").text(".\n")
        radiologist = (self.faker.first_name(), self.faker.last_name())
        w.text("\nDictated by: ")
        w.ent(f"{radiologist[0]} {radiologist[1]}", "DOCTOR").text(", MD\n")
        return w

    def nursing_note(self, p: Patient) -> NoteWriter:
        rng, w = self.rng, NoteWriter()
        style = rng.choice(DATE_STYLES)
        date = p.admitted + datetime.timedelta(days=rng.randint(0, 4))
        w.line("NURSING NOTE")
        w.line("Pt: ", (f"{p.first} {p.last}", "PATIENT"), "  MRN ", (p.mrn, "MEDICALRECORD"))
        w.line(
            "Date: ",
            (style(date), "DATE"),
            " ",
            f"{rng.randint(0, 23):02d}:{rng.choice(['00', '15', '30', '45'])}",
        )
        w.text("\n")
        w.text(rng.choice(["Pt ", f"{p.title} "]))
        if w.parts[-1] != "Pt ":
            w.ent(p.last, "PATIENT").text(" ")
        w.text(rng.choice(["received from ED ", "in bed ", "up to chair "]))
        w.text(rng.choice(["s/p ", "with ", "admitted for "]))
        self._problem(p.problems[0], w)
        w.text(". ")
        for sentence in rng.sample(V.NURSING_ASSESSMENTS, rng.randint(3, 5)):
            w.text(sentence + " ")
        w.text("\nMeds: ")
        drug = rng.choice(p.drugs)
        w.text("Administered ")
        self._med(drug, w)
        w.text(rng.choice([" as ordered.", " per MAR.", ", tolerated well."]))
        if rng.random() < 0.5:
            w.text(" ")
            second = rng.choice(p.drugs)
            w.ent(second[0], "DRUG").text(" held for ")
            w.text(rng.choice(["SBP < 100.", "HR < 60.", "NPO status.", "patient refusal."]))
        w.text("\n")
        if rng.random() < 0.7:
            w.text(f"{p.relative.capitalize()} ").ent(p.relative_name, "PATIENT")
            w.text(" called at ").ent(p.phone, "PHONE").text(", updated on plan of care.\n")
        w.text("Plan: continue to monitor, ")
        self._test_result(w)
        w.text(" in AM. Will notify ")
        self._doctor(p.attending, w, full=False)
        w.text(" of changes.\n")
        w.text(f"\n{rng.choice(['RN', 'Signed RN'])}: ").ent(
            f"{self.faker.first_name()} {self.faker.last_name()}", "DOCTOR"
        ).text(", RN\n")
        return w

    # -- corpus -------------------------------------------------------------------------------------
    def notes(self, n_notes: int) -> List[Dict]:
        """Write at least `n_notes` notes as records: text, spans and meta."""
        writers = {
            "discharge_summary": self.discharge_summary,
            "progress_note": self.progress_note,
            "radiology_report": self.radiology_report,
            "nursing_note": self.nursing_note,
        }
        records: List[Dict] = []
        patient_index = 0
        while len(records) < n_notes:
            patient = self.patient()
            patient_id = f"P{patient_index:05d}"
            patient_index += 1
            for note_type in self.rng.sample(NOTE_TYPES, self.rng.randint(1, 3)):
                if len(records) >= n_notes:
                    break
                writer = writers[note_type](patient)
                records.append(
                    {
                        "text": writer.value(),
                        "spans": writer.spans,
                        "meta": {
                            "id": f"note-{len(records):05d}",
                            "note_type": note_type,
                            "patient_id": patient_id,
                        },
                    }
                )
        return records


def split_by_patient(records: List[Dict], seed: int) -> Dict[str, List[Dict]]:
    """Split records into train/dev/test so that each patient is in one split only."""
    patients = sorted({r["meta"]["patient_id"] for r in records})
    Random(seed).shuffle(patients)
    n = len(patients)
    n_train = round(n * SPLITS["train"])
    n_dev = round(n * SPLITS["dev"])
    assignment = {}
    for i, pid in enumerate(patients):
        assignment[pid] = "train" if i < n_train else "dev" if i < n_train + n_dev else "test"
    out: Dict[str, List[Dict]] = {name: [] for name in SPLITS}
    for record in records:
        out[assignment[record["meta"]["patient_id"]]].append(record)
    return out


def record_to_doc(nlp: Language, record: Dict) -> Doc:
    """The Doc of a demo record; raises if a span does not fall on token boundaries."""
    install_extensions()
    doc = nlp.make_doc(record["text"])
    ents = []
    for start, end, label in record["spans"]:
        span = doc.char_span(start, end, label=label)
        if span is None:
            raise ValueError(
                f"Demo note {record['meta']['id']}: span {start}-{end} {record['text'][start:end]!r} "
                "is not on token boundaries"
            )
        ents.append(span)
    doc.ents = ents
    doc._.set(NOTE_META, dict(record["meta"]))
    return doc


def build_demo_corpus(
    output_dir: Path,
    nlp: Language,
    n_notes: int = 600,
    seed: int = 0,
    locale: str = "en_US",
    n_letters: Optional[int] = None,
) -> Dict[str, int]:
    """Write train/dev/test splits as `.spacy` (DocBin) and `.jsonl` files, and
    `ner_train.spacy` / `ner_dev.spacy`: the train / dev split plus patient
    correspondence with international PHI (see `correspondence.py`), on which the
    PHI NER is trained and selected.

    output_dir (Path): Where to write `{split}.spacy` and `{split}.jsonl`.
    nlp (Language): Its tokenizer tokenizes the notes.
    n_notes (int): Number of notes (at least 500 for the documented default).
    seed (int): The seed.
    locale (str): Faker locale of the PHI of the notes.
    n_letters (Optional[int]): Correspondence texts in `ner_train.spacy` (and an eighth as many in
        `ner_dev.spacy`); None: as many as notes.
    RETURNS (Dict[str, int]): Texts per split (`ner_train` included).
    """
    from .correspondence import CorrespondenceBuilder

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    records = DemoCorpusBuilder(seed=seed, locale=locale).notes(n_notes)
    n_letters = n_notes if n_letters is None else n_letters
    correspondence = CorrespondenceBuilder(seed).texts(n_letters + n_letters // 8, nlp)
    letters = {"train": correspondence[:n_letters], "dev": correspondence[n_letters:]}
    counts = {}
    for split, items in split_by_patient(records, seed).items():
        docbin = DocBin(store_user_data=True)
        jsonl = []
        for record in items:
            docbin.add(record_to_doc(nlp, record))
            jsonl.append(doc_to_record(record["text"], record["spans"], record["meta"]))
        docbin.to_disk(output_dir / f"{split}.spacy")
        srsly.write_jsonl(output_dir / f"{split}.jsonl", jsonl)
        counts[split] = len(items)
        if split in ("train", "dev"):
            for record in letters[split]:
                docbin.add(record_to_doc(nlp, record))
            docbin.to_disk(output_dir / f"ner_{split}.spacy")
            counts[f"ner_{split}"] = len(items) + len(letters[split])
    return counts
