//! "Did you mean …?": the closest known name to a misspelt one.

/// The known name closest to `name`, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(name: &str, known: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(1);
    let mut best: Option<(usize, &str)> = None;
    for k in known {
        if k == name || k.is_empty() {
            continue;
        }
        let d = strsim::damerau_levenshtein(name, k);
        let close = d <= limit || (k.contains(name) && name.len() >= 3);
        if close && best.is_none_or(|(bd, bk)| d < bd || (d == bd && k < bk)) {
            best = Some((d, k));
        }
    }
    best.map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let known = ["company_size", "industry", "country"];
        assert_eq!(
            did_you_mean("company_sise", known.into_iter()),
            Some("company_size")
        );
        assert_eq!(did_you_mean("industy", known.into_iter()), Some("industry"));
        assert_eq!(did_you_mean("budget", known.into_iter()), None);
    }
}
