//! Keeps the window in step with the daemon: refreshes the screen from `StatusJson` twice a
//! second, carries out the screens' [`UiCommand`]s, and shows "not connected" and reconnects
//! when the daemon goes away (delivery never depends on the UI).

use std::time::Duration;

use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::Interval;
use zbus::Connection;

use super::MainWindow;
use super::adapters::{
    app, apply_status, chart as chart_page, checklist, delivery, export as export_page, patient,
    wizard,
};
use super::command::{UiCommand, WizardLink};
use super::present::chart::{chart, course_chart};
use super::present::delivery::{BasalCheck, basal_check};
use super::present::observation::{
    opioids_entry, opioids_recorded, site_check_recorded, spasticity_recorded, temperature_entry,
};
use super::present::staff::role_of;
use super::present::wizard::{Reply, Request};
use crate::core::units::MassUnit;
use crate::service::dbus::{Pump1Proxy, PumpError};
use crate::service::wire::Status;

/// Where the daemon is.
pub enum Daemon {
    /// On a bus ("system", "session" or an address): reconnect when it goes away.
    Bus(String),
    /// An open (peer-to-peer) connection, for the desktop demo.
    Connection(Connection),
}

/// Follows the daemon until the window closes.
pub async fn follow(
    daemon: Daemon,
    weak: slint::Weak<MainWindow>,
    mut commands: UnboundedReceiver<UiCommand>,
) {
    loop {
        let Some(proxy) = reach(&daemon, &weak).await else {
            tokio::time::sleep(Duration::from_secs(2)).await;
            continue;
        };
        show_diary_question(&proxy, &weak).await;
        let mut session = Session {
            proxy,
            token: String::new(),
            weak: weak.clone(),
        };
        if session.serve(&mut commands).await == Served::WindowClosed {
            return;
        }
        if matches!(daemon, Daemon::Connection(_)) {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// The daemon's interface, or None (and "not connected" shown) when it cannot be reached.
async fn reach(daemon: &Daemon, weak: &slint::Weak<MainWindow>) -> Option<Pump1Proxy<'static>> {
    let proxy = match connect(daemon).await {
        Ok(conn) => Pump1Proxy::new(&conn).await,
        Err(e) => Err(e),
    };
    match proxy {
        Ok(p) => Some(p),
        Err(e) => {
            tracing::warn!(error = %e, "cannot reach the pump daemon; retrying");
            set_connected(weak, false);
            None
        }
    }
}

async fn connect(daemon: &Daemon) -> zbus::Result<Connection> {
    match daemon {
        Daemon::Connection(c) => Ok(c.clone()),
        Daemon::Bus(bus) => crate::service::dbus::bus_builder(bus).build().await,
    }
}

/// The diary's function question, asked after a prompted pain score (fetched once per
/// connection).
async fn show_diary_question(proxy: &Pump1Proxy<'_>, weak: &slint::Weak<MainWindow>) {
    match proxy.diary_question().await {
        Ok((question, answers)) => {
            let _ = weak.upgrade_in_event_loop(move |ui| {
                patient::show_diary_question(&ui, &question, answers);
            });
        }
        Err(e) => tracing::warn!(error = %e, "no diary question"),
    }
}

fn set_connected(weak: &slint::Weak<MainWindow>, connected: bool) {
    let _ = weak.upgrade_in_event_loop(move |ui| app::show_connected(&ui, connected));
}

/// How following a connection ended.
#[derive(Debug, PartialEq, Eq)]
enum Served {
    /// The daemon went away: reconnect.
    LostDaemon,
    /// The window closed (no more commands): stop.
    WindowClosed,
}

/// What the window shows after a command.
enum After {
    /// The pump's answer, and a status at once.
    Answer(String),
    /// A status at once (the command showed its outcome itself).
    Refresh,
    /// Nothing more.
    Nothing,
}

/// One connection to the daemon, and the staff login's token.
struct Session {
    proxy: Pump1Proxy<'static>,
    token: String,
    weak: slint::Weak<MainWindow>,
}

/// The text of a D-Bus error, as the daemon wrote it for people.
fn words(e: PumpError) -> String {
    match e {
        PumpError::ZBus(zbus::Error::MethodError(_, Some(text), _)) => text,
        PumpError::ZBus(other) => format!("The pump did not answer ({other})."),
        refused => zbus::DBusError::description(&refused)
            .unwrap_or_default()
            .to_owned(),
    }
}

/// A command handed to the wrong part of [`Session::run`] (a mistake in this file): logged,
/// nothing shown.
fn misrouted(command: &UiCommand) -> String {
    tracing::error!(?command, "a UI command reached the wrong handler");
    String::new()
}

/// `ok` when the daemon did it, or its refusal.
fn done(r: Result<(), PumpError>, ok: &str) -> String {
    r.map(|()| ok.to_owned()).unwrap_or_else(words)
}

impl Session {
    /// Refreshes the window from the daemon's status and carries out the window's commands,
    /// until the daemon goes away or the window closes.
    async fn serve(&mut self, commands: &mut UnboundedReceiver<UiCommand>) -> Served {
        let mut refresh = tokio::time::interval(Duration::from_millis(500));
        loop {
            tokio::select! {
                _ = refresh.tick() => {
                    if !self.refresh().await {
                        return Served::LostDaemon;
                    }
                }
                command = commands.recv() => {
                    let Some(command) = command else { return Served::WindowClosed };
                    let after = self.run(command).await;
                    self.after(after, &mut refresh);
                }
            }
        }
    }

    /// Shows the daemon's status; false when the daemon went away.
    async fn refresh(&self) -> bool {
        let status = self
            .proxy
            .status_json()
            .await
            .map(|j| serde_json::from_str::<Status>(&j));
        match status {
            Ok(Ok(s)) => {
                let _ = self
                    .weak
                    .upgrade_in_event_loop(move |ui| apply_status(&ui, &s, true));
            }
            Ok(Err(e)) => tracing::error!(error = %e, "unreadable status"),
            Err(e) => {
                tracing::warn!(error = %e, "lost the pump daemon");
                set_connected(&self.weak, false);
                return false;
            }
        }
        true
    }

    fn after(&self, after: After, refresh: &mut Interval) {
        match after {
            After::Answer(message) => {
                let _ = self
                    .weak
                    .upgrade_in_event_loop(move |ui| app::show_message(&ui, &message));
                refresh.reset_immediately();
            }
            After::Refresh => refresh.reset_immediately(),
            After::Nothing => {}
        }
    }

    /// Carries out a command.
    async fn run(&mut self, command: UiCommand) -> After {
        match command {
            UiCommand::Wizard(request, link) => {
                self.wizard(&request, link).await;
                After::Refresh
            }
            UiCommand::Login(pin) => {
                self.login(&pin).await;
                After::Refresh
            }
            UiCommand::Logout => {
                let _ = self.proxy.logout(&self.token).await;
                self.token.clear();
                let _ = self.weak.upgrade_in_event_loop(|ui| app::log_out(&ui));
                After::Nothing
            }
            UiCommand::Bolus
            | UiCommand::Pain(_)
            | UiCommand::Function(_)
            | UiCommand::Pgic(_)
            | UiCommand::SideEffect(..) => After::Answer(self.patient(command).await),
            command => After::Answer(self.staff(command).await),
        }
    }

    /// Carries out a wizard's request and hands the answer back to that wizard.
    async fn wizard(&self, request: &Request, link: WizardLink) {
        let reply = self.ask(request).await;
        let _ = self.weak.upgrade_in_event_loop(move |ui| {
            wizard::wizard_reply(&ui, link.wizard(), reply, &|r| link.send(r));
        });
    }

    /// Carries out a wizard's request.
    async fn ask(&self, request: &Request) -> Reply {
        let (proxy, token) = (&self.proxy, self.token.as_str());
        let done =
            |r: Result<(), PumpError>| r.map_or_else(|e| Reply::Failed(words(e)), |()| Reply::Done);
        match request {
            Request::Library => match proxy.library_choices().await {
                Ok(choices) => Reply::Library(choices),
                Err(e) => Reply::Failed(words(e.into())),
            },
            Request::Validate {
                generation,
                program,
            } => match proxy.validate_program(program).await {
                Ok((class, findings)) => Reply::Findings {
                    generation: *generation,
                    class,
                    findings,
                },
                Err(e) => Reply::Invalid {
                    generation: *generation,
                    message: words(e),
                },
            },
            Request::StartTrial {
                program,
                confirm,
                verifier_pin,
            } => done(
                proxy
                    .start_trial(token, program, *confirm, verifier_pin)
                    .await,
            ),
            Request::Prime => done(proxy.prime(token).await),
            Request::Start => done(proxy.start(token).await),
            Request::Close => Reply::Done,
        }
    }

    /// Logs in with a PIN: the staff screen, or the PIN's refusal.
    async fn login(&mut self, pin: &str) {
        match self.proxy.login(pin).await {
            Ok((token, role, name)) => {
                self.token = token;
                let _ = self
                    .weak
                    .upgrade_in_event_loop(move |ui| match role_of(&role) {
                        Some(role) => app::log_in(&ui, &name, role),
                        None => app::show_pin_answer(&ui, &format!("Unknown role \"{role}\".")),
                    });
            }
            Err(e) => {
                let text = words(e);
                let _ = self
                    .weak
                    .upgrade_in_event_loop(move |ui| app::show_pin_answer(&ui, &text));
            }
        }
    }

    /// What the patient asks for and records.
    async fn patient(&self, command: UiCommand) -> String {
        let proxy = &self.proxy;
        match command {
            UiCommand::Bolus => proxy.request_bolus().await.unwrap_or_else(words),
            UiCommand::Pain(n) => done(
                proxy.record_pain(n).await,
                &format!("Thank you — pain {n} recorded."),
            ),
            UiCommand::Function(n) => done(
                proxy.record_function(n).await,
                "Thank you — your answer is recorded.",
            ),
            UiCommand::Pgic(n) => done(
                proxy.record_pgic(n).await,
                "Thank you — your answer is recorded.",
            ),
            UiCommand::SideEffect(effect, severity) => done(
                proxy.record_side_effect(&effect, &severity).await,
                "Thank you — your nurse will see it.",
            ),
            other => misrouted(&other),
        }
    }

    /// What a nurse or a clinician does, with the login's token; the pump's answer.
    async fn staff(&self, command: UiCommand) -> String {
        let (proxy, token) = (&self.proxy, self.token.as_str());
        match command {
            UiCommand::Pause => done(proxy.pause(token).await, "Delivery paused."),
            UiCommand::Resume => {
                let _ = proxy.acknowledge_alarms(token).await;
                done(proxy.resume(token).await, "Delivery resumed.")
            }
            UiCommand::Silence => match proxy.silence_alarms(token, 0).await {
                Ok(s) => format!("Alarm tones paused for {} minutes.", s / 60),
                Err(e) => words(e),
            },
            UiCommand::Acknowledge => done(
                proxy.acknowledge_alarms(token).await,
                "Alarms acknowledged.",
            ),
            UiCommand::ChangeReservoir(ml) => done(
                proxy.change_reservoir(token, &format!("{ml} mL")).await,
                &format!("New syringe of {ml} mL recorded. Resume delivery when ready."),
            ),
            UiCommand::Observation(poss, rr, hr, spo2, temperature) => {
                self.observe(poss, (rr, hr, spo2), &temperature).await
            }
            UiCommand::SiteCheck(temperature, findings) => {
                self.site_check(&temperature, &findings).await
            }
            UiCommand::Spasticity(score, muscles) => done(
                proxy.record_spasticity(token, &score, &muscles).await,
                &spasticity_recorded(&score, &muscles),
            ),
            UiCommand::SystemicOpioids(typed) => done(
                proxy
                    .record_systemic_opioids(token, &opioids_entry(&typed))
                    .await,
                &opioids_recorded(&typed),
            ),
            UiCommand::LoadChecklist => self.load_checklist().await,
            UiCommand::ConfirmItem(id) => self.confirm_item(&id).await,
            UiCommand::ReviewSedation(note) => done(
                proxy.review_sedation(token, &note).await,
                "Review recorded: the hold is lifted. A nurse may resume delivery.",
            ),
            UiCommand::CheckBasal(dose) => self.check_basal(&dose).await,
            UiCommand::ChangeBasal(dose, pin, confirm) => {
                self.change_basal(&dose, &pin, confirm).await
            }
            command => self.clinical(command).await,
        }
    }

    /// The chart, the worksheet and the export, and the end of the trial; the pump's answer.
    async fn clinical(&self, command: UiCommand) -> String {
        let (proxy, token) = (&self.proxy, self.token.as_str());
        match command {
            UiCommand::Chart => self.chart().await,
            UiCommand::LoadExport => self.load_export().await,
            UiCommand::ConfirmImplant(dose, reason) => self.confirm_implant(&dose, &reason).await,
            UiCommand::Export => match proxy.export(token, "pdf,json,csv", "a4").await {
                Ok((to, files)) => format!("Saved {} files to {to}.", files.len()),
                Err(e) => words(e),
            },
            UiCommand::EndTrial(outcome) => self.end_trial(&outcome).await,
            UiCommand::Decision {
                outcome,
                reasons,
                wish,
                implant,
            } => done(
                proxy
                    .record_decision(token, &outcome, &reasons, &wish, &implant)
                    .await,
                "Decision recorded.",
            ),
            UiCommand::CatheterRemoval(note) => done(
                proxy.record_catheter_removal(token, &note).await,
                "Catheter removal recorded.",
            ),
            other => misrouted(&other),
        }
    }

    /// Records sedation and the vital signs taken (0 or an empty temperature: not taken).
    async fn observe(&self, poss: u8, (rr, hr, spo2): (u16, u16, u8), temperature: &str) -> String {
        let (proxy, token) = (&self.proxy, self.token.as_str());
        // A temperature that cannot be recorded stops everything before anything is recorded.
        let temperature_c = match temperature_entry(temperature) {
            Ok(t) => t.unwrap_or(0.0),
            Err(e) => return e,
        };
        if poss > 0 {
            if let Err(e) = proxy.record_sedation(token, poss).await {
                return words(e);
            }
        }
        if rr > 0 || hr > 0 || spo2 > 0 || temperature_c > 0.0 {
            if let Err(e) = proxy
                .record_vitals(token, rr, hr, spo2, temperature_c)
                .await
            {
                return words(e);
            }
        }
        "Recorded.".to_owned()
    }

    /// Records a catheter site check; returns what to show.
    async fn site_check(&self, temperature: &str, findings: &[String]) -> String {
        let celsius = match temperature_entry(temperature) {
            Ok(Some(t)) => t,
            Ok(None) => return "Enter the temperature first.".to_owned(),
            Err(e) => return e,
        };
        match self
            .proxy
            .record_site_check(&self.token, celsius, findings.to_vec())
            .await
        {
            Ok(()) => site_check_recorded(celsius, findings),
            Err(e) => words(e),
        }
    }

    /// Shows the pre-trial checklist; returns the message to show ("" when it worked).
    async fn load_checklist(&self) -> String {
        match self.proxy.checklist(&self.token).await {
            Ok(view) => {
                let _ = self
                    .weak
                    .upgrade_in_event_loop(move |ui| checklist::show_checklist(&ui, &view));
                String::new()
            }
            Err(e) => words(e),
        }
    }

    /// Confirms an item of the checklist and shows the checklist again.
    async fn confirm_item(&self, id: &str) -> String {
        match self.proxy.confirm_checklist_item(&self.token, id).await {
            Ok(open) => {
                let shown = self.load_checklist().await;
                if !shown.is_empty() {
                    shown
                } else if open.is_empty() {
                    "Every item is confirmed: delivery can start.".to_owned()
                } else {
                    format!("Confirmed. {} still open.", open.len())
                }
            }
            Err(e) => words(e),
        }
    }

    /// Checks a new basal dose and shows what it would mean.
    async fn check_basal(&self, dose: &str) -> String {
        match self.proxy.check_basal(dose).await {
            Ok((class, findings, old, new)) => {
                let check = basal_check(&class, &findings, &old, &new);
                let _ = self
                    .weak
                    .upgrade_in_event_loop(move |ui| delivery::show_basal_check(&ui, &check));
                String::new()
            }
            Err(e) => words(e),
        }
    }

    /// Changes the basal dose with the second person's PIN.
    async fn change_basal(&self, dose: &str, pin: &str, confirm: bool) -> String {
        // `confirm` is what the clinician was shown: settings marked for confirmation on the
        // screen. Anything the daemon finds beyond it is refused, never confirmed on the
        // clinician's behalf.
        match self
            .proxy
            .change_basal(&self.token, dose, confirm, pin)
            .await
        {
            Ok((old, new)) => {
                // Nothing left to confirm: the next change starts over.
                let _ = self.weak.upgrade_in_event_loop(|ui| {
                    delivery::show_basal_check(&ui, &BasalCheck::default());
                });
                format!("Basal changed from {old} to {new}.")
            }
            Err(e) => words(e),
        }
    }

    /// A bolus trial's chart is the response to each bolus; a continuous trial's the dose and
    /// pain since the start. Returns the message to show ("" when it worked).
    async fn chart(&self) -> String {
        if let Ok(r) = self.proxy.bolus_response().await {
            if r.bolus_trial {
                let c = course_chart(&r);
                let _ = self
                    .weak
                    .upgrade_in_event_loop(move |ui| chart_page::show_course_chart(&ui, &c));
                return String::new();
            }
        }
        match (self.proxy.history().await, self.proxy.status_json().await) {
            (Ok(h), Ok(status)) => {
                let unit = serde_json::from_str::<Status>(&status)
                    .ok()
                    .and_then(|s| s.dose_unit)
                    .unwrap_or(MassUnit::Mg);
                let c = chart(&h, unit);
                let _ = self
                    .weak
                    .upgrade_in_event_loop(move |ui| chart_page::show_chart(&ui, &c));
                String::new()
            }
            (Err(e), _) => words(e),
            (_, Err(e)) => words(e.into()),
        }
    }

    /// Shows the implant worksheet on the export screen; returns the message to show ("" when
    /// it worked).
    async fn load_export(&self) -> String {
        match self.proxy.export_preview(&self.token).await {
            Ok((lines, has_proposal, confirmed)) => {
                let _ = self.weak.upgrade_in_event_loop(move |ui| {
                    export_page::show_export(&ui, lines, has_proposal, confirmed);
                });
                String::new()
            }
            Err(e) => words(e),
        }
    }

    /// Confirms the implant's starting dose with the written reason, and shows the worksheet
    /// again.
    async fn confirm_implant(&self, dose: &str, reason: &str) -> String {
        match self
            .proxy
            .confirm_implant_dose_with_reason(&self.token, dose, reason)
            .await
        {
            Ok((per_day, ml)) => {
                let _ = self.load_export().await;
                format!("Starting dose {per_day} ({ml}) confirmed.")
            }
            Err(e) => words(e),
        }
    }

    /// Ends the trial, with the clinician's outcome first ("" from a nurse).
    async fn end_trial(&self, outcome: &str) -> String {
        let assessed = if outcome.is_empty() {
            Ok(())
        } else {
            self.proxy.record_assessment(&self.token, outcome, "").await
        };
        match assessed {
            Ok(()) => done(
                self.proxy.end_trial(&self.token).await,
                "The trial has ended. Disconnect the line from the catheter.",
            ),
            Err(e) => words(e),
        }
    }
}
