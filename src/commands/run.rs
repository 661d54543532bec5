//! `tandem run`: the service, on a program folder or the embedded example.

use super::*;

/// The folder given, or `journeys/` when there is one, or the current folder.
pub(crate) fn run(
    dir: Option<PathBuf>,
    config: Option<PathBuf>,
    listen: Option<String>,
    demo: bool,
    keep_running_version: bool,
    run_for: Option<u64>,
) -> ExitCode {
    let mut cfg = match &config {
        None => service::Config::default(),
        Some(path) => match std::fs::read_to_string(path) {
            Err(e) => {
                eprintln!("error: {}: {e}", path.display());
                return ExitCode::from(2);
            }
            Ok(text) => match service::Config::parse(&text) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("error: {}: {e}", path.display());
                    return ExitCode::from(2);
                }
            },
        },
    };
    // Without `--config`, the deployment settings of the program's own `tandem.toml`
    // (`[smtp]`, `store`, `listen`, … beside its `[webhooks]`) are the service's.
    let program_toml = dir
        .as_ref()
        .map(|d| d.join("tandem.toml"))
        .filter(|p| p.is_file());
    if let Some(path) = &program_toml {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if config.is_none() {
            match service::Config::from_program_toml(&text) {
                Ok(Some(c)) => cfg = c,
                Ok(None) => {}
                Err(e) => {
                    eprintln!("error: {}: {e}", path.display());
                    return ExitCode::from(2);
                }
            }
        } else {
            let keys = service::Config::program_toml_keys(&text);
            if !keys.is_empty() {
                eprintln!(
                    "note: {} also sets {}; --config is used instead",
                    path.display(),
                    keys.join(", ")
                );
            }
        }
    }
    if let Some(l) = listen {
        cfg.listen = l;
    }
    // The address is checked before anything else happens (the store is not opened, nor
    // the program checked): a typo or a busy port is reported at once.
    cfg.listen = match listen_address(&cfg.listen) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = std::net::TcpListener::bind(&cfg.listen) {
        eprintln!("error: cannot listen on {}: {e}", cfg.listen);
        return ExitCode::from(2);
    }
    cfg.keep_running_version |= keep_running_version;
    let folder = dir.or_else(|| Some(PathBuf::from("journeys")).filter(|d| d.is_dir()));
    let load: service::ProgramLoader = match folder {
        Some(dir) => std::sync::Arc::new(move || {
            let source = load::load_program(&dir).map_err(|e| e.to_string())?;
            Ok(source.files())
        }),
        None => std::sync::Arc::new(|| Ok(tandem::embedded::files())),
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("TANDEM_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,cranelift_jit=warn,cranelift_codegen=warn")
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(render::colour(std::io::stderr().is_terminal()))
        .try_init();
    match service::run(service::Options {
        config: cfg,
        load,
        demo,
        run_for,
    }) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// `--listen` (or `listen` in the config) as an address to bind: a port alone (`8090`)
/// is that port on 127.0.0.1; otherwise `HOST:PORT` (`0.0.0.0:8090`, `[::1]:8090`,
/// `localhost:8090`).
pub(crate) fn listen_address(given: &str) -> Result<String, String> {
    let given = given.trim();
    let refuse = || {
        format!("`{given}` is not an address to listen on: write a port (8090) or a host and a port (127.0.0.1:8090, [::1]:8090)")
    };
    if let Ok(port) = given.parse::<u16>() {
        return Ok(format!("127.0.0.1:{port}"));
    }
    if given.parse::<std::net::SocketAddr>().is_ok() {
        return Ok(given.to_owned());
    }
    let (host, port) = given.rsplit_once(':').ok_or_else(refuse)?;
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if host_ok && port.parse::<u16>().is_ok() {
        Ok(given.to_owned())
    } else {
        Err(refuse())
    }
}

#[cfg(test)]
mod tests {
    use super::listen_address;

    #[test]
    fn a_port_alone_listens_on_the_loopback_address() {
        assert_eq!(listen_address("8090").as_deref(), Ok("127.0.0.1:8090"));
        assert_eq!(
            listen_address("0.0.0.0:8090").as_deref(),
            Ok("0.0.0.0:8090")
        );
        assert_eq!(listen_address("[::1]:8090").as_deref(), Ok("[::1]:8090"));
        assert_eq!(
            listen_address("localhost:8090").as_deref(),
            Ok("localhost:8090")
        );
        for bad in ["", "80900", "localhost", ":8090", "host:port", "a b:80"] {
            let err = listen_address(bad).expect_err(bad);
            assert!(err.contains("not an address to listen on"), "{err}");
        }
    }
}
