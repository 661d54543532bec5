//! "Did you mean …?": the closest known word to a misspelt one — one rule for names (the checker), keywords and units (the parser).

/// The known word closest to `word`, if it is close enough to be a likely typo: at most
/// one edit per three letters (at least one; a swap of two letters is one edit; letter case
/// does not count), or a
/// known word that contains it (three letters or more). Ties go to the first in byte order.
pub fn did_you_mean<'a>(word: &str, known: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    let mut best: Option<(usize, &str)> = None;
    for k in known {
        if k == word || k.is_empty() {
            continue;
        }
        // A word in other letter case (`MQL` for `mql`) is the closest of all.
        let d = if k.eq_ignore_ascii_case(word) {
            0
        } else {
            strsim::damerau_levenshtein(word, k)
        };
        let close = d <= limit || (k.contains(word) && word.len() >= 3);
        if close && best.is_none_or(|(bd, bk)| d < bd || (d == bd && k < bk)) {
            best = Some((d, k));
        }
    }
    best.map(|(_, k)| k)
}

/// Whether `word` is written as the grammar's `ident`: an ASCII letter or `_`, then ASCII
/// letters, digits and `_` (whether it is also a reserved word is not checked here).
pub fn is_ident(word: &str) -> bool {
    word.bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && word.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `word` without its accents: `nghiệp` → `nghiep`, `đơn` → `don`.
pub fn without_accents(word: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    word.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .map(|c| match c {
            'đ' => 'd',
            'Đ' => 'D',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_words_only() {
        let known = ["company_size", "industry", "country"];
        assert_eq!(
            did_you_mean("company_sise", known.into_iter()),
            Some("company_size")
        );
        assert_eq!(did_you_mean("industy", known.into_iter()), Some("industry"));
        assert_eq!(did_you_mean("budget", known.into_iter()), None);
        let keywords = ["send", "set", "wait", "split"];
        assert_eq!(did_you_mean("sned", keywords.into_iter()), Some("send"));
        assert_eq!(did_you_mean("wiat", keywords.into_iter()), Some("wait"));
        let stages = ["lead", "mql", "sql"];
        assert_eq!(did_you_mean("MQL", stages.into_iter()), Some("mql"));
        assert_eq!(did_you_mean("Sql", stages.into_iter()), Some("sql"));
    }
}
