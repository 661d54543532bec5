//! Reloading the program (`POST /api/program`, SIGHUP): check, compile a version that keeps the journeys leads are in, rebuild the world on it, store it.

use super::*;

impl Core {
    /// Checks the new program; on success stores it as a new version and rebuilds the
    /// world under it (past inputs replayed without producing effects again).
    pub(super) fn reload(&mut self, mut files: Files) -> Result<(u32, Value), Vec<String>> {
        files.sort();
        if files == self.files {
            return Ok((self.version, json!({ "changes": [] })));
        }
        let endpoints = endpoints_of(&files, self.settings.webhook_timeout_ms)?;
        // The clock catches up first: the new version starts at the engine's instant.
        if let Err(e) = self.tick() {
            let message = format!("not installed: {e}");
            self.failed = Some(e);
            return Err(vec![message]);
        }
        let at = self.running.world().now();
        let waiting = self.running.world().engine_ref().journey_positions();
        let (program, changes) = runtime::versions::compose(
            self.running.program(),
            &waiting,
            &ProgramSource::from_files(&files),
        )
        .map_err(|e| match e {
            runtime::versions::DeployError::Check(errors) => errors,
            other => vec![other.to_string()],
        })?;
        // What the new version changes, with the leads waiting now at each affected step.
        let changes =
            crate::deploy::changes_json(&changes, self.running.program().lowered(), Some(&waiting));
        // The old program is freed with the old world.
        self.running = self
            .running
            .deploy(program, self.settings.engine)
            .map_err(|e| {
                vec![format!(
                    "the running leads cannot move to the new version: {}",
                    e.0
                )]
            })?;
        // The world runs the new version now; a store that cannot record it would
        // disagree with it, so stop and let the restart rebuild from the store. Its
        // position in the log is exact only once every earlier group is written.
        let stored = self
            .flush()
            .and_then(|()| self.store.add_program(&files, at, self.inputs_applied));
        let version = match stored {
            Ok(v) => v,
            Err(e) => {
                tracing::error!(error = %e, "the store refused the new program version; stopping");
                let message = format!("not installed: {e}");
                self.failed = Some(e);
                return Err(vec![message]);
            }
        };
        self.files = files;
        self.refused_program = None;
        self.set_endpoints(endpoints);
        self.version = version;
        // Other stages and journeys: the board shows them at the next step.
        self.published.0 = u64::MAX;
        self.live.send_replace(self.dashboard.live());
        tracing::info!(version, changes = %changes["changes"], "installed a new program version");
        Ok((version, changes))
    }
}
