//! The example program (`journeys/`, embedded in the `tandem` binary), checked once per fuzzing process: shared by the targets that run inputs against it.

use std::sync::OnceLock;

use runtime::embed::Program;

pub fn program() -> &'static Program {
    static P: OnceLock<&'static Program> = OnceLock::new();
    P.get_or_init(|| {
        let files = tandem::embedded::files();
        let source = compiler::ProgramSource::from_files(&files);
        let p = Program::check(source).unwrap_or_else(|_| panic!("the example program checks"));
        Box::leak(Box::new(p))
    })
}
