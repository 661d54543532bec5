//! Delivery of what the engine decided to send: email over SMTP or into `.eml` files ([`smtp`]), and webhook deliveries over HTTP ([`webhook`]).

pub mod smtp;
pub mod webhook;
