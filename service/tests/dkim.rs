//! The MIME message the mailer sends: List-Id and the one-click unsubscribe pair on marketing mail, and DKIM signing with every key form `[dkim]` reads (and the refusal of a bad key, naming the file).
//!
//! The keys below were made for these tests only (`openssl genpkey`); they sign nothing real.

use std::path::PathBuf;

use service::mail::{self, DkimSettings};
use service::store::OutboxMail;

/// RSA 2048, PKCS#1 (`openssl rsa -traditional`).
const RSA_PKCS1: &str = "-----BEGIN RSA PRIVATE KEY-----
MIIEpAIBAAKCAQEAyn1mPiWCBuXA6U06o7P+6QQNU1OBBsaeQgGJ2CXZfcTWYIHK
9ArjcI1pueZ3yKK4G0i+wmeLXZwCj11IvGUNdjO40xO/rpxNbpg0lZ3KJ4f8iovs
0ELEr/ut+OJCvI1Y+tDowC7zasBWBKwm7/ePnrYRYT4YsHZI3cBUYGcxqH61/NJT
Iy18uGhme4QcGGfrWUvUAMLWk1erMIc/GQdH1MBGCitDA7gT+c14N5HOXjL/Whq6
xhKgevDPd/9qYlNtpCno+OXF9nI2yX1/Ek5eiocwpdWBlRZ/ldWUEJqGxZBJcS/m
CCbfh5mn/gh47kWeFjEvx/+nMwV1tTHGn0VjCwIDAQABAoIBADsuHz22lKQTbihB
jAvgRXYw2vwpgaJLVmGQNYtYtJIPf2BBTuG4dPSmP+o3M3cOJ6TBxA7pWFAJkq33
45Q8LI0JXNFEClesEu1pyqSXs0eOdP7BGntbqESO2C/PYRXecc0MVZolnrrqb7l5
3v9vaShHqhizn1+jknRNC9wJDPhjWu0c8yOvfNMMxFMIYzQL7nzbUfXCPZbmPNoQ
H3pEC7r99gih2q+okwCBvSHO2Hu1vaBIC+D2IQFYTPAQ8ntZqg4qgeh3chod1NC/
+tB8skj77dIIinCt0wryn0F498G36+E5FMNLAP8LchKJ2WZc4LkW+xcP0rE8NCVm
N/95NaECgYEA7q99JXakMR12lyWnCmNTChgTThZzKr78Dab2oobbbr8NGEfd+MVl
zqpqd6aWatP/i++DKKCOj29pmYTaI7vQJ1daasXSmagbUQLuzh+ir2MoPfk4Xcjj
56AYUb3fymRgbwvJOe/yvVmGKdFZA5QQtLfPWg5k7/yhEqtxLkoIbdMCgYEA2S29
GqIaWyfEdM0Zh+edOeIdkVCbYZweZ8cjsKrSyARGjuP1Fnj6em+xup49n6ZYbaRq
O8QixGpFZV17XkbC7anMlA1d0wgDB+cogWocKB1ROW5TkhJ+8LIPxihij8HE74ZY
4R+OxgMIpumQzJJkE6g3YlP2RYoS8ljDb8KGGukCgYEA5/7CkStkJCkTH46Fcd9g
0yrbeMbxYdcIfuyORSL3Hgms3LDd2/NiJSIXIf1VrrgoZweCYHbOmjQcXA95R8pB
ZDvPsoBdVuTCyFclbkvpgLfMYZBfbSjZ/ETr3mfDoaE26jh2ek3zjn/5m6PT9Vpx
cnZGoK3lBi5zEQZ6mBd1YekCgYA9gujmnDcezlqkQlsS1RUBCfwZ5ly7/r3V4t9G
8HsWz680VXhbTxSSjQQnuR33E+RD2aeFGf5G51qUZS/F+gDH06nv3QFP/hrtqBke
3nDvI66Xt5nP65EslyJEm7eew+EFfmW6DXgguUdADzNF3ciekKxvGxzLgVnwbhec
ldnp0QKBgQDfCB16yNJyV/WLRnEumT+w52BP6p3xzIkuNukZuvIeU+EldPy2NMC7
CM65Nzy2iJSWVG7bUxfByPQnw12VlpRBt0vjTnG5hWs7TXhyTpBQRNG3tQ+fYtxa
oQakStQhC2cBJtxx8KHEyt4BXCYUUM/jFhmVmMb6o0ZfOHsIpuMZOg==
-----END RSA PRIVATE KEY-----
";
/// The same key, PKCS#8 (`openssl genpkey -algorithm RSA`).
const RSA_PKCS8: &str = "-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDKfWY+JYIG5cDp
TTqjs/7pBA1TU4EGxp5CAYnYJdl9xNZggcr0CuNwjWm55nfIorgbSL7CZ4tdnAKP
XUi8ZQ12M7jTE7+unE1umDSVnconh/yKi+zQQsSv+6344kK8jVj60OjALvNqwFYE
rCbv94+ethFhPhiwdkjdwFRgZzGofrX80lMjLXy4aGZ7hBwYZ+tZS9QAwtaTV6sw
hz8ZB0fUwEYKK0MDuBP5zXg3kc5eMv9aGrrGEqB68M93/2piU22kKej45cX2cjbJ
fX8STl6KhzCl1YGVFn+V1ZQQmobFkElxL+YIJt+Hmaf+CHjuRZ4WMS/H/6czBXW1
McafRWMLAgMBAAECggEAOy4fPbaUpBNuKEGMC+BFdjDa/CmBoktWYZA1i1i0kg9/
YEFO4bh09KY/6jczdw4npMHEDulYUAmSrffjlDwsjQlc0UQKV6wS7WnKpJezR450
/sEae1uoRI7YL89hFd5xzQxVmiWeuupvuXne/29pKEeqGLOfX6OSdE0L3AkM+GNa
7RzzI6980wzEUwhjNAvufNtR9cI9luY82hAfekQLuv32CKHar6iTAIG9Ic7Ye7W9
oEgL4PYhAVhM8BDye1mqDiqB6HdyGh3U0L/60HyySPvt0giKcK3TCvKfQXj3wbfr
4TkUw0sA/wtyEonZZlzguRb7Fw/SsTw0JWY3/3k1oQKBgQDur30ldqQxHXaXJacK
Y1MKGBNOFnMqvvwNpvaihttuvw0YR934xWXOqmp3ppZq0/+L74MooI6Pb2mZhNoj
u9AnV1pqxdKZqBtRAu7OH6KvYyg9+ThdyOPnoBhRvd/KZGBvC8k57/K9WYYp0VkD
lBC0t89aDmTv/KESq3EuSght0wKBgQDZLb0aohpbJ8R0zRmH55054h2RUJthnB5n
xyOwqtLIBEaO4/UWePp6b7G6nj2fplhtpGo7xCLEakVlXXteRsLtqcyUDV3TCAMH
5yiBahwoHVE5blOSEn7wsg/GKGKPwcTvhljhH47GAwim6ZDMkmQTqDdiU/ZFihLy
WMNvwoYa6QKBgQDn/sKRK2QkKRMfjoVx32DTKtt4xvFh1wh+7I5FIvceCazcsN3b
82IlIhch/VWuuChnB4Jgds6aNBxcD3lHykFkO8+ygF1W5MLIVyVuS+mAt8xhkF9t
KNn8ROveZ8OhoTbqOHZ6TfOOf/mbo9P1WnFydkagreUGLnMRBnqYF3Vh6QKBgD2C
6OacNx7OWqRCWxLVFQEJ/BnmXLv+vdXi30bwexbPrzRVeFtPFJKNBCe5HfcT5EPZ
p4UZ/kbnWpRlL8X6AMfTqe/dAU/+Gu2oGR7ecO8jrpe3mc/rkSyXIkSbt57D4QV+
ZboNeCC5R0APM0XdyJ6QrG8bHMuBWfBuF5yV2enRAoGBAN8IHXrI0nJX9YtGcS6Z
P7DnYE/qnfHMiS426Rm68h5T4SV0/LY0wLsIzrk3PLaIlJZUbttTF8HI9CfDXZWW
lEG3S+NOcbmFaztNeHJOkFBE0be1D59i3FqhBqRK1CELZwEm3HHwocTK3gFcJhRQ
z+MWGZWYxvqjRl84ewim4xk6
-----END PRIVATE KEY-----
";
/// Ed25519, PKCS#8 (`openssl genpkey -algorithm ed25519`).
const ED25519_PKCS8: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIO8XyEIT+a4VfKD/dx0CQOxxFHJ5fvLcmewhmmCXGpcl
-----END PRIVATE KEY-----
";
/// The same key's 32-byte seed in base64.
const ED25519_SEED: &str = "7xfIQhP5rhV8oP93HQJA7HEUcnl+8tyZ7CGaYJcalyU=";
/// RSA 512: too short to be trusted.
const RSA_512: &str = "-----BEGIN PRIVATE KEY-----
MIIBVAIBADANBgkqhkiG9w0BAQEFAASCAT4wggE6AgEAAkEAvW6Cfi1FgH+0ne2L
FtYj92d/kzBgml0Aoj0khqmeX7nyoShqxLXcPgffUx4lDbNZ3qFcjeIwCxO7mdzf
51ODOQIDAQABAkABpQj7AXeeAv3VdS+E9jz/s+VWqM/d5zrPLcq4ZJacbCQJj7oX
5imEms4TeV6hl8BTsWZynikOSDDs+o/emVvRAiEA8BbSE4iFHufOlgCBZV+NbAL8
R86mCO+NxD2Njnnzy90CIQDJ/EVmQB/nu8I0DSATYX2yuDl9Hle+h2QhIECKCzC9
DQIgU4tNXLizwfZd37qbTEA8wOolCYOyKQfa5/+XQ43SNQ0CIFHmtwVFDyrZ2V9d
yxnQuDVVugnf2dhp8dH0z/apnvOpAiEAtcnWkPEbUk7iud+k7mwjnJDuROgm3Rbl
ET76CNqOjvM=
-----END PRIVATE KEY-----
";

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tandem-dkim-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn settings(key_file: PathBuf, algorithm: Option<&str>) -> DkimSettings {
    DkimSettings {
        selector: "s2026".into(),
        domain: "acme.vn".into(),
        private_key_file: key_file,
        algorithm: algorithm.map(str::to_owned),
    }
}

