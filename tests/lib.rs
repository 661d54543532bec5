//! End-to-end tests of the tandem CLI and the example program.
