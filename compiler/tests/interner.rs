//! Property tests of the interner: equal texts share a symbol, every symbol gives its text back, and lookups never invent one.

use compiler::ir::Interner;
use proptest::prelude::*;

proptest! {
    #[test]
    fn every_text_keeps_one_symbol_and_comes_back(texts in proptest::collection::vec(".{0,12}", 0..200)) {
        let mut interner = Interner::default();
        let symbols: Vec<u32> = texts.iter().map(|t| interner.intern(t)).collect();
        for (text, &sym) in texts.iter().zip(&symbols) {
            prop_assert_eq!(interner.get(sym), text.as_str());
            prop_assert_eq!(interner.lookup(text), Some(sym));
            prop_assert_eq!(interner.intern(text), sym, "interning again gives the same symbol");
        }
        let distinct: std::collections::HashSet<&String> = texts.iter().collect();
        // Symbol 0 is always "", interned at the start.
        let extra = usize::from(!distinct.contains(&String::new()));
        prop_assert_eq!(interner.len(), distinct.len() + extra);
    }

    #[test]
    fn lookups_of_unknown_texts_find_nothing(known in proptest::collection::vec("[a-z]{1,6}", 0..50), probe in "[A-Z]{1,6}") {
        let mut interner = Interner::default();
        for t in &known {
            interner.intern(t);
        }
        prop_assert_eq!(interner.lookup(&probe), None);
        prop_assert_eq!(interner.get(u32::MAX), "");
    }
}
