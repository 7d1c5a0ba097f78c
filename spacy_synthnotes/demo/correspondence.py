"""Patient correspondence with international PHI, for training the PHI NER.

Clinical notes are not the only text a hospital's PHI detector sees: portal
messages, letters, telephone encounters, registration forms and social-work
notes carry names in free sentences ("my daughter Anna will drive me"), postal
addresses of many countries over several lines, and foreign towns. The demo
notes have US names and one address shape, so an NER trained on them alone
misses these. This builder writes such texts with Faker PHI from 30 locales
(names romanized where Faker has no Latin names), annotated with exact spans
as they are written, with the labels of the demo corpus plus COUNTRY and
ORGANIZATION (both PHI in i2b2 2014). It is used only to train the NER
(`corpus/demo/ner_train.spacy`); the generators never see it.
"""

import datetime
from random import Random
from typing import Callable, Dict, List, Optional, Tuple

from faker import Faker
from spacy.language import Language

from . import vocabulary as V
from .notes import DATE_STYLES, DemoCorpusBuilder, NoteWriter, write_problem

# Locales whose Faker providers give names, streets, towns and postcodes in Latin script (ja_JP and
# zh_CN through their romanized names; their streets and towns stay in their own script), plus Greek.
# Not it_IT: its town list is built from a set, so its towns change with Python's hash seed and the
# same seed would not give the same texts in another process.
LOCALES = (
    "en_US", "en_GB", "en_CA", "en_AU", "en_IN", "de_DE", "de_AT", "de_CH", "fr_FR", "es_AR",
    "es_ES", "es_MX", "pt_BR", "pt_PT", "fi_FI", "hu_HU", "cs_CZ", "sk_SK", "pl_PL", "hr_HR",
    "ro_RO", "nl_NL", "sv_SE", "no_NO", "da_DK", "el_GR", "tr_TR", "id_ID", "ja_JP", "zh_CN",
)  # fmt: skip
ROMANIZED = {"ja_JP", "zh_CN"}
KINDS = (
    "portal_message", "letter", "telephone_encounter", "registration_form", "social_work_note",
    "visit_transcript", "case_narrative",
)  # fmt: skip
# Words that open a sentence of clinical narrative: capitalized, and never a name.
CONNECTIVES = (
    "However", "Thereafter", "Subsequently", "Furthermore", "Unfortunately", "Concurrently", "Additionally",
    "Therefore", "Meanwhile", "Consequently", "On admission", "Two days later", "At follow-up", "Overall",
    "Initially", "Finally", "In addition", "Despite treatment", "On day 3", "Later",
)  # fmt: skip
RELATIONS = {
    "wife": "F", "husband": "M", "daughter": "F", "son": "M", "sister": "F", "brother": "M",
    "mother": "F", "father": "M", "niece": "F", "nephew": "M", "neighbour": "", "friend": "",
    "partner": "", "caregiver": "", "granddaughter": "F", "grandson": "M", "kid": "", "aunt": "F",
    "uncle": "M", "cousin": "", "girlfriend": "F", "boyfriend": "M", "stepdaughter": "F", "grandmother": "F",
}  # fmt: skip

# Sentences without PHI that messages and letters are mostly made of: capitalized words that start a
# sentence, questions and boilerplate are not names.
PLAIN_SENTENCES = (
    "How do I change my appointment?", "Could you please call me back?", "Thank you for your help.",
    "I have been feeling a bit better since last week.", "Please let me know if I should come in.",
    "Is it normal to feel tired after the new medicine?", "I lost my appointment card.",
    "You said the results would take a week.", "Sorry for writing so late.",
    "Do I need to fast before the blood test?", "Hope you are well.",
    "Sorry, I forgot to ask at the visit.", "What time should I arrive?", "I did not sleep well.",
    "A quick question about the dose.", "Who should I call after hours?",
    "Please bring a list of your current medicines.", "Parking is available at the main entrance.",
    "Interpreters are available on request.", "If it gets worse, go to the nearest emergency department.",
    "We look forward to seeing you.", "Visiting hours are from 2 to 8 pm.", "Kind regards to the whole team.",
    "My insurance card was renewed.", "Can I take it with food?", "Nobody answered the phone yesterday.",
    "The pharmacy was closed on Sunday.", "At night the pain was worse.",
    "Nothing has changed since the last visit.", "Our Patient Services team can help with forms.",
    "Tomorrow works better for me.",
    "Attached is the form from my employer.", "After the last visit I started walking every day.",
)  # fmt: skip

