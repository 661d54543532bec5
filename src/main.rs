//! The tandem command-line interface.
fn main() {}
