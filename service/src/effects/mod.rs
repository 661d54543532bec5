//! Effects: how a timeline line becomes durable outbox rows (mail to a lead, internal notices, webhook deliveries), written in the same commit as the line.

pub mod mail;
pub mod notify;
pub mod task;
pub mod webhook;
