//! The Tandem standard library: built-in functions, their signatures, implementations and docs.
