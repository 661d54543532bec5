//! Writes the synthetic benchmark program to a folder: `cargo run -p compiler --example gen_program -- DIR [N]`.

#[path = "../benches/synth/mod.rs"]
mod synth;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next() else {
        eprintln!("usage: gen_program DIR [N=1000]");
        std::process::exit(2);
    };
    let n = args.next().and_then(|s| s.parse().ok()).unwrap_or(1000);
    let program = synth::program(n);
    let root = std::path::Path::new(&dir);
    let mut bytes = 0;
    for f in program.journeys.iter().chain(program.templates.iter()) {
        let path = root.join(&f.path);
        if let Some(parent) = path.parent() {
            if let Err(e) = std::fs::create_dir_all(parent) {
                eprintln!("{}: {e}", parent.display());
                std::process::exit(2);
            }
        }
        if let Err(e) = std::fs::write(&path, &f.text) {
            eprintln!("{}: {e}", path.display());
            std::process::exit(2);
        }
        bytes += f.text.len();
    }
    println!(
        "wrote {} files, {} bytes, to {dir}",
        program.journeys.len() + program.templates.len(),
        bytes
    );
}
