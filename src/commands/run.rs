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
    if let Some(l) = listen {
        cfg.listen = l;
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
