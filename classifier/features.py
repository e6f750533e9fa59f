"""Feature extraction: TF-IDF over character n-grams (title and text) and jieba words.

Character n-grams are computed with vectorised numpy over code points rather than sklearn's
Python analyzers: that is what makes ~thousands of predictions a second on one core possible.
Word segmentation is the slow part (~3 µs a character), so words are taken from the title and
the first ``word_chars`` characters of the text, where a citizen states the matter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer

from .text import get_segmenter, normalize

_BITS = 20  # bits per code point in an n-gram code; 3 × 20 = 60 bits fits int64
_MAXCP = (1 << _BITS) - 1


def _codes(texts: Sequence[str], ngram_range: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(doc index, n-gram code) for every character n-gram of every text.

    Texts are joined with NUL; an n-gram containing NUL would cross two documents and is dropped.
    Codes of different orders never collide: an order-n code is ≥ 2**(BITS*(n-1)) as no char is 0.
    """
    lo, hi = ngram_range
    if not 1 <= lo <= hi <= 3:
        raise ValueError("char ngram_range must lie within (1, 3)")
    joined = "\0".join(t.replace("\0", " ") for t in texts) + "\0"
    cp = np.frombuffer(joined.encode("utf-32-le"), dtype="<u4").astype(np.int64)
    np.minimum(cp, _MAXCP, out=cp)
    doc = np.cumsum(cp == 0) - (cp == 0)  # index of the document each position belongs to
    docs: list[np.ndarray] = []
    codes: list[np.ndarray] = []
    n_pos = len(cp)
    for n in range(lo, hi + 1):
        m = n_pos - n + 1
        if m <= 0:
            continue
        code = cp[:m].copy()
        valid = cp[:m] != 0
        for j in range(1, n):
            nxt = cp[j : j + m]
            code = (code << _BITS) | nxt
            valid &= nxt != 0
        docs.append(doc[:m][valid])
        codes.append(code[valid])
    if not codes:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(docs), np.concatenate(codes)


def _tfidf_rows(rows: np.ndarray, cols: np.ndarray, n_rows: int, n_cols: int, idf: np.ndarray) -> sp.csr_matrix:
    """Counts → sublinear tf × idf → L2-normalised rows."""
    x = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(n_rows, n_cols), dtype=np.float32)
    x.sum_duplicates()
    np.log(x.data, out=x.data)
    x.data += 1.0
    x = x.multiply(idf.reshape(1, -1)).tocsr()
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    x = sp.diags(1.0 / norms).dot(x).tocsr()
    return x.astype(np.float32)


class CharNgramTfidf:
    """Character n-gram TF-IDF (sublinear tf, smooth idf, L2 rows) over normalised text."""

    def __init__(self, ngram_range: tuple[int, int] = (1, 3), min_df: int = 2, max_features: int | None = None):
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_features = max_features

    def fit(self, texts: Sequence[str]) -> CharNgramTfidf:
        n_docs = len(texts)
        docs, codes = _codes(texts, self.ngram_range)
        # document frequency: unique (doc, code) pairs, then count per code
        pairs = np.unique(np.stack([codes, docs]), axis=1) if len(codes) else np.zeros((2, 0), np.int64)
        uniq, df = np.unique(pairs[0], return_counts=True)
        keep = df >= min(self.min_df, max(1, n_docs))
        uniq, df = uniq[keep], df[keep]
        if self.max_features is not None and len(uniq) > self.max_features:
            top = np.sort(np.argsort(-df, kind="stable")[: self.max_features])
            uniq, df = uniq[top], df[top]
        self.vocab_ = uniq
        self.idf_ = (np.log((1.0 + n_docs) / (1.0 + df)) + 1.0).astype(np.float32)
        return self

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        docs, codes = _codes(texts, self.ngram_range)
        n_vocab = len(self.vocab_)
        if n_vocab == 0:
            return sp.csr_matrix((len(texts), 0), dtype=np.float32)
        idx = np.searchsorted(self.vocab_, codes)
        idx[idx == n_vocab] = 0
        hit = self.vocab_[idx] == codes
        return _tfidf_rows(docs[hit], idx[hit], len(texts), n_vocab, self.idf_)

    @property
    def n_features(self) -> int:
        return len(self.vocab_)


def word_ngrams(tokens: list[str]) -> list[str]:
    """Unigrams and adjacent bigrams of a token list (module-level so the model pickles)."""
    return tokens + [a + " " + b for a, b in zip(tokens, tokens[1:], strict=False)]


