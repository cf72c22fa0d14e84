//! On simulated pumps only: a scenario's events played live (`titra demo --scenario`).

use super::*;
use crate::engine::play::{Played, Player, SimulateError};

impl PumpService {
    /// Plays what `player` has due at `now` on the trial in hand, as the scenario's people and
    /// faults would. Refused on real hardware: a scenario is a demonstration, never a patient's.
    pub fn play(
        &mut self,
        player: &mut Player,
        now: Timestamp,
    ) -> Result<Vec<Played>, ServiceError> {
        if !self.simulated {
            return Err(ServiceError::InvalidInput(
                tr!("a scenario can only be played on simulated hardware").to_owned(),
            ));
        }
        // A trial the start-up check holds is ended only by a clinician with a reason: a
        // scenario's `stop` (or anything else in it) must not reach it.
        self.refuse_plain_end_when_held()?;
        let engine = self.engine_mut()?;
        engine.hardware_mut().advance_to(now);
        player.play_due(engine, now).map_err(|e| match e {
            SimulateError::Invalid(m) => ServiceError::InvalidInput(m),
            SimulateError::Internal(m) => ServiceError::Internal(m),
        })
    }

    /// When the trial in hand next has a sedation and breathing check due (None without one).
    pub fn check_due(&self) -> Option<Timestamp> {
        self.engine.as_ref().and_then(Engine::check_due)
    }
}
