//! Signed links (tracking, unsubscribe, one-click task actions) and idempotency keys: HMAC-SHA256 over the link's parts, so a link cannot be forged or pointed elsewhere.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// Signs and verifies link parameters with the service's secret.
#[derive(Clone)]
pub struct Signer {
    secret: Vec<u8>,
}

impl Signer {
    /// A signer with this secret (the service keeps it in `tandem.secret`).
    pub fn new(secret: &[u8]) -> Signer {
        Signer {
            secret: secret.to_vec(),
        }
    }

    fn mac(&self, parts: &[&str]) -> Option<Hmac<Sha256>> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.secret).ok()?;
        for p in parts {
            // Length-prefixed, so ("ab", "c") and ("a", "bc") differ.
            mac.update(&(p.len() as u64).to_be_bytes());
            mac.update(p.as_bytes());
        }
        Some(mac)
    }

    /// The signature of `parts`, as hex.
    pub fn sign(&self, parts: &[&str]) -> String {
        self.mac(parts)
            .map(|m| hex::encode(m.finalize().into_bytes()))
            .unwrap_or_default()
    }

    /// Whether `signature` (hex) signs `parts`; compared in constant time.
    pub fn verify(&self, parts: &[&str], signature: &str) -> bool {
        let Ok(bytes) = hex::decode(signature) else {
            return false;
        };
        self.mac(parts)
            .is_some_and(|m| m.verify_slice(&bytes).is_ok())
    }
}

/// A stable key for an effect: SHA-256 of its parts, hex (the first 32 digits).
pub fn key(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p.as_bytes());
    }
    hex::encode(h.finalize())[..32].to_owned()
}

/// Everything but the unreserved characters of RFC 3986 (`A-Z a-z 0-9 - _ . ~`).
const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes a value for a query string.
pub fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, QUERY_VALUE).to_string()
}

/// A fresh random secret or token: 32 bytes as hex.
pub fn random_hex() -> Result<String, String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness: {e}"))?;
    Ok(hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_its_own_parts() {
        let s = Signer::new(b"secret");
        let sig = s.sign(&["c", "lead1", "https://acme.vn"]);
        assert!(s.verify(&["c", "lead1", "https://acme.vn"], &sig));
        assert!(!s.verify(&["c", "lead1", "https://evil.example"], &sig));
        assert!(!s.verify(&["c", "lead", "1https://acme.vn"], &sig));
        assert!(!Signer::new(b"other").verify(&["c", "lead1", "https://acme.vn"], &sig));
        assert!(!s.verify(&["c"], "not hex"));
    }

    #[test]
    fn encode_escapes_everything_but_unreserved() {
        assert_eq!(encode("a b/ê"), "a%20b%2F%C3%AA");
    }
}
