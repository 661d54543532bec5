//! The Tandem compiler: name resolution and type checking (front half).