# Where people are named in notes and messages: (text before the name, text after it).
NAME_FRAMES = (
    ("", " called to ask about the results."), ("Per ", ", the patient has not eaten since Monday."),
    ("According to ", ", she fell at home."), ("", " from {org} is the case manager."),
    ("Spoke with ", " of {org} about the transfer."), ("", " (sister) visited today."),
    ("Message left for ", "."), ("Interpreter ", " present for the visit."), ("Chaplain ", " visited."),
    ("Home care nurse ", " will see him on Friday."), ("", " and the children were at the bedside."),
    ("Discussed with ", ", who agrees with the plan."), ("Forms signed by ", " as health care proxy."),
    ("", " works at {org} and can take time off."), ("Have you heard from ", " yet?"),
    ("The caregiver, ", ", reports poor appetite."), ("", " is the emergency contact."),
    ("Letter sent to ", " and copied to the GP."), ("", ", the landlord, will let EMS in."),
)  # fmt: skip

Person = Tuple[str, str]  # first, last


def clean(value: str) -> str:
    """A Faker value on one line with single spaces (some locales pad or wrap theirs)."""
    return " ".join(value.split())


class CorrespondenceBuilder:
    """Write annotated correspondence texts. Same seed, same texts.

    seed (int): The seed of the text and of the Faker PHI.
    """

    def __init__(self, seed: int = 0):
        self.rng = Random(seed)
        self.fakers: Dict[str, Faker] = {}
        self.clinical = DemoCorpusBuilder(seed=seed)
        for index, locale in enumerate(LOCALES):
            faker = Faker(locale)
            faker.seed_instance(seed * 1000 + index)
            self.fakers[locale] = faker

    # -- PHI values ---------------------------------------------------------------------
    def _faker(self) -> Tuple[str, Faker]:
        locale = self.rng.choice(LOCALES)
        return locale, self.fakers[locale]

    def person(self, sex: str = "") -> Person:
        locale, fk = self._faker()
        sex = sex or self.rng.choice("MF")
        if locale in ROMANIZED:
            first = fk.first_romanized_name()
            last = fk.last_romanized_name()
        else:
            first = fk.first_name_male() if sex == "M" else fk.first_name_female()
            last = fk.last_name()
        return clean(first), clean(last)

    def _cased(self, value: str) -> str:
        """People type names in lower case in messages, and offices write towns in capitals."""
        roll = self.rng.random()
        return value.lower() if roll < 0.08 else value.upper() if roll < 0.14 else value

    def full_name(self, person: Person, w: NoteWriter, label: str = "PATIENT") -> None:
        first, last = person
        roll = self.rng.random()
        if roll < 0.6:
            value = f"{first} {last}"
        elif roll < 0.75:
            value = f"{first} {self.rng.choice('ABCDEFGHJKLMNPRSTVW')}. {last}"
        elif roll < 0.9:
            value = f"{last}, {first}"
        else:
            value = f"{first} {last}".upper()
        w.ent(self._cased(value) if roll < 0.75 else value, label)

    def address(self, w: NoteWriter, block: bool) -> None:
        """A postal address, inline or as a block of lines, in the format of one locale."""
        rng = self.rng
        locale, fk = self._faker()
        if locale == "en_US" and rng.random() < 0.15:
            military = clean(rng.choice([fk.military_apo, fk.military_dpo])())
            w.ent(military, "STREET").text("\n" if block else " ")
            w.ent(rng.choice(["APO", "FPO", "DPO"]) + " " + fk.military_state(), "CITY").text(" ")
            w.ent(fk.postcode(), "ZIP")
            return
        if rng.random() < 0.1:
            # Where a patient was found or lives without a number (EMS, social work): a corner, one
            # place and so one STREET entity (as in the Presidio set; synth_phi joins the two streets).
            corner = f"the corner of {clean(fk.street_name())} and {clean(fk.street_name())}"
            w.ent(corner, "STREET").text(" in ").ent(clean(fk.city()), "CITY")
            return
        street = clean(fk.street_address())
        if rng.random() < 0.1:
            street = rng.choice(["P.O. Box ", "PO Box ", "Postfach ", "Box "]) + str(rng.randint(1, 9999))
        elif rng.random() < 0.08:
            street = street.lower()
        if rng.random() < 0.3 and not any(word in street for word in ("Apt.", "Suite", "Flat", "Unit")):
            # The second address line: after the street, or on its own line in a block.
            secondary = rng.choice(["Apt. ", "Suite ", "Flat ", "Unit ", "Floor "]) + str(rng.randint(1, 999))
            street += ("\n" if block and rng.random() < 0.5 else " ") + secondary
        city = clean(fk.city())
        if block and rng.random() < 0.4:
            city = city.upper()
        postcode = clean(fk.postcode())
        country = clean(fk.current_country())
        if rng.random() < 0.2:
            country = country.upper()
        sep = "\n" if block else ", "
        if locale in ("en_US", "en_CA", "en_AU") and rng.random() < 0.7:
            state = fk.state_abbr() if hasattr(fk, "state_abbr") else fk.administrative_unit()
            w.ent(street, "STREET").text(sep).ent(city, "CITY").text(", ").ent(state, "STATE")
            w.text(" ").ent(postcode, "ZIP")
            if rng.random() < 0.3:
                w.text(sep).ent(country, "COUNTRY")
            return
        layout = rng.random()
        if layout < 0.5:
            w.ent(street, "STREET").text(sep).ent(postcode, "ZIP").text(" ").ent(city, "CITY")
            if rng.random() < 0.7:
                w.text(sep).ent(country, "COUNTRY")
        elif layout < 0.8:
            w.ent(street, "STREET").text(sep).ent(city, "CITY").text(sep).ent(country, "COUNTRY")
            w.text(" ").ent(postcode, "ZIP")
        else:
            w.ent(street, "STREET").text(sep).ent(city, "CITY").text(sep).ent(postcode, "ZIP")

    def city(self, w: NoteWriter) -> None:
        _, fk = self._faker()
        w.ent(self._cased(clean(fk.city())), "CITY")
        if self.rng.random() < 0.4:
            w.text(", ").ent(clean(fk.current_country()), "COUNTRY")

    def phone(self, w: NoteWriter) -> None:
        _, fk = self._faker()
        w.ent(clean(fk.phone_number()), "PHONE")

    def date(self, w: NoteWriter) -> None:
        day = datetime.date(2016, 1, 1) + datetime.timedelta(days=self.rng.randint(0, 3000))
        w.ent(self.rng.choice(DATE_STYLES)(day), "DATE")

    def doctor(self, w: NoteWriter) -> None:
        first, last = self.person()
        w.text("Dr. ").ent(last if self.rng.random() < 0.5 else f"{first} {last}", "DOCTOR")

    def relative(self) -> Tuple[str, Person]:
        relation = self.rng.choice(sorted(RELATIONS))
        return relation, self.person(RELATIONS[relation])

    def problem(self, w: NoteWriter) -> None:
        write_problem(self.rng, self.rng.choice(V.PROBLEMS), w)

    def drug(self, w: NoteWriter) -> None:
        w.ent(self.rng.choice(V.DRUGS)[0], "DRUG")

    # -- sentences: each writes one sentence about a person, a relative or a place ----------------
    def _sentences(self, patient: Person) -> List[Callable[[NoteWriter], None]]:
        rng = self.rng
        relation, kin = self.relative()
        others = [self.person() for _ in range(3)]

        def ride(w: NoteWriter) -> None:
            w.text(f"My {relation} ").ent(self._cased(kin[0]), "PATIENT")
            w.text(rng.choice([" will drive me to the appointment on ", " can come with me on "]))
            self.date(w)
            w.text(".")

        def moved(w: NoteWriter) -> None:
            w.text(
                rng.choice(
                    ["I moved, please update my address to ", "My new address is ", "Please send it to "]
                )
            )
            self.address(w, block=rng.random() < 0.5)
            w.text(".")

        def away(w: NoteWriter) -> None:
            w.text("I am in ")
            self.city(w)
            w.text(" until ")
            self.date(w)
            w.text(", you can reach me at ")
            self.phone(w)
            w.text(".")

        def origin(w: NoteWriter) -> None:
            w.text(rng.choice(["We moved here from ", "She grew up in ", "He is originally from "]))
            self.city(w)
            w.text(".")

        def mention(w: NoteWriter) -> None:
            before, after = rng.choice(NAME_FRAMES)
            w.text(before)
            name = others[rng.randrange(3)]
            if rng.random() < 0.5:
                self.full_name(name, w)
            else:
                w.ent(self._cased(rng.choice(name)), "PATIENT")
            if "{org}" in after:
                head, tail = after.split("{org}")
                _, fk = self._faker()
                w.text(head).ent(clean(fk.company()), "ORGANIZATION").text(tail)
            else:
                w.prose(after)

        def lives_at(w: NoteWriter) -> None:
            self.full_name(others[1], w)
            w.text(rng.choice([" lives at ", " is staying at ", " moved to "]))
            self.address(w, block=False)
            w.text(".")

        def proxy(w: NoteWriter) -> None:
            w.text(rng.choice(["Please add ", "We need to add ", "Patient wants to add "]))
            self.full_name(others[2], w)
            w.text(rng.choice([" as health care proxy.", " as guardian.", " as an emergency contact."]))

        def travel(w: NoteWriter) -> None:
            w.text(
                rng.choice(["Recently returned from ", "Travelled to ", "Flew back from ", "Was visiting "])
            )
            self.city(w)
            w.prose(
                rng.choice([" two weeks ago.", " last month.", " on Sunday.", " before the fever started."])
            )

        def intro(w: NoteWriter) -> None:
            w.text(rng.choice(["I'm ", "This is ", "My name is "]))
            self.full_name(patient, w)
            w.text(", ").ent(str(rng.randint(18, 99)), "AGE").text(rng.choice([" years old", " y/o"]))
            w.text(".")

        def children(w: NoteWriter) -> None:
            w.text(rng.choice(["Her children ", "His kids ", "The grandchildren ", "Visitors allowed: "]))
            names = [
                self._cased(first) for first, _ in others + [self.person() for _ in range(rng.randint(0, 3))]
            ]
            for index, name in enumerate(names):
                w.text("" if index == 0 else " and " if index == len(names) - 1 else ", ").ent(
                    name, "PATIENT"
                )
            w.text(rng.choice([" visit every weekend.", " have the same rash.", " live nearby.", "\n"]))

        def nickname(w: NoteWriter) -> None:
            first, last = patient
            w.text(rng.choice(["Pt ", "Patient ", ""]))
            self.full_name(patient, w)
            w.text(rng.choice([" prefers to be called ", " goes by ", ", but everyone calls her "]))
            w.ent(first if rng.random() < 0.5 else first[:3], "PATIENT").text(
                rng.choice([" on the ward. ", " at home. "])
            )

        def chart(w: NoteWriter) -> None:
            w.text(rng.choice(["The chart may be under ", "Her old records are under ", "Registered under "]))
            self.full_name(others[2], w)
            w.text(rng.choice([" (maiden name).", ", please check.", " at the other hospital."]))

        def pickup(w: NoteWriter) -> None:
            w.text("Can ")
            self.full_name(kin, w)
            w.text(rng.choice([" pick up the forms?", " collect the prescription?", " call you back?"]))

        def referral(w: NoteWriter) -> None:
            w.text(rng.choice(["Our neighbour ", "A friend, ", "My colleague "]))
            self.full_name(others[0], w)
            w.text(rng.choice([", recommended ", " told me about "]))
            self.doctor(w)
            w.text(rng.choice([" to us.", "'s clinic.", " last week."]))

        def pharmacy(w: NoteWriter) -> None:
            w.ent(self._cased(kin[0]), "PATIENT").text(" says the pharmacy in ")
            self.city(w)
            w.text(" did not get the ")
            self.drug(w)
            w.text(" prescription.")

        def symptom(w: NoteWriter) -> None:
            w.text(rng.choice(["Since starting ", "After the change to "]))
            self.drug(w)
            w.text(rng.choice([" my ", " the "]))
            self.problem(w)
            w.text(rng.choice([" is worse.", " is better.", " came back."]))

        def question(w: NoteWriter) -> None:
            ask, rest = rng.choice(
                [
                    ("Why is ", " so tired all the time?"),
                    ("Is ", " allowed to visit?"),
                    ("Does ", " need to fast?"),
                ]
            )
            w.text(ask).ent(self._cased(others[1][0]), "PATIENT").text(rest)

        return [
            ride, moved, away, origin, intro, children, pickup, referral, pharmacy, symptom, question,
            nickname, chart, travel, mention, mention, lives_at, proxy,
        ]  # fmt: skip

    def _body(self, patient: Person, w: NoteWriter, n: int) -> None:
        """`n` sentences about people and places among as many plain ones, in random order."""
        rng = self.rng
        writers: List[Callable[[NoteWriter], None]] = rng.sample(self._sentences(patient), n)
        plain = rng.sample(PLAIN_SENTENCES, rng.randint(n, n + 2))
        # Sentences of random common English words (Faker's lorem list): a capitalized word that
        # starts a sentence, or a phrase in title case, is not a name without a name's context.
        lorem = self.fakers["en_US"]
        plain += [lorem.sentence() for _ in range(rng.randint(0, 2))]
        if rng.random() < 0.3:
            plain.append(lorem.catch_phrase().title() + ":")
        # Notes quote what patients say.
        plain = [
            f'{rng.choice(["Pt states ", "She said: ", ""])}"{text}"' if rng.random() < 0.2 else text
            for text in plain
        ]
        writers += [lambda w, s=s: w.prose(s) for s in plain]
        writers += [self.narrative for _ in range(rng.randint(1, 3))]
        rng.shuffle(writers)
        for sentence in writers:
            sentence(w)
            w.text(" " if rng.random() < 0.7 else "\n")

    def narrative(self, w: NoteWriter) -> None:
        """One sentence of clinical narrative (a case report, a hospital course): clinical entities,
        lab values in parentheses, connectives, and no PHI."""
        rng, notes = self.rng, self.clinical
        w.text(rng.choice(CONNECTIVES) + rng.choice([", ", " "]))
        roll = rng.random()
        if roll < 0.3:
            notes._test_result(w)
            w.text(
                rng.choice([" (normal range ", " (reference "]) + f"{rng.randint(0, 5)}-{rng.randint(6, 60)})"
            )
            w.text(rng.choice([" was noted.", ", consistent with ", " suggested "]))
            if not w.parts[-1].endswith("."):
                notes._problem(rng.choice(V.PROBLEMS), w)
                w.text(".")
        elif roll < 0.55:
            w.text(rng.choice(["the patient was started on ", "treatment with ", "she received "]))
            notes._med(rng.choice(V.DRUGS), w)
            w.text(rng.choice([" for ", " because of "]))
            notes._problem(rng.choice(V.PROBLEMS), w)
            w.text(".")
        elif roll < 0.8:
            w.text(rng.choice(["the patient underwent ", "he underwent ", "an urgent "]))
            w.ent(rng.choice(V.PROCEDURES), "PROCEDURE")
            w.text(rng.choice([" without complications.", ", which revealed ", " (Figure 2)."]))
            if not w.parts[-1].endswith("."):
                notes._problem(rng.choice(V.PROBLEMS), w)
                w.text(".")
        else:
            notes._problem(rng.choice(V.PROBLEMS), w)
            w.text(rng.choice([" resolved", " progressed", " was suspected", " was ruled out"]))
            w.text(rng.choice([".", " after treatment.", " on imaging.", " despite therapy."]))

    # -- kinds ----------------------------------------------------------------------------------
    def portal_message(self) -> NoteWriter:
        rng, w = self.rng, NoteWriter()
        patient = self.person()
        _, fk = self._faker()
        w.text("From: ")
        self.full_name(patient, w)
        w.text(" (").ent(fk.free_email(), "EMAIL").text(")\nSent: ")
        self.date(w)
        w.text("\nSubject: " + rng.choice(["question", "appointment", "refill", "my results"]) + "\n\n")
        w.text(rng.choice(["Hi ", "Dear ", "Hello "]))
        self.doctor(w)
        w.text(",\n")
        self._body(patient, w, rng.randint(2, 4))
        w.text("\n" + rng.choice(["Thanks,", "Best,", "Kind regards,"]) + "\n")
        w.ent(self._cased(patient[0]), "PATIENT").text("\n")
        return w

    def letter(self) -> NoteWriter:
        rng, w = self.rng, NoteWriter()
        patient = self.person()
        _, fk = self._faker()
        kind = rng.choice(["Clinic", "Medical Centre", "Hospital", "Health Centre"])
        w.ent(f"{clean(fk.last_name())} {kind}", "HOSPITAL")
        w.text("\nTel ")
        self.phone(w)
        w.text("  Fax ").ent(clean(fk.phone_number()), "FAX").text("\n\n")
        self.date(w)
        w.text("\n\n")
        self.full_name(patient, w)
        w.text("\n")
        self.address(w, block=True)
        w.text("\n\n" + rng.choice(["Dear Mr. ", "Dear Ms. ", "Dear "]))
        w.ent(patient[1], "PATIENT").text(",\n\n")
        w.text(rng.choice(["Your appointment with ", "Your next visit with "]))
        self.doctor(w)
        w.text(" is on ")
        self.date(w)
        w.text(". If you cannot attend, please call ")
        self.phone(w)
        w.text(". ")
        self._body(patient, w, rng.randint(0, 2))
        w.text("\n\nYours sincerely,\n\n")
        self.doctor(w)
        w.text("\n")
        return w

    def telephone_encounter(self) -> NoteWriter:
        rng, w = self.rng, NoteWriter()
        sex = rng.choice("MF")
        patient = self.person(sex)
        relation, kin = self.relative()
        w.text("TELEPHONE ENCOUNTER ")
        self.date(w)
        w.text(f"\nSpoke with patient's {relation}, ")
        self.full_name(kin, w)
        w.text(", at ")
        self.phone(w)
        w.text(". ")
        w.ent(self._cased(patient[0]), "PATIENT").text(rng.choice([" is staying at ", " is now at "]))
        self.address(w, block=False)
        w.text(f" with {'his' if sex == 'M' else 'her'} {relation}. ")
        self._body(patient, w, rng.randint(1, 2))
        w.text("\nCallback number: ")
        self.phone(w)
        w.text("\n")
        return w

    def registration_form(self) -> NoteWriter:
        rng, w = self.rng, NoteWriter()
        patient = self.person()
        relation, kin = self.relative()
        _, fk = self._faker()
        w.text("PATIENT REGISTRATION\nName: ")
        self.full_name(patient, w)
        w.text("\nDate of birth: ")
        self.date(w)
        w.text("\nAddress: ")
        self.address(w, block=rng.random() < 0.5)
        w.text("\nPhone: ")
        self.phone(w)
        w.text("\nEmail: ").ent(fk.email(), "EMAIL")
        w.text("\nEmployer: ").ent(clean(fk.company()), "ORGANIZATION")
        w.text("\nEmergency contact: ")
        self.full_name(kin, w)
        w.text(f" ({relation}) ")
        self.phone(w)
        w.text("\nMember ID: ").ent(fk.bothify("???#########").upper(), "IDNUM").text("\n")
        return w

    def social_work_note(self) -> NoteWriter:
        rng, w = self.rng, NoteWriter()
        patient = self.person()
        relation, kin = self.relative()
        w.text("SOCIAL WORK NOTE ")
        self.date(w)
        w.text("\nMet with ").ent(patient[0], "PATIENT").text(
            f" and {rng.choice(['her', 'his'])} {relation} "
        )
        w.ent(self._cased(kin[0]), "PATIENT").text(rng.choice([" today. ", " at the bedside. "]))
        self._body(patient, w, rng.randint(2, 4))
        w.text("\nPlan: follow up with ")
        self.full_name(kin, w)
        w.text(rng.choice([" in a couple of weeks.", " after discharge.", "."]) + "\n")
        return w

    def visit_transcript(self) -> NoteWriter:
        """An ambient-scribe transcript: each line starts with the speaker's name."""
        rng, w = self.rng, NoteWriter()
        patient = self.person()
        relation, kin = self.relative()
        doctor = self.person()
        speakers = [("Dr. ", doctor[1], "DOCTOR"), ("", patient[0], "PATIENT"), ("", kin[0], "PATIENT")]
        w.text("VISIT TRANSCRIPT ")
        self.date(w)
        w.text("\n")
        questions = iter(self._sentences(patient))
        for turn in range(rng.randint(4, 8)):
            title, name, label = speakers[0] if turn % 2 == 0 else rng.choice(speakers[1:])
            w.text(title).ent(name, label).text(rng.choice([": ", ":", " - "]))
            if turn % 2 == 0 or rng.random() < 0.5:
                w.prose(rng.choice(PLAIN_SENTENCES))
            else:
                next(questions)(w)
            w.text("\n")
        return w

    def case_narrative(self) -> NoteWriter:
        """A paragraph of hospital course or case report: mostly clinical prose, with the patient's
        age and dates, and sometimes a name or a town."""
        rng, w = self.rng, NoteWriter()
        patient = self.person()
        w.text(rng.choice(["A ", "The patient, a "])).ent(str(rng.randint(18, 99)), "AGE")
        w.text(rng.choice(["-year-old ", " year old "]) + rng.choice(["man", "woman", "patient"]))
        w.text(rng.choice([", presented on ", ", was admitted on "]))
        self.date(w)
        w.text(rng.choice([" with ", " for "]))
        self.clinical._problem(rng.choice(V.PROBLEMS), w)
        w.text(". ")
        for _ in range(rng.randint(4, 8)):
            if rng.random() < 0.12:
                next(iter(rng.sample(self._sentences(patient), 1)))(w)
            else:
                self.narrative(w)
            w.text(" " if rng.random() < 0.8 else "\n")
        return w

    def texts(self, n: int, nlp: Optional[Language] = None) -> List[Dict]:
        """`n` records (text, spans, meta), the kinds in turn.

        n (int): How many.
        nlp (Optional[Language]): If given, a text whose spans do not fall on this
            tokenizer's tokens (a name such as "de la O" before a full stop reads
            as an abbreviation) is replaced by the next one written.
        RETURNS (List[Dict]): The records.
        """
        writers = [getattr(self, kind) for kind in KINDS]
        records: List[Dict] = []
        while len(records) < n:
            index = len(records)
            w = writers[index % len(KINDS)]()
            if nlp is not None:
                doc = nlp.make_doc(w.value())
                if any(doc.char_span(start, end) is None for start, end, _ in w.spans):
                    continue
            meta = {
                "id": f"letter-{index:05d}",
                "note_type": KINDS[index % len(KINDS)],
                "patient_id": f"C{index:05d}",
            }
            records.append({"text": w.value(), "spans": w.spans, "meta": meta})
        return records