fn key_file(dir: &std::path::Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("key file");
    path
}

fn marketing_mail() -> OutboxMail {
    OutboxMail {
        key: "0123456789abcdef0123456789abcdef".into(),
        lead: "an".into(),
        template: "ebook_delivery".into(),
        from: "Acme Cloud Việt Nam <marketing@acme.vn>".into(),
        to: "an@saoviet.vn".into(),
        subject: "Nguyễn An, ebook của bạn đây".into(),
        html: "<p>Chào Nguyễn An,</p>\n<p><a href=\"https://acme.vn/x\">Tải ebook</a></p>".into(),
        text: "Chào Nguyễn An,\n\nTải ebook: https://acme.vn/x\n".into(),
        unsubscribe: "https://tandem.acme.vn/u?l=an&s=abc".into(),
        at: 1_780_000_000,
    }
}

fn formatted(mail: &OutboxMail, dkim: Option<&mail::Dkim>) -> String {
    match mail::message(mail, "tandem.acme.vn", dkim) {
        Ok(m) => String::from_utf8_lossy(&m.formatted()).into_owned(),
        Err(e) => panic!("the message builds: {e:?}"),
    }
}

/// The unfolded value of the first header `name` (case-insensitive) of a message.
fn header(message: &str, name: &str) -> Option<String> {
    let head = message.split("\r\n\r\n").next()?;
    let mut lines = head.split("\r\n").peekable();
    while let Some(line) = lines.next() {
        let Some((n, v)) = line.split_once(':') else {
            continue;
        };
        if n.eq_ignore_ascii_case(name) {
            let mut value = v.trim().to_owned();
            while let Some(next) = lines.peek() {
                if !next.starts_with([' ', '\t']) {
                    break;
                }
                value.push(' ');
                value.push_str(next.trim());
                lines.next();
            }
            return Some(value);
        }
    }
    None
}

