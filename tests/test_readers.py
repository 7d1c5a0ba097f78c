"""Readers: brat, JSONL, DocBin, CoNLL — good input, each error path, skip-and-report, real corpora."""

import json

import pytest
import spacy
from conftest import SHARED_DATA
from spacy.tokens import Doc, DocBin
from spacy.util import registry

from spacy_synthnotes.readers import (
    BratCorpus,
    ConllCorpus,
    CorpusError,
    DocBinCorpus,
    JsonlCorpus,
    guess_format,
    open_corpus,
)

TEXT = "Pt John Smith seen 3/14/2021 for chest pain."


@pytest.fixture
def nlp():
    return spacy.blank("en")


def ents(doc):
    return [(e.text, e.label_) for e in doc.ents]


# -- brat -------------------------------------------------------------------------------------
def write_brat(folder, name, text, ann):
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.txt").write_text(text, encoding="utf8")
    (folder / f"{name}.ann").write_text(ann, encoding="utf8")


def test_brat_reads_text_bound_annotations(tmp_path, nlp):
    ann = (
        "T1\tPATIENT 3 13\tJohn Smith\nT2\tDATE 19 28\t3/14/2021\n"
        "E1\tX:T2\nR1\tREL Arg1:T1 Arg2:T2\n#1\tNote T1\tx\n"
    )
    write_brat(tmp_path, "a", TEXT, ann)
    docs = list(BratCorpus(tmp_path).docs(nlp))
    assert ents(docs[0]) == [("John Smith", "PATIENT"), ("3/14/2021", "DATE")]
    assert docs[0]._.note_meta == {"id": "a"}


@pytest.mark.parametrize(
    "ann,problem",
    [
        (
            "T1\tPATIENT 3 99\tJohn Smith\n",
            "line 1: span 3-99 (PATIENT) is out of range for a text of 44 characters",
        ),
        (
            "T1\tPATIENT 3 13\tJohn Smith\nT2\tNAME 8 13\tSmith\n",
            "line 2: span 8-13 (NAME) overlaps the span at",
        ),
        ("T1\tPATIENT 3 7;8 13\tJohn Smith\n", "line 1: discontinuous span '3 7;8 13' (PATIENT)"),
        ("T1\tPATIENT 3 13\tJane Smith\n", "line 1: annotated text 'Jane Smith' differs from the .txt"),
        (
            "T1\tPATIENT 4 13\tohn Smith\n",
            "line 1: span 4-13 (PATIENT) 'ohn Smith' does not fall on token boundaries",
        ),
        ("T1\tPATIENT three 13\tJohn\n", "line 1: offsets are not two integers"),
        ("T1\tPATIENT\n", "line 1: malformed text-bound annotation"),
    ],
)
def test_brat_errors_name_file_line_and_problem(tmp_path, nlp, ann, problem):
    write_brat(tmp_path, "bad", TEXT, ann)
    with pytest.raises(CorpusError) as err:
        list(BratCorpus(tmp_path).docs(nlp))
    assert "bad." in str(err.value) and problem in str(err.value)


def test_brat_skip_mode_keeps_good_spans_and_reports_bad_ones(tmp_path, nlp):
    write_brat(
        tmp_path,
        "a",
        TEXT,
        "T1\tPATIENT 3 13\tJohn Smith\nT2\tDATE 19 99\tx\nT3\tPROBLEM 33 43\tchest pain\n",
    )
    corpus = BratCorpus(tmp_path, on_error="skip")
    docs = list(corpus.docs(nlp))
    assert ents(docs[0]) == [("John Smith", "PATIENT"), ("chest pain", "PROBLEM")]
    assert len(corpus.problems) == 1 and "out of range" in corpus.problems[0].problem


def test_brat_missing_ann_non_utf8_and_empty_text(tmp_path, nlp):
    (tmp_path / "lonely.txt").write_text("text", encoding="utf8")
    with pytest.raises(CorpusError, match="lonely.ann, file: missing"):
        list(BratCorpus(tmp_path).docs(nlp))
    (tmp_path / "lonely.txt").unlink()
    (tmp_path / "latin.txt").write_bytes("Patient Jos\xe9 seen.\nSecond line caf\xe9".encode("latin-1"))
    (tmp_path / "latin.ann").write_text("", encoding="utf8")
    with pytest.raises(CorpusError, match=r"latin.txt, line 1 \(byte 11\): not valid utf8"):
        list(BratCorpus(tmp_path).docs(nlp))
    docs = list(BratCorpus(tmp_path, encoding="latin-1").docs(nlp))
    assert docs[0].text.startswith("Patient José")
    write_brat(tmp_path, "empty", "   ", "")
    corpus = BratCorpus(tmp_path, encoding="latin-1", on_error="skip")
    assert len(list(corpus.docs(nlp))) == 1
    assert [p.problem for p in corpus.problems] == ["empty text"]


