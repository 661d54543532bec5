//! "Did you mean …?": the closest known name to a misspelt one (the parser's rule, shared so that names, keywords and units are suggested alike).

pub use grammar::suggest::did_you_mean;

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