#[test]
fn marketing_mail_has_a_list_id_and_one_click_unsubscribe_and_task_mail_has_neither() {
    let m = formatted(&marketing_mail(), None);
    assert_eq!(header(&m, "List-Id").as_deref(), Some("<tandem.acme.vn>"));
    assert_eq!(
        header(&m, "List-Unsubscribe").as_deref(),
        Some("<https://tandem.acme.vn/u?l=an&s=abc>")
    );
    assert_eq!(
        header(&m, "List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    assert_eq!(
        header(&m, "Message-ID").as_deref(),
        Some("<0123456789abcdef0123456789abcdef@tandem.acme.vn>")
    );
    assert!(header(&m, "DKIM-Signature").is_none());

    let task = OutboxMail {
        lead: String::new(),
        template: "task".into(),
        unsubscribe: String::new(),
        ..marketing_mail()
    };
    let t = formatted(&task, None);
    for h in ["List-Id", "List-Unsubscribe", "List-Unsubscribe-Post"] {
        assert!(header(&t, h).is_none(), "{h} on a task email:\n{t}");
    }
}

#[test]
fn every_key_form_signs_with_the_configured_selector_and_domain() {
    let dir = temp_dir("forms");
    let forms = [
        ("rsa1.pem", RSA_PKCS1, "rsa"),
        ("rsa8.pem", RSA_PKCS8, "rsa"),
        ("ed.pem", ED25519_PKCS8, "ed25519"),
        ("ed.seed", ED25519_SEED, "ed25519"),
    ];
    let mut records = Vec::new();
    for (name, text, algorithm) in forms {
        let file = key_file(&dir, name, text);
        let dkim = match settings(file.clone(), None).load() {
            Ok(d) => d,
            Err(e) => panic!("{name}: {e}"),
        };
        // Naming the algorithm the key has is accepted too.
        assert!(settings(file, Some(algorithm)).load().is_ok(), "{name}");
        assert_eq!(dkim.dns_name, "s2026._domainkey.acme.vn");
        assert!(
            dkim.dns_record
                .starts_with(&format!("v=DKIM1; k={algorithm}; p=")),
            "{name}: {}",
            dkim.dns_record
        );
        let m = formatted(&marketing_mail(), Some(&dkim));
        let sig =
            header(&m, "DKIM-Signature").unwrap_or_else(|| panic!("{name}: no signature:\n{m}"));
        for tag in [
            format!("a={algorithm}-sha256;"),
            "d=acme.vn;".to_owned(),
            "s=s2026;".to_owned(),
            "c=relaxed/relaxed;".to_owned(),
            "h=from:to:subject:date:message-id:mime-version:list-id:list-unsubscribe:list-unsubscribe-post;".to_owned(),
        ] {
            assert!(sig.contains(&tag), "{name}: `{tag}` missing in {sig}");
        }
        records.push(dkim.dns_record);
    }
    // Both forms of one key publish one record.
    assert_eq!(records[0], records[1]);
    assert_eq!(records[2], records[3]);
    // An Ed25519 public key is 32 bytes: 44 characters of base64.
    assert_eq!(records[2].len(), "v=DKIM1; k=ed25519; p=".len() + 44);
}

#[test]
fn a_bad_key_is_refused_and_the_message_names_the_file() {
    let dir = temp_dir("bad");
    let garbage = key_file(&dir, "garbage.pem", "not a key at all\n");
    let broken = key_file(
        &dir,
        "broken.pem",
        "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n",
    );
    let short = key_file(&dir, "short.pem", RSA_512);
    let rsa = key_file(&dir, "rsa.pem", RSA_PKCS8);
    let ed = key_file(&dir, "ed.pem", ED25519_PKCS8);
    let missing = dir.join("missing.pem");
    let cases = [
        (
            settings(garbage.clone(), None),
            "garbage.pem",
            "neither PEM nor",
        ),
        (
            settings(broken.clone(), None),
            "broken.pem",
            "not a valid PEM RSA private key",
        ),
        (
            settings(short.clone(), None),
            "short.pem",
            "512 bits is too short",
        ),
        (
            settings(missing.clone(), None),
            "missing.pem",
            "cannot read",
        ),
        (
            settings(rsa.clone(), Some("ed25519")),
            "rsa.pem",
            "an RSA key, but dkim.algorithm is `ed25519`",
        ),
        (
            settings(ed.clone(), Some("rsa")),
            "ed.pem",
            "an Ed25519 key, but dkim.algorithm is `rsa`",
        ),
    ];
    for (s, file, why) in cases {
        match s.load() {
            Ok(_) => panic!("{file} was accepted"),
            Err(e) => {
                assert!(e.contains(file) && e.contains(why), "{file}: {e}");
                assert!(e.starts_with("dkim.private_key_file "), "{e}");
            }
        }
    }
    match settings(rsa.clone(), Some("dsa")).load() {
        Ok(_) => panic!("algorithm dsa was accepted"),
        Err(e) => assert!(e.contains("`rsa` or `ed25519`, not `dsa`"), "{e}"),
    }
    let bad_selector = DkimSettings {
        selector: "a b".into(),
        ..settings(rsa, None)
    };
    assert!(bad_selector.load().is_err());
}

#[test]
fn the_dkim_table_is_read_from_the_configuration() {
    let cfg = service::Config::parse(
        "[dkim]\nselector = \"s2026\"\ndomain = \"acme.vn\"\nprivate_key_file = \"/etc/tandem/dkim.pem\"\nalgorithm = \"rsa\"\n",
    );
    let dkim = match cfg {
        Ok(c) => c.dkim.expect("the [dkim] table"),
        Err(e) => panic!("{e}"),
    };
    assert_eq!(dkim.selector, "s2026");
    assert_eq!(dkim.private_key_file, PathBuf::from("/etc/tandem/dkim.pem"));
    let unknown = service::Config::parse(
        "[dkim]\nselector = \"s\"\ndomain = \"acme.vn\"\nprivate_key_file = \"k\"\nkey = \"x\"\n",
    );
    assert!(unknown.is_err_and(|e| e.contains("key")));
    let smtp = service::Config::parse("[smtp]\nhost = \"localhost\"\nconnections = 16\n");
    assert!(smtp.is_ok_and(|c| c.smtp.is_some_and(|s| s.connections == 16)));
}
