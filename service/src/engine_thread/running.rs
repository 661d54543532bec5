//! A program and the world that runs it, owned together: the world borrows its program, so the two live and die as one — a deploy, a rebuild or a cluster takeover that replaces them frees the old program (nothing is leaked for the life of the process).

use std::sync::Arc;

use runtime::embed::{EvaluatorKind, Program, World};
use runtime::engine::Unsupported;

self_cell::self_cell!(
    /// A program (shared, so a report or a snapshot may hold it a moment longer) and the
    /// world running it.
    pub struct Running {
        owner: Arc<Program>,
        #[covariant]
        dependent: World,
    }
);

impl Running {
    /// `program` with the world `make` builds for it (fresh, resumed from a checkpoint, …).
    pub fn start(
        program: Program,
        make: impl for<'p> FnOnce(&'p Program) -> Result<World<'p>, Unsupported>,
    ) -> Result<Running, Unsupported> {
        Running::try_new(Arc::new(program), |p| make(p))
    }

    /// The program the world runs.
    pub fn program(&self) -> &Program {
        self.borrow_owner()
    }

    /// The world, to read.
    pub fn world(&self) -> &World<'_> {
        self.borrow_dependent()
    }

    /// Runs `f` on the world (inputs, the clock, queries that need it mutably).
    pub fn with<R>(&mut self, f: impl FnOnce(&Program, &mut World<'_>) -> R) -> R {
        self.with_dependent_mut(|p, w| f(p, w))
    }

    /// The world moved onto `next` (see [`World::deploy`]); this one is left empty on
    /// success and unchanged on failure. Dropping it frees the old program.
    pub fn deploy(&mut self, next: Program, kind: EvaluatorKind) -> Result<Running, Unsupported> {
        Running::try_new(Arc::new(next), |n| {
            self.with_dependent_mut(|_, world| world.deploy(n, kind))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program(extra: &str) -> Program {
        let text = format!("timezone \"Asia/Ho_Chi_Minh\"\nlead {{ name: text }}\nevent ping {{ k: number }}\n{extra}");
        crate::engine_thread::check(&vec![("main.journey".into(), text)])
            .expect("the program checks")
    }

    #[test]
    fn a_deploy_frees_the_program_it_replaces() {
        let mut running = Running::start(program(""), |p| p.world_without_log(EvaluatorKind::Jit))
            .expect("a world");
        let old = Arc::downgrade(running.borrow_owner());
        running.with(|_, world| world.start(0));
        let next = running
            .deploy(program("event signup { plan: text }"), EvaluatorKind::Jit)
            .expect("deploys");
        assert!(old.upgrade().is_some(), "alive while its world is");
        drop(running);
        assert!(old.upgrade().is_none(), "freed with the world it ran");
        assert!(next.program().lowered().timezone == "Asia/Ho_Chi_Minh");
    }
}
