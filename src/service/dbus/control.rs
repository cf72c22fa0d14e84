//! The daemon's control loop and what it publishes: the signals for new records and
//! PropertiesChanged for what changed.

use zbus::object_server::SignalEmitter;

use super::*;
use crate::core::tr;

/// Emits the signals for new records and PropertiesChanged for what changed.
pub async fn publish(shared: &Shared, iface: &PumpIface, emitter: &SignalEmitter<'_>) {
    let (records, status) = {
        let mut s = shared.service.lock().await;
        let now = shared.clock.now();
        (s.take_new_records(), s.status(now))
    };
    for r in &records {
        let sent = match r {
            // An escalation is announced as the alarm raised again at its new priority.
            Record::AlarmRaised { kind, priority, .. }
            | Record::AlarmEscalated { kind, priority, .. }
                if *priority != Priority::Info =>
            {
                PumpIface::alarm_raised(
                    emitter,
                    &name_of(kind),
                    &priority.to_string(),
                    kind.message(),
                )
                .await
            }
            Record::AlarmCleared { kind, .. } => {
                PumpIface::alarm_cleared(emitter, &name_of(kind)).await
            }
            Record::StateChanged { from, to, .. } => {
                PumpIface::state_changed(emitter, &from.to_string(), &to.to_string()).await
            }
            // A record of presses counted together was announced press by press already.
            Record::PcaRequest {
                granted,
                denial,
                available_at,
                presses: 1,
                since: None,
                ..
            } => {
                let message =
                    denial.map_or_else(|| tr!("Bolus started.").to_owned(), |d| d.explain());
                let at = available_at.map_or(-1, |t| i64::try_from(t.ms()).unwrap_or(-1));
                PumpIface::bolus_decision(emitter, *granted, &message, at).await
            }
            _ => Ok(()),
        };
        if let Err(e) = sent {
            tracing::debug!(error = %e, "signal");
        }
    }
    let previous = shared
        .status
        .lock()
        .ok()
        .and_then(|mut s| s.replace(status.clone()));
    let Some(old) = previous else { return };
    macro_rules! changed {
        ($field:ident, $method:ident) => {
            if old.$field != status.$field {
                let _ = iface.$method(emitter).await;
            }
        };
    }
    changed!(state, pump_state_changed);
    changed!(patient, patient_changed);
    changed!(drug, drug_changed);
    changed!(concentration, concentration_changed);
    changed!(basal_per_day, basal_per_day_changed);
    changed!(basal_per_hour, basal_per_hour_changed);
    changed!(basal_ml_per_hour, basal_ml_per_hour_changed);
    changed!(patient_bolus, patient_bolus_changed);
    changed!(delivered_today, delivered_today_changed);
    changed!(delivered_total, delivered_total_changed);
    changed!(delivered_in_window, delivered_in_window_changed);
    changed!(reservoir_remaining, reservoir_remaining_changed);
    changed!(time_to_empty, time_to_empty_changed);
    changed!(next_bolus, next_bolus_changed);
    changed!(alarms, active_alarms_changed);
}

/// Runs the pump up to `until` on a manual clock, publishing as it goes (virtual time).
pub async fn run_until(
    shared: &Arc<Shared>,
    conn: &Connection,
    clock: &ManualClock,
    until: Timestamp,
) -> zbus::Result<()> {
    loop {
        let next = {
            let s = shared.service.lock().await;
            s.next_wake().unwrap_or(until).min(until)
        };
        let now = clock.now().max(next);
        clock.set(now);
        {
            let mut s = shared.service.lock().await;
            if let Err(e) = s.tick(now) {
                tracing::error!(error = %e, "tick");
            }
        }
        publish_on(shared, conn).await?;
        if now >= until {
            return Ok(());
        }
    }
}

/// Publishes through the interface registered on `conn`.
pub async fn publish_on(shared: &Shared, conn: &Connection) -> zbus::Result<()> {
    let iface_ref = conn
        .object_server()
        .interface::<_, PumpIface>(OBJECT_PATH)
        .await?;
    let iface = iface_ref.get().await;
    publish(shared, &iface, iface_ref.signal_emitter()).await;
    Ok(())
}

/// The daemon's control loop on real time: runs the pump when it next needs to (at least once
/// a second), keeps the health check's problems standing as HIGH alarms, publishes changes,
/// and calls `alive` after every pass with what the health check found. The systemd watchdog
/// is petted there, on every pass: it says that this loop runs, never that all is well. A
/// failed check is the running daemon's alarm, sounding, not a reason for it to be killed.
pub async fn control_loop(
    shared: Arc<Shared>,
    conn: Connection,
    mut alive: impl FnMut(&[HealthProblem]) + Send,
) {
    let mut reported: Vec<HealthProblem> = Vec::new();
    loop {
        let now = shared.clock.now();
        let next = {
            let s = shared.service.lock().await;
            s.next_wake()
        };
        // At least once a second of real time (a demonstration's clock runs faster).
        let most = Duration::from_secs(u64::from(shared.clock.speed().max(1)));
        let wait = next.map_or(most, |t| t.since(now)).min(most);
        tokio::select! {
            () = tokio::time::sleep(shared.clock.real_wait(wait)) => {}
            () = shared.wake.notified() => {}
        }
        let problems = {
            let mut s = shared.service.lock().await;
            let now = shared.clock.now();
            if let Err(e) = s.tick(now) {
                tracing::error!(error = %e, "control loop");
            }
            s.keep_healthy(now)
        };
        // Said once when a problem appears or goes, not on every pass.
        let kinds = |p: &[HealthProblem]| p.iter().map(HealthProblem::alarm).collect::<Vec<_>>();
        if kinds(&problems) != kinds(&reported) {
            match problems.as_slice() {
                [] => tracing::info!("health check passes again"),
                found => {
                    // In English: tracing's log is the engineers'.
                    let text: Vec<String> = crate::engine::in_english(|| {
                        found.iter().map(ToString::to_string).collect()
                    });
                    tracing::error!(problems = %text.join("; "), "health check failed: delivery stopped, HIGH alarm sounding");
                }
            }
            reported.clone_from(&problems);
        }
        if let Err(e) = publish_on(&shared, &conn).await {
            tracing::warn!(error = %e, "publish");
        }
        alive(&problems);
    }
}