class LatentSemantic:
    """LSA: character-bigram TF-IDF reduced by truncated SVD to a few dense, L2-normalised
    dimensions. Fitted on training and (optionally) unlabeled appeals, it lets appeals that share
    no rare n-gram still land near each other (unlabeled text is used only here)."""

    def __init__(self, n_components: int = 150, max_features: int = 20000) -> None:
        self.n_components = n_components
        self.max_features = max_features

    def fit(self, docs: Sequence[str]) -> LatentSemantic:
        self.char_ = CharNgramTfidf((2, 2), min_df=3, max_features=self.max_features).fit(docs)
        x = self.char_.transform(docs)
        k = min(self.n_components, x.shape[0] - 1, x.shape[1] - 1)
        if k < 1:  # a toy data set: nothing to reduce, one all-zero dimension keeps shapes stable
            self.components_ = np.zeros((x.shape[1], 1), dtype=np.float32)
            return self
        svd = TruncatedSVD(k, random_state=0).fit(x)
        self.components_ = svd.components_.T.astype(np.float32)  # (vocab, k)
        return self

    # float16 on disk (half the size; the projection moves by ~1e-3), float32 in memory.
    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "components_": self.components_.astype(np.float16)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.components_ = np.asarray(self.components_, dtype=np.float32)

    def transform(self, docs: Sequence[str]) -> np.ndarray:
        z = np.asarray(self.char_.transform(docs) @ self.components_, dtype=np.float32)
        z /= np.linalg.norm(z, axis=1, keepdims=True) + 1e-9
        return z


class FeatureExtractor:
    """(title, text) → one sparse row: char n-grams of title and of text, jieba words of title
    and text start, then (if enabled) LSA dimensions as the last ``n_dense`` columns.

    The title is short and chosen by the citizen or agent to name the matter, so it gets its
    own blocks instead of being drowned in the text. The first ``n_sparse`` columns are
    non-negative (usable by naive Bayes); the LSA columns are not.
    """

    def __init__(
        self,
        user_dict_text: str = "",
        title_char_ngrams: tuple[int, int] = (1, 3),
        text_char_ngrams: tuple[int, int] = (1, 3),
        word_chars: int = 120,
        min_df: int = 2,
        weights: tuple[float, float, float] = (1.0, 1.0, 1.0),
        lsa_components: int = 150,
        lsa_weight: float = 1.0,
    ) -> None:
        self.user_dict_text = user_dict_text
        self.title_char_ngrams = title_char_ngrams
        self.text_char_ngrams = text_char_ngrams
        self.word_chars = word_chars
        self.min_df = min_df
        self.weights = weights
        self.lsa_components = lsa_components
        self.lsa_weight = lsa_weight

    # The jieba tokenizer is rebuilt from user_dict_text after unpickling, not stored.
    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_seg"}

    @property
    def segmenter(self) -> Any:
        seg = self.__dict__.get("_seg")
        if seg is None:
            seg = self.__dict__["_seg"] = get_segmenter(self.user_dict_text)
        return seg

    def _prepare(self, titles: Sequence[str], texts: Sequence[str]) -> tuple[list[str], list[str], list[list[str]]]:
        nt = [normalize(t) for t in titles]
        nx = [normalize(t) for t in texts]
        cut = self.segmenter.cut
        words = [cut(a + "。" + b[: self.word_chars]) for a, b in zip(nt, nx, strict=True)]
        return nt, nx, words

    def fit(self, titles: Sequence[str], texts: Sequence[str], unlabeled: Sequence[str] = ()) -> FeatureExtractor:
        """Fit on the training appeals; ``unlabeled`` (whole appeal texts) only shapes the LSA."""
        nt, nx, words = self._prepare(titles, texts)
        # Titles are short: a title n-gram seen once is still informative, hence min_df=1.
        self.title_char_ = CharNgramTfidf(self.title_char_ngrams, min_df=1).fit(nt)
        self.text_char_ = CharNgramTfidf(self.text_char_ngrams, min_df=self.min_df).fit(nx)
        self.words_ = TfidfVectorizer(
            analyzer=word_ngrams, sublinear_tf=True, min_df=min(self.min_df, len(titles)), dtype=np.float32
        ).fit(words)
        self.lsa_: LatentSemantic | None = None
        if self.lsa_components > 0:
            docs = [a + "。" + b for a, b in zip(nt, nx, strict=True)] + [normalize(u) for u in unlabeled]
            self.lsa_ = LatentSemantic(self.lsa_components).fit(docs)
        return self

    def transform(self, titles: Sequence[str], texts: Sequence[str]) -> sp.csr_matrix:
        nt, nx, words = self._prepare(titles, texts)
        wt, wx, ww = self.weights
        blocks = [
            self.title_char_.transform(nt) * wt,
            self.text_char_.transform(nx) * wx,
            self.words_.transform(words) * ww,
        ]
        if self.lsa_ is not None:
            docs = [a + "。" + b for a, b in zip(nt, nx, strict=True)]
            blocks.append(sp.csr_matrix(self.lsa_.transform(docs) * self.lsa_weight))
        return sp.hstack(blocks, format="csr", dtype=np.float32)

    def fit_transform(
        self, titles: Sequence[str], texts: Sequence[str], unlabeled: Sequence[str] = ()
    ) -> sp.csr_matrix:
        return self.fit(titles, texts, unlabeled).transform(titles, texts)

    @property
    def n_sparse(self) -> int:
        """Number of leading non-negative (TF-IDF) columns."""
        return self.title_char_.n_features + self.text_char_.n_features + len(self.words_.vocabulary_)

    @property
    def n_dense(self) -> int:
        return 0 if self.lsa_ is None else self.lsa_.components_.shape[1]
