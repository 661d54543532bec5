//! The Tandem runtime engine (pure: inputs and a clock in, effects out).