def test_unknown_labels_and_huge_notes(tmp_path, nlp):
    write_brat(tmp_path, "a", TEXT, "T1\tPATIENT 3 13\tJohn Smith\nT2\tMYSTERY 19 28\t3/14/2021\n")
    with pytest.raises(CorpusError, match="unknown label 'MYSTERY'"):
        list(BratCorpus(tmp_path, labels=["PATIENT", "DATE"]).docs(nlp))
    with pytest.raises(CorpusError, match="more than max_chars=10"):
        list(BratCorpus(tmp_path, max_chars=10).docs(nlp))


def test_alignment_mode_expand_snaps_to_tokens(tmp_path, nlp):
    write_brat(tmp_path, "a", TEXT, "T1\tPATIENT 4 13\tohn Smith\n")
    docs = list(BratCorpus(tmp_path, alignment_mode="expand").docs(nlp))
    assert ents(docs[0]) == [("John Smith", "PATIENT")]


def test_whitespace_at_span_ends_is_trimmed_and_a_blank_span_is_a_problem(tmp_path, nlp):
    text = "ALT \u200a21\u200aIU/L and\n\n 70 mg daily"
    write_brat(tmp_path, "a", text, "T1\tLab_value 4 13\t\u200a21\u200aIU/L \n")
    spans = [[17, 25, "Dosage"], [17, 19, "Dosage"]]  # "\n\n 70 mg " and "\n\n"
    write_jsonl(tmp_path / "a.jsonl", [{"text": text, "spans": spans}])
    doc = next(iter(BratCorpus(tmp_path / "a.txt").docs(nlp)))
    assert ents(doc) == [("21\u200aIU/L", "Lab_value")]
    corpus = JsonlCorpus(tmp_path / "a.jsonl", on_error="skip")
    doc = next(iter(corpus.docs(nlp)))
    assert ents(doc) == [("70 mg", "Dosage")]
    assert [p.problem for p in corpus.problems] == ["span (Dosage) holds only whitespace"]
    # Trimmed spans train: spaCy's NER refuses a gold span that starts or ends with whitespace (E024).
    examples = [
        *BratCorpus(tmp_path / "a.txt")(nlp),
        *JsonlCorpus(tmp_path / "a.jsonl", on_error="skip")(nlp),
    ]
    nlp.add_pipe("ner")
    nlp.initialize(lambda: examples)
    assert "ner" in nlp.update(examples)


def test_alignment_mode_split_keeps_glued_spans_exact(tmp_path, nlp):
    text = "seen by Perez54August 14, 2016loyd for chest pain"
    spans = [(8, 13, "DOCTOR"), (15, 30, "DATE"), (39, 49, "PROBLEM")]
    write_jsonl(tmp_path / "s.jsonl", [{"text": text, "spans": [list(s) for s in spans]}])
    strict = JsonlCorpus(tmp_path / "s.jsonl", on_error="skip")
    assert ents(next(iter(strict.docs(nlp)))) == [("chest pain", "PROBLEM")] and len(strict.problems) == 2
    doc = next(iter(JsonlCorpus(tmp_path / "s.jsonl", alignment_mode="split").docs(nlp)))
    assert doc.text == text and ents(doc) == [
        ("Perez", "DOCTOR"),
        ("August 14, 2016", "DATE"),
        ("chest pain", "PROBLEM"),
    ]
    assert [t.text for t in doc][2:5] == ["Perez", "54", "August"]


# -- JSONL ------------------------------------------------------------------------------------
def write_jsonl(path, lines):
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n")


def test_jsonl_reads_spans_entities_and_meta(tmp_path, nlp):
    path = tmp_path / "notes.jsonl"
    write_jsonl(
        path,
        [
            {
                "text": TEXT,
                "spans": [{"start": 3, "end": 13, "label": "PATIENT", "token_start": 1}],
                "meta": {"a": 1},
            },
            {"text": TEXT, "entities": [[19, 28, "DATE"]], "id": "n2"},
            {"text": TEXT, "spans": [], "answer": "reject"},
        ],
    )
    corpus = JsonlCorpus(path, on_error="skip")
    docs = list(corpus.docs(nlp))
    assert [ents(d) for d in docs] == [[("John Smith", "PATIENT")], [("3/14/2021", "DATE")]]
    assert docs[0]._.note_meta == {"a": 1} and docs[1]._.note_meta == {"id": "n2"}
    assert "line 3: Prodigy answer is 'reject'" in str(corpus.problems[0])


