"""Feature extraction: TF-IDF over character n-grams (title and text) and jieba words.

Character n-grams are computed with vectorised numpy over code points rather than sklearn's
Python analyzers: that is what makes ~thousands of predictions a second on one core possible.
Word segmentation is the slow part (~5 µs a character), so jieba words are taken from the title
(where the matter is named) and, if ``word_chars`` > 0, that many leading characters of the text;
by default none: cross-validation scored both the same, and the text is covered by character
n-grams and the LSA dimensions.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import yaml
from sklearn.decomposition import TruncatedSVD

from .text import get_segmenter, is_segmented, mostly_segmented, normalize, split_segmented
from .yamlfile import load_yaml

# A word that jieba's dictionary expects this many times in the training text, but that never
# occurs there, was removed as a stop word (FeatureExtractor.words_of).
STOP_EXPECTED = 5.0
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
    """Counts → sublinear tf × idf → L2-normalised rows (in place on the CSR data: a broadcast
    multiply would build a dense rows × vocabulary intermediate)."""
    x = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(n_rows, n_cols), dtype=np.float32)
    x.sum_duplicates()
    data = (np.log(x.data) + 1.0) * idf[x.indices]
    row_of = np.repeat(np.arange(n_rows), np.diff(x.indptr))
    norms = np.sqrt(np.bincount(row_of, weights=data * data, minlength=n_rows))
    norms[norms == 0] = 1.0
    x.data = (data / norms[row_of]).astype(np.float32)
    return x


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


class _HashTable:
    """int64 key → position in ``keys``, linear probing, load factor ≤ 1/4."""

    def __init__(self, keys: np.ndarray) -> None:
        bits = max(4, int(np.ceil(np.log2(max(1, len(keys)) * 4))))
        self.shift = np.uint64(64 - bits)
        self.mask = (1 << bits) - 1
        self.keys = np.full(1 << bits, -1, dtype=np.int64)  # codes are ≥ 1, so -1 marks empty
        self.vals = np.full(1 << bits, -1, dtype=np.int32)
        pending = np.arange(len(keys))
        slot = self._hash(keys)
        while len(pending):
            s = slot[pending]
            free = self.keys[s] == -1
            # among keys aiming at the same free slot, the first one takes it
            cand, first = np.unique(s[free], return_index=True)
            winners = pending[free][first]
            self.keys[cand] = keys[winners]
            self.vals[cand] = winners
            placed = np.zeros(len(keys), dtype=bool)
            placed[winners] = True
            pending = pending[~placed[pending]]
            slot[pending] = (slot[pending] + 1) & self.mask

    def _hash(self, codes: np.ndarray) -> np.ndarray:
        return ((codes.astype(np.uint64) * _GOLDEN) >> self.shift).astype(np.int64)

    def lookup(self, codes: np.ndarray) -> np.ndarray:
        out = np.full(len(codes), -1, dtype=np.int64)
        pending = np.arange(len(codes))
        slot = self._hash(codes)
        while len(pending):
            s = slot[pending]
            k = self.keys[s]
            found = k == codes[pending]
            out[pending[found]] = self.vals[s[found]]
            go_on = ~found & (k != -1)
            pending = pending[go_on]
            slot[pending] = (s[go_on] + 1) & self.mask
        return out


class CharNgramTfidf:
    """Character n-gram TF-IDF (sublinear tf, smooth idf, L2 rows) over normalised text."""

    def __init__(self, ngram_range: tuple[int, int] = (1, 3), min_df: int = 2, max_features: int | None = None):
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_features = max_features

    def fit(self, texts: Sequence[str]) -> CharNgramTfidf:
        n_docs = len(texts)
        docs, codes = _codes(texts, self.ngram_range)
        # document frequency: distinct codes, then distinct (doc, code) pairs as one int64 each
        uniq, inv = np.unique(codes, return_inverse=True)
        pairs = np.unique(docs * len(uniq) + inv) % max(len(uniq), 1)
        df = np.bincount(pairs, minlength=len(uniq))
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
        idx = self._lookup(codes)
        hit = idx >= 0
        return _tfidf_rows(docs[hit], idx[hit], len(texts), n_vocab, self.idf_)

    def _lookup(self, codes: np.ndarray) -> np.ndarray:
        """Vocabulary index of each code, -1 when absent: an open-addressing hash table probed
        in vectorised rounds (3-4x faster than a binary search over the sorted vocabulary)."""
        table = self.__dict__.get("_table")
        if table is None:
            table = self.__dict__["_table"] = _HashTable(self.vocab_)
        return table.lookup(codes)

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_table"}  # rebuilt on first use

    @property
    def n_features(self) -> int:
        return len(self.vocab_)


def word_ngrams(tokens: list[str]) -> list[str]:
    """Unigrams and adjacent bigrams of a token list."""
    return tokens + list(map(" ".join, zip(tokens, tokens[1:], strict=False)))


class WordTfidf:
    """TF-IDF over word unigrams + bigrams (same maths as the char blocks); a plain dict lookup,
    since sklearn's vectorizer costs ~1 ms a call in validation alone."""

    def __init__(self, min_df: int = 2) -> None:
        self.min_df = min_df

    def fit(self, docs: Sequence[list[str]]) -> WordTfidf:
        df: dict[str, int] = {}
        for tokens in docs:
            for g in set(word_ngrams(tokens)):
                df[g] = df.get(g, 0) + 1
        terms = sorted(t for t, n in df.items() if n >= min(self.min_df, max(1, len(docs))))
        self.vocabulary_ = {t: i for i, t in enumerate(terms)}
        counts = np.array([df[t] for t in terms], dtype=np.float64)
        self.idf_ = (np.log((1.0 + len(docs)) / (1.0 + counts)) + 1.0).astype(np.float32)
        return self

    def transform(self, docs: Sequence[list[str]]) -> sp.csr_matrix:
        grams = [word_ngrams(tokens) for tokens in docs]
        # one C-level pass of dict lookups over all documents' n-grams (a Python loop costs 3x)
        cols = np.fromiter(
            map(self.vocabulary_.get, itertools.chain.from_iterable(grams), itertools.repeat(-1)), dtype=np.int64
        )
        rows = np.repeat(np.arange(len(docs)), [len(g) for g in grams])
        hit = cols >= 0
        return _tfidf_rows(rows[hit], cols[hit], len(docs), len(self.vocabulary_), self.idf_)

    @property
    def n_features(self) -> int:
        return len(self.vocabulary_)


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
    """(title, text) → one sparse row: char n-grams of title and of text, jieba words (title, and
    text start if ``word_chars``), then (if enabled) LSA dimensions as the last ``n_dense`` columns.

    The title is short and chosen by the citizen or agent to name the matter, so it gets its
    own blocks instead of being drowned in the text. The first ``n_sparse`` columns are
    non-negative (usable by naive Bayes); the LSA columns are not. With a category lexicon, the
    last columns are per-category log(1 + term hits) of the title and of the text.
    """

    def __init__(
        self,
        user_dict_text: str = "",
        title_char_ngrams: tuple[int, int] = (1, 3),
        text_char_ngrams: tuple[int, int] = (1, 3),
        word_chars: int = 0,
        min_df: int = 2,
        weights: tuple[float, float, float] = (1.0, 1.0, 1.0),
        lsa_components: int = 150,
        lsa_weight: float = 1.0,
        lexicon: Mapping[str, Sequence[str]] | None = None,
        lexicon_weight: float = 0.0,
    ) -> None:
        self.user_dict_text = user_dict_text
        self.title_char_ngrams = title_char_ngrams
        self.text_char_ngrams = text_char_ngrams
        self.word_chars = word_chars
        self.min_df = min_df
        self.weights = weights
        self.lsa_components = lsa_components
        self.lsa_weight = lsa_weight
        self.lexicon = dict(lexicon or {})
        self.lexicon_weight = lexicon_weight

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
        """Normalised title, normalised text, and the words of each appeal.

        A model trained on segmented text (``segmented_``) sees every text as its words joined by
        spaces, whether the words came segmented or were cut here from raw text, and takes its
        word features from the whole text (the words are given: no segmentation cost).
        """
        if self.__dict__.get("segmented_"):
            return self._prepare_segmented(titles, texts)
        nt = [normalize(t) for t in titles]
        nx = [normalize(t) for t in texts]
        cut = self.segmenter.cut
        n = self.word_chars
        words = [cut(a + "。" + b[:n]) if n else cut(a) for a, b in zip(nt, nx, strict=True)]
        return nt, nx, words

    def words_of(self, text: str) -> list[str]:
        """The words of one text, in a model trained on segmented text: split when the text comes
        segmented; otherwise cut the way jieba cuts by default (how such data sets are made), less
        the words the data's stop-word list removed (的, 了, 我们 ...). Those are told by absence:
        a word jieba's dictionary makes common enough to be expected at least ``STOP_EXPECTED``
        times in the training text, yet never there. A rare word the model never saw is kept."""
        if is_segmented(text):
            return split_segmented(text)
        seg = get_segmenter("")
        vocab, n = self.token_vocab_, self.n_tokens_
        return [w for w in seg.cut_as_jieba_default(normalize(text)) if w in vocab or seg.share(w) * n < STOP_EXPECTED]

    def _prepare_segmented(
        self, titles: Sequence[str], texts: Sequence[str]
    ) -> tuple[list[str], list[str], list[list[str]]]:
        title_words = [self.words_of(t) if t else [] for t in titles]
        text_words = [self.words_of(t) if t else [] for t in texts]
        if not self.titles_:  # trained on one text column: the title is the text's first words
            text_words = [a + b for a, b in zip(title_words, text_words, strict=True)]
            title_words = [[] for _ in titles]
        words = [a + b for a, b in zip(title_words, text_words, strict=True)]
        return [" ".join(w) for w in title_words], [" ".join(w) for w in text_words], words

    def fit(self, titles: Sequence[str], texts: Sequence[str], unlabeled: Sequence[str] = ()) -> FeatureExtractor:
        """Fit on the training appeals; ``unlabeled`` (whole appeal texts) only shapes the LSA.

        When most training texts come segmented (words separated by spaces), the model works on
        words: see ``_prepare``."""
        self._fit(titles, texts, unlabeled)
        return self

    def _fit(
        self, titles: Sequence[str], texts: Sequence[str], unlabeled: Sequence[str]
    ) -> tuple[list[str], list[str], list[list[str]]]:
        self.segmented_ = mostly_segmented(texts)
        self.titles_ = any((t or "").strip() for t in titles)
        if self.segmented_:
            # every word of the training texts; a raw text's words outside it are dropped
            words = [split_segmented(t) for t in texts if is_segmented(t)]
            self.token_vocab_ = frozenset(w for ws in words for w in ws)
            self.n_tokens_ = sum(map(len, words))
        nt, nx, words = self._prepare(titles, texts)
        # Titles are short: a title n-gram seen once is still informative, hence min_df=1.
        self.title_char_ = CharNgramTfidf(self.title_char_ngrams, min_df=1).fit(nt)
        self.text_char_ = CharNgramTfidf(self.text_char_ngrams, min_df=self.min_df).fit(nx)
        self.words_ = WordTfidf(min_df=self.min_df).fit(words)
        self.lsa_: LatentSemantic | None = None
        if self.lsa_components > 0:
            docs = [a + "。" + b for a, b in zip(nt, nx, strict=True)] + self._prepare(
                [""] * len(unlabeled), unlabeled
            )[1]
            self.lsa_ = LatentSemantic(self.lsa_components).fit(docs)
        self.lexicon_: CategoryLexicon | None = None
        if self.lexicon_weight > 0 and any(self.lexicon.values()):
            self.lexicon_ = CategoryLexicon({c: t for c, t in self.lexicon.items() if t})
        return nt, nx, words

    def transform(self, titles: Sequence[str], texts: Sequence[str]) -> sp.csr_matrix:
        return self._assemble(*self._prepare(titles, texts))

    def _assemble(self, nt: list[str], nx: list[str], words: list[list[str]]) -> sp.csr_matrix:
        wt, wx, ww = self.weights
        blocks = [
            self.title_char_.transform(nt) * wt,
            self.text_char_.transform(nx) * wx,
            self.words_.transform(words) * ww,
        ]
        if self.lsa_ is not None:
            docs = [a + "。" + b for a, b in zip(nt, nx, strict=True)]
            blocks.append(sp.csr_matrix(self.lsa_.transform(docs) * self.lsa_weight))
        lex = self.__dict__.get("lexicon_")
        if lex is not None:
            # per category: log(1 + hits) in the title, then in the text, scaled by lexicon_weight
            if self.__dict__.get("segmented_"):  # terms are matched across word boundaries
                nt, nx = [t.replace(" ", "") for t in nt], [t.replace(" ", "") for t in nx]
            z = np.hstack([lex.counts(nt), lex.counts(nx)])
            blocks.append(sp.csr_matrix(np.log1p(z) * self.lexicon_weight))
        return sp.hstack(blocks, format="csr", dtype=np.float32)

    def fit_transform(
        self, titles: Sequence[str], texts: Sequence[str], unlabeled: Sequence[str] = ()
    ) -> sp.csr_matrix:
        return self._assemble(*self._fit(titles, texts, unlabeled))

    def blocks(self) -> dict[str, tuple[int, int]]:
        """Column range of each feature block: title_char, text_char, words, lsa, lexicon."""
        a = self.title_char_.n_features
        b = a + self.text_char_.n_features
        c = b + self.words_.n_features
        d = c + (0 if self.lsa_ is None else self.lsa_.components_.shape[1])
        return {
            "title_char": (0, a),
            "text_char": (a, b),
            "words": (b, c),
            "lsa": (c, d),
            "lexicon": (d, d + self.n_lexicon),
        }

    def view_mask(self, blocks: Sequence[str]) -> np.ndarray:
        """A 0/1 column mask selecting the named blocks."""
        ranges = self.blocks()
        mask = np.zeros(self.n_sparse + self.n_dense, dtype=bool)
        for name in blocks:
            lo, hi = ranges[name]
            mask[lo:hi] = True
        return mask

    @property
    def n_sparse(self) -> int:
        """Number of leading non-negative (TF-IDF) columns."""
        return self.title_char_.n_features + self.text_char_.n_features + self.words_.n_features

    @property
    def n_lexicon(self) -> int:
        lex = self.__dict__.get("lexicon_")
        return 0 if lex is None else 2 * len(lex.categories)

    @property
    def n_dense(self) -> int:
        """Trailing dense columns: LSA dimensions, then lexicon hits."""
        return (0 if self.lsa_ is None else self.lsa_.components_.shape[1]) + self.n_lexicon


