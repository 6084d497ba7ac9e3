"""Features: our fast TF-IDF transforms must equal sklearn's, n-gram for n-gram."""

from __future__ import annotations

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from nlp.chargrams import CharTfidf, gram_hash, ngram_hashes
from nlp.features import Features, FeatureSettings, feature_text, word_ngrams

TEXTS = [
    "سلام زباله\u200cهای کوچه 12 جمع نشده",
    "چاله بزرگ وسط خیابان ولیعصر",
    "چراغ کوچه خاموشه",
    "چراغ\u200cهای پارک خاموشه و چاله هم هست",
    "x",
    "  a\tb\n  c!! ؟ ",
]
UNSEEN = ["زباله و چاله در کوچه", "متن کاملا تازه", ""]
WORD_PATTERN = r"(?u)\b\w+\b"


def test_word_ngrams_match_sklearn() -> None:
    analyzer = TfidfVectorizer(token_pattern=WORD_PATTERN, ngram_range=(1, 2)).build_analyzer()  # noqa: S106
    for text in TEXTS:
        assert sorted(word_ngrams(feature_text(text), 2)) == sorted(analyzer(feature_text(text)))


def test_char_ngram_hashes_match_sklearn_char_wb() -> None:
    analyzer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5)).build_analyzer()
    texts = [feature_text(t) for t in TEXTS]
    docs, hashes = ngram_hashes(texts, 2, 5)
    for i, text in enumerate(texts):
        expected = sorted(gram_hash(g) for g in analyzer(text))
        assert sorted(int(h) for h in hashes[docs == i]) == expected


def test_char_tfidf_equals_sklearn() -> None:
    texts = [feature_text(t) for t in TEXTS]
    ours = CharTfidf.fit(texts, 2, 5)
    sk = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True).fit(texts)
    assert ours.size == len(sk.vocabulary_)
    # Reorder sklearn's columns into our hash order, then compare values.
    order = np.argsort([gram_hash(g) for g in sk.get_feature_names_out()])
    unseen = [feature_text(t) for t in UNSEEN]
    assert np.allclose(ours.transform(unseen).toarray(), sk.transform(unseen).toarray()[:, order], atol=1e-6)


def test_word_block_equals_sklearn() -> None:
    settings = FeatureSettings()
    features = Features.fit(settings, TEXTS)
    vocab, arrays = features.state()
    vec = TfidfVectorizer(
        token_pattern=WORD_PATTERN,  # noqa: S106
        ngram_range=settings.word_ngrams,
        sublinear_tf=True,
        vocabulary=vocab,
    )
    vec.idf_ = arrays["idf_word"]
    ours = features.transform(UNSEEN).toarray()[:, : len(vocab)]
    assert np.allclose(ours, vec.transform([feature_text(t) for t in UNSEEN]).toarray(), atol=1e-6)
    assert np.allclose(np.linalg.norm(ours, axis=1), [1.0, 0.0, 0.0])  # no known word in the others


def test_max_features_keeps_the_most_frequent() -> None:
    texts = ["آب آب آب", "نان"]  # " آ", "آب", "ب " occur 3 times; every bigram of «نان» once
    small = CharTfidf.fit(texts, 2, 2, max_features=3)
    assert set(small.hashes.tolist()) == {gram_hash(" آ"), gram_hash("آب"), gram_hash("ب ")}


def test_numbers_and_zwnj_are_folded_for_features() -> None:
    assert feature_text("کوچه\u200cی 12 پلاک 7") == "کوچه ی 0 پلاک 0"