@pytest.mark.parametrize(
    "line,problem",
    [
        ('{"text": "abc", ', "line 2: invalid JSON"),
        ("[1, 2]", "line 2: expected a JSON object, got list"),
        ('{"spans": []}', 'line 2: missing "text" string'),
        ('{"text": "   "}', "line 2: empty text"),
        ('{"text": "abc", "spans": {"start": 0}}', 'line 2: "spans" / "entities" must be a list'),
        ('{"text": "abc def", "spans": [{"start": 0}]}', "line 2, span 0: cannot read a (start, end, label)"),
        ('{"text": "abc def", "spans": [[0, 30, "X"]]}', "line 2, span 0: span 0-30 (X) is out of range"),
        (
            '{"text": "abc def", "spans": [[4, 7, "X"], ["0", 3, "X"]]}',
            "line 2, span 1: span offsets must be integers",
        ),
        ('{"text": "abc def", "spans": [[0, 3, "X"], [2, 7, "Y"]]}', "line 2, span 1: span 2-7 (Y) overlaps"),
    ],
)
def test_jsonl_errors_name_file_line_and_problem(tmp_path, nlp, line, problem):
    path = tmp_path / "bad.jsonl"
    write_jsonl(path, [{"text": TEXT}, line])
    with pytest.raises(CorpusError) as err:
        list(JsonlCorpus(path).docs(nlp))
    assert str(err.value).startswith(str(path)) and problem in str(err.value)


def test_jsonl_bad_encoding_names_the_line_and_skips_only_it(tmp_path, nlp):
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b'{"text": "fine"}\n{"text": "caf\xe9"}\n{"text": "also fine"}\n')
    with pytest.raises(CorpusError, match=r"mixed.jsonl, line 2 \(byte 13\): not valid utf8"):
        list(JsonlCorpus(path).docs(nlp))
    corpus = JsonlCorpus(path, on_error="skip")
    assert [d.text for d in corpus.docs(nlp)] == ["fine", "also fine"]
    assert len(corpus.problems) == 1


# -- DocBin -----------------------------------------------------------------------------------
def test_docbin_reads_docs_and_reports_bad_ones(tmp_path, nlp):
    good = nlp.make_doc(TEXT)
    good.ents = [good.char_span(3, 13, "PATIENT"), good.char_span(19, 28, "ODD")]
    DocBin(docs=[good, nlp.make_doc("")]).to_disk(tmp_path / "docs.spacy")
    with pytest.raises(CorpusError, match="docs.spacy, doc 1: empty text"):
        list(DocBinCorpus(tmp_path / "docs.spacy").docs(nlp))
    corpus = DocBinCorpus(tmp_path / "docs.spacy", labels=["PATIENT"], on_error="skip")
    docs = list(corpus.docs(nlp))
    assert [ents(d) for d in docs] == [[("John Smith", "PATIENT")]]
    assert [p.problem.split(";")[0] for p in corpus.problems] == ["unknown labels ['ODD']", "empty text"]


def test_docbin_corrupt_file_is_a_clear_error(tmp_path, nlp):
    (tmp_path / "corrupt.spacy").write_bytes(b"not a docbin at all")
    with pytest.raises(CorpusError, match="corrupt.spacy, file: not a spaCy DocBin"):
        list(DocBinCorpus(tmp_path / "corrupt.spacy").docs(nlp))


# -- CoNLL ------------------------------------------------------------------------------------
CONLL = """-DOCSTART- -X- -X- O

John NNP B-NP B-PATIENT
Smith NNP I-NP I-PATIENT
has VBZ B-VP O
chest NN B-NP B-PROBLEM
pain NN I-NP I-PROBLEM
. . O O

He PRP B-NP O
improved VBD B-VP O

-DOCSTART- -X- -X- O

Mary NNP B-NP I-PATIENT
Jones NNP I-NP I-PATIENT
left VBD B-VP O
"""


def test_conll_documents_sentences_and_iob1(tmp_path, nlp):
    (tmp_path / "a.conll").write_text(CONLL)
    docs = list(ConllCorpus(tmp_path / "a.conll").docs(nlp))
    assert len(docs) == 2
    assert docs[0].text == "John Smith has chest pain .\nHe improved"
    assert ents(docs[0]) == [("John Smith", "PATIENT"), ("chest pain", "PROBLEM")]
    assert ents(docs[1]) == [("Mary Jones", "PATIENT")]
    by_sentence = list(ConllCorpus(tmp_path / "a.conll", n_sents=1).docs(nlp))
    assert [d.text for d in by_sentence] == ["John Smith has chest pain .", "He improved", "Mary Jones left"]


