//! The Tandem runtime engine (pure: inputs and a clock in, effects out).
//!
//! Start with [`embed`]: check a program, feed inputs with their instants,
//! read the timeline, snapshot and restore. [`engine`] is the processing
//! model itself, [`calendar`] the teams' business time, [`scenario`] the
//! `tandem simulate` input, [`timeline`] its exact output bytes,
//! [`testing`] runs a program's `test` blocks, and [`versions`] puts a deploy
//! together (journey versions kept for the leads inside them).

#![warn(missing_docs)]

pub mod backtest;
pub mod calendar;
pub mod embed;
pub mod engine;
pub mod render;
pub mod scenario;
pub mod testing;
pub mod timeline;
pub mod versions;
