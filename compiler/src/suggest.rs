//! "Did you mean …?": the closest known name to a misspelt one (the parser's rule, shared so that names, keywords and units are suggested alike).

pub use grammar::suggest::did_you_mean;
