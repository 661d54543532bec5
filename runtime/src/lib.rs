//! The Tandem runtime engine (pure: inputs and a clock in, effects out).
//!
//! So far: the timeline's exact bytes ([`timeline`]) and scenario validation
//! ([`scenario`]). The engine that
//! produces timelines lands with issue 4.

pub mod calendar;
pub mod embed;
pub mod engine;
pub mod scenario;
pub mod testing;
pub mod timeline;
