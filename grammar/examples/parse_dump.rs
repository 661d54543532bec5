//! Parses one file and prints its diagnostics (and the AST with `--ast`): a debugging aid.
fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: parse_dump FILE [--ast]");
        std::process::exit(2);
    };
    let src = match std::fs::read_to_string(&path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(2);
        }
    };
    let parsed = grammar::parse(0, &src);
    if args.next().as_deref() == Some("--ast") {
        println!("{:#?}", parsed.file);
    }
    for d in &parsed.diagnostics {
        let line = src[..d.span.start as usize].matches('\n').count() + 1;
        println!("{}:{line}: {} {}", path, d.code, d.message);
    }
    println!(
        "{} declarations, {} diagnostics",
        parsed.file.decls.len(),
        parsed.diagnostics.len()
    );
}