def test_conll_bad_tag_names_the_line(tmp_path, nlp):
    (tmp_path / "bad.bio").write_text("John B-PATIENT\nSmith X-PATIENT\n")
    with pytest.raises(CorpusError, match=r"bad.bio, line 2: expected 'TOKEN \.\.\. TAG'"):
        list(ConllCorpus(tmp_path / "bad.bio").docs(nlp))
    corpus = ConllCorpus(tmp_path / "bad.bio", on_error="skip")
    assert ents(next(corpus.docs(nlp))) == [("John", "PATIENT")]


# -- dispatch, registry, training ----------------------------------------------------------------
def test_guess_format_and_missing_path(tmp_path):
    assert guess_format("a.jsonl") == "jsonl" and guess_format("a.spacy") == "docbin"
    assert guess_format("a.conll") == "conll" and guess_format(tmp_path) == "brat"
    with pytest.raises(CorpusError, match="cannot tell the format"):
        guess_format(tmp_path / "notes.csv")
    with pytest.raises(CorpusError, match="does not exist"):
        list(open_corpus(tmp_path / "nothing.jsonl").docs(spacy.blank("en")))


@pytest.mark.parametrize(
    "name",
    [
        "spacy_synthnotes.BratCorpus.v1",
        "spacy_synthnotes.JsonlCorpus.v1",
        "spacy_synthnotes.DocBinCorpus.v1",
        "spacy_synthnotes.ConllCorpus.v1",
    ],
)
def test_registered_readers_yield_examples(tmp_path, nlp, name):
    doc = nlp.make_doc(TEXT)
    doc.ents = [doc.char_span(3, 13, "PATIENT")]
    write_brat(tmp_path / "brat", "a", TEXT, "T1\tPATIENT 3 13\tJohn Smith\n")
    write_jsonl(tmp_path / "a.jsonl", [{"text": TEXT, "spans": [[3, 13, "PATIENT"]]}])
    DocBin(docs=[doc]).to_disk(tmp_path / "a.spacy")
    (tmp_path / "a.conll").write_text(
        "\n".join(f"{t.text} {'B-PATIENT' if t.i == 1 else 'I-PATIENT' if t.i == 2 else 'O'}" for t in doc)
    )
    paths = {
        "BratCorpus": "brat",
        "JsonlCorpus": "a.jsonl",
        "DocBinCorpus": "a.spacy",
        "ConllCorpus": "a.conll",
    }
    reader = registry.readers.get(name)(path=str(tmp_path / paths[name.split(".")[1]]))
    examples = list(reader(nlp))
    assert len(examples) == 1
    assert [(e.text, e.label_) for e in examples[0].reference.ents] == [("John Smith", "PATIENT")]
    assert isinstance(examples[0].predicted, Doc) and not examples[0].predicted.ents


def test_on_error_value_is_checked():
    with pytest.raises(ValueError, match="on_error must be one of"):
        JsonlCorpus("x.jsonl", on_error="ignore")


# -- real corpora (skipped where ../shared/data is absent) -----------------------------------------
needs_shared = pytest.mark.skipif(not SHARED_DATA.exists(), reason="../shared/data is not present")


@needs_shared
def test_maccrobat_brat_with_discontinuous_and_overlapping_spans(nlp):
    corpus = BratCorpus(SHARED_DATA / "maccrobat2020" / "MACCROBAT2020", on_error="skip")
    docs = list(corpus.docs(nlp))
    assert len(docs) == 200
    assert sum(len(d.ents) for d in docs) > 20_000
    kinds = {p.problem.split(" ")[0] for p in corpus.problems}
    assert kinds == {"span", "discontinuous"}
    with pytest.raises(CorpusError, match="overlaps|discontinuous|token boundaries"):
        list(BratCorpus(SHARED_DATA / "maccrobat2020" / "MACCROBAT2020").docs(nlp))


@needs_shared
def test_ncbi_disease_conll_and_brat(nlp):
    conll = list(ConllCorpus(SHARED_DATA / "ncbi_disease" / "conll" / "test.tsv", n_sents=10).docs(nlp))
    assert sum(len(d.ents) for d in conll) == 960
    brat = BratCorpus(SHARED_DATA / "ncbi_disease" / "standoff" / "test", on_error="skip")
    assert len(list(brat.docs(nlp))) == 100