_SHIFT48 = np.uint64(48)


def _rolling_hashes(cp: np.ndarray, n: int) -> np.ndarray:
    """Hash of every length-``n`` window of ``cp`` (uint64 code points): h = (h + c) · golden,
    wrapping; the multiply after each character mixes every character into the top bits."""
    m = len(cp) - n + 1
    h = np.zeros(m, dtype=np.uint64)
    for j in range(n):
        h += cp[j : j + m]
        h *= _GOLDEN
    return h


class CategoryLexicon:
    """Hits of per-category term lists (``resources/category_lexicon.yaml``) in a text.

    Domain knowledge the training appeals may lack: a term counts for every category it is listed
    under. Matching is exact substring search over normalised text, done for a whole batch at once
    with a rolling hash per term length and a sorted-array lookup (64-bit hashes; collisions are
    negligible, and the tests check the counts against a plain substring count).
    """

    def __init__(self, terms: dict[str, Sequence[str]]) -> None:
        self.categories = list(terms)
        pairs: dict[str, set[int]] = {}
        for j, cat in enumerate(self.categories):
            for t in terms[cat]:
                t = normalize(str(t))
                if t and "\0" not in t:
                    pairs.setdefault(t, set()).add(j)
        self.terms = sorted(pairs)
        self.term_categories = [sorted(pairs[t]) for t in self.terms]
        # per term length: sorted hashes and the term index of each
        self.tables_: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        by_len: dict[int, list[int]] = {}
        for i, t in enumerate(self.terms):
            by_len.setdefault(len(t), []).append(i)
        for n, idx in sorted(by_len.items()):
            hashes = np.array([_rolling_hashes(self._cp(self.terms[i]), n)[0] for i in idx], dtype=np.uint64)
            order = np.argsort(hashes, kind="stable")
            self.tables_[n] = (hashes[order], np.asarray(idx, dtype=np.int64)[order])
        # a 2**16-bit filter on mixed hash bits: only the ~1% of windows that pass are looked up
        self.filter_ = np.zeros(1 << 16, dtype=bool)
        for hashes, _ in self.tables_.values():
            self.filter_[hashes >> _SHIFT48] = True
        rows = [i for i, cs in enumerate(self.term_categories) for _ in cs]
        cols = [c for cs in self.term_categories for c in cs]
        self.term_to_cat_ = sp.csr_matrix(
            (np.ones(len(rows), np.float32), (rows, cols)), shape=(len(self.terms), len(self.categories))
        )

    @staticmethod
    def _cp(text: str) -> np.ndarray:
        return np.frombuffer(text.encode("utf-32-le"), dtype="<u4").astype(np.uint64)

    def counts(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), len(categories)) hit counts in already normalised texts."""
        n_docs = len(texts)
        out = np.zeros((n_docs, len(self.categories)), dtype=np.float32)
        if not n_docs or not self.terms:
            return out
        cp = self._cp("\0".join(t.replace("\0", " ") for t in texts) + "\0")
        nuls = np.flatnonzero(cp == 0)  # document ends
        docs: list[np.ndarray] = []
        hits: list[np.ndarray] = []
        h = np.zeros(len(cp), dtype=np.uint64)  # hashes of the length-n windows, grown by one char
        for n in range(1, max(self.tables_, default=0) + 1):
            m = len(cp) - n + 1
            if m <= 0:
                break
            h = h[:m]  # in place: the longer windows' hashes extend the shorter ones'
            h += cp[n - 1 :]
            h *= _GOLDEN
            table = self.tables_.get(n)
            if table is None:
                continue
            hashes, idx = table
            cand = np.flatnonzero(self.filter_[h >> _SHIFT48])
            doc = np.searchsorted(nuls, cand)  # the document a window starts in: NULs before it
            clean = np.searchsorted(nuls, cand + n) == doc  # the window holds no NUL
            cand, doc = cand[clean], doc[clean]
            hc = h[cand]
            pos = np.minimum(np.searchsorted(hashes, hc), len(hashes) - 1)
            found = hashes[pos] == hc
            docs.append(doc[found])
            hits.append(idx[pos[found]])
        if docs:
            d, t = np.concatenate(docs), np.concatenate(hits)
            per_term = sp.csr_matrix((np.ones(len(d), np.float32), (d, t)), shape=(n_docs, len(self.terms)))
            out = np.asarray((per_term @ self.term_to_cat_).todense(), dtype=np.float32)
        return out


def load_lexicon(path: str | Path) -> dict[str, list[str]]:
    """A category lexicon file: YAML/JSON ``{categories: {name: [term, ...]}}`` (or the mapping
    itself)."""
    try:
        data = load_yaml(Path(path).read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML ({exc})") from exc
    if isinstance(data, dict) and isinstance(data.get("categories"), dict):
        data = data["categories"]
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of category → list of terms")
    out: dict[str, list[str]] = {}
    for cat, terms in data.items():
        if terms is None:
            continue
        if not isinstance(terms, list):
            raise ValueError(f"{path}: terms of {cat!r} must be a list")
        out[str(cat)] = [str(t) for t in terms if str(t).strip()]
    return out
