//! Keeps the window in step with the daemon: refreshes the screen from `StatusJson` twice a
//! second, carries the buttons' calls, and shows "not connected" and reconnects when the daemon
//! goes away (delivery never depends on the UI).

use std::time::Duration;

use slint::ComponentHandle;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use zbus::Connection;

use super::wizard::{Request, Wizard};
use super::{
    MainWindow, Pump, Reply, SharedWizard, apply_status, set_staff, show_message, wire_wizard,
    wizard_reply,
};
use crate::service::dbus::{Pump1Proxy, PumpError};
use crate::service::wire::Status;

/// A button's call for the daemon.
#[derive(Debug, Clone)]
pub enum UiCommand {
    /// The start-trial wizard asks; the answer goes back to that wizard.
    Wizard(Request, WizardLink),
    Bolus,
    Pain(u8),
    /// The answer to the diary's function question (1 = the first).
    Function(u8),
    /// The patient's global impression of change, 1–7.
    Pgic(u8),
    SideEffect(String, String),
    Login(String),
    Logout,
    Pause,
    Resume,
    Acknowledge,
    Silence,
    /// A new syringe of this many mL.
    ChangeReservoir(String),
    /// POSS, respiratory rate, heart rate, SpO2 (0: not taken), the temperature as typed ("":
    /// not taken).
    Observation(u8, u16, u16, u8, String),
    /// A catheter site check: the temperature as typed and the findings' words.
    SiteCheck(String, Vec<String>),
    /// A Modified Ashworth score and the muscles assessed.
    Spasticity(String, String),
    /// The clinician's decision: outcome, reasons, the patient's wish, the implant ("": none).
    Decision {
        outcome: String,
        reasons: String,
        wish: String,
        implant: String,
    },
    /// The catheter was taken out, with a note.
    CatheterRemoval(String),
    /// A new basal dose ("1 mg/day"), checked before anyone confirms.
    CheckBasal(String),
    /// The new basal dose, the second person's PIN, and whether the screen showed settings to
    /// confirm (which pressing Confirm confirms).
    ChangeBasal(String, String, bool),
    /// End the trial, with the clinician's outcome ("" from a nurse).
    EndTrial(String),
    /// The clinician's review after the sedation interlock, with its note.
    ReviewSedation(String),
    /// Show the pre-trial checklist.
    LoadChecklist,
    /// Confirm one item of the checklist (its id).
    ConfirmItem(String),
    /// Dose and pain since the start, for the chart.
    Chart,
    /// The implant worksheet for the export screen.
    LoadExport,
    /// Confirm the implant's starting dose ("" for the worksheet's proposal) with the written
    /// reason ("" for none).
    ConfirmImplant(String, String),
    /// The patient's systemic opioids for the day, as typed ("60": mg/day of oral morphine
    /// equivalents).
    SystemicOpioids(String),
    /// Export the summary (all formats, A4).
    Export,
}

/// A wizard and the way back to the daemon task, carried with each of its requests.
#[derive(Clone)]
pub struct WizardLink {
    wizard: SharedWizard,
    tx: UnboundedSender<UiCommand>,
}

impl std::fmt::Debug for WizardLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WizardLink")
    }
}

impl WizardLink {
    fn send(&self, r: Request) {
        let _ = self.tx.send(UiCommand::Wizard(r, self.clone()));
    }
}

/// Where the daemon is.
pub enum Daemon {
    /// On a bus ("system", "session" or an address): reconnect when it goes away.
    Bus(String),
    /// An open (peer-to-peer) connection, for the desktop demo.
    Connection(Connection),
}

/// Connects the window's callbacks to a command channel.
pub fn wire(ui: &MainWindow, tx: UnboundedSender<UiCommand>) {
    let pump = ui.global::<Pump>();
    let bolus = tx.clone();
    pump.on_request_bolus(move || {
        let _ = bolus.send(UiCommand::Bolus);
    });
    let pain = tx.clone();
    pump.on_record_pain(move |n| {
        let _ = pain.send(UiCommand::Pain(u8::try_from(n).unwrap_or(0)));
    });
    let t = tx.clone();
    let weak = ui.as_weak();
    pump.on_answer_prompt(move |kind, n| {
        let n = u8::try_from(n).unwrap_or(0);
        let command = match kind.as_str() {
            "pain" => Some(UiCommand::Pain(n)),
            "function" => Some(UiCommand::Function(n)),
            "pgic" => Some(UiCommand::Pgic(n)),
            _ => None,
        };
        if let Some(ui) = weak.upgrade() {
            super::prompt_answered(&ui, &kind);
        }
        if let Some(command) = command {
            let _ = t.send(command);
        }
    });
    let effect = tx.clone();
    pump.on_record_side_effect(move |e, severity| {
        let _ = effect.send(UiCommand::SideEffect(e.to_string(), severity.to_string()));
    });
    let login = tx.clone();
    pump.on_login(move |pin| {
        let _ = login.send(UiCommand::Login(pin.to_string()));
    });
    let send = |command: UiCommand| {
        let tx = tx.clone();
        move || {
            let _ = tx.send(command.clone());
        }
    };
    pump.on_logout(send(UiCommand::Logout));
    pump.on_pause(send(UiCommand::Pause));
    pump.on_resume(send(UiCommand::Resume));
    pump.on_silence(send(UiCommand::Silence));
    pump.on_acknowledge(send(UiCommand::Acknowledge));
    let t = tx.clone();
    pump.on_change_reservoir(move |v| {
        let _ = t.send(UiCommand::ChangeReservoir(v.to_string()));
    });
    let t = tx.clone();
    pump.on_record_observation(move |poss, rr, hr, spo2, temperature| {
        let n = |v: i32| u16::try_from(v).unwrap_or(0);
        let _ = t.send(UiCommand::Observation(
            u8::try_from(poss).unwrap_or(0),
            n(rr),
            n(hr),
            u8::try_from(spo2).unwrap_or(0),
            temperature.to_string(),
        ));
    });
    let t = tx.clone();
    pump.on_record_site_check(move |temperature, findings| {
        let findings = super::split_items(&findings).map(str::to_owned).collect();
        let _ = t.send(UiCommand::SiteCheck(temperature.to_string(), findings));
    });
    let t = tx.clone();
    pump.on_record_spasticity(move |score, muscles| {
        let _ = t.send(UiCommand::Spasticity(
            score.to_string(),
            muscles.to_string(),
        ));
    });
    let t = tx.clone();
    pump.on_record_decision(move |outcome, reasons, wish, implant| {
        let _ = t.send(UiCommand::Decision {
            outcome: outcome.to_string(),
            reasons: reasons.to_string(),
            wish: wish.to_string(),
            implant: implant.to_string(),
        });
    });
    let t = tx.clone();
    pump.on_record_removal(move |note| {
        let _ = t.send(UiCommand::CatheterRemoval(note.to_string()));
    });
    let t = tx.clone();
    pump.on_check_basal(move |dose| {
        let _ = t.send(UiCommand::CheckBasal(dose.to_string()));
    });
    let t = tx.clone();
    pump.on_change_basal(move |dose, pin, confirm| {
        let _ = t.send(UiCommand::ChangeBasal(
            dose.to_string(),
            pin.to_string(),
            confirm,
        ));
    });
    pump.on_load_chart(send(UiCommand::Chart));
    pump.on_load_export(send(UiCommand::LoadExport));
    pump.on_export(send(UiCommand::Export));
    let t = tx.clone();
    pump.on_confirm_implant(move |dose, reason| {
        let _ = t.send(UiCommand::ConfirmImplant(
            dose.to_string(),
            reason.to_string(),
        ));
    });
    let t = tx.clone();
    pump.on_record_systemic_opioids(move |typed| {
        let _ = t.send(UiCommand::SystemicOpioids(typed.to_string()));
    });
    pump.on_load_checklist(send(UiCommand::LoadChecklist));
    let t = tx.clone();
    pump.on_confirm_item(move |id| {
        let _ = t.send(UiCommand::ConfirmItem(id.to_string()));
    });
    let t = tx.clone();
    pump.on_review_sedation(move |note| {
        let _ = t.send(UiCommand::ReviewSedation(note.to_string()));
    });
    let t = tx.clone();
    pump.on_end_trial(move |outcome| {
        let _ = t.send(UiCommand::EndTrial(outcome.to_string()));
    });
    super::wire_checks(ui);
    let wizard: SharedWizard = std::sync::Arc::new(std::sync::Mutex::new(Wizard::new()));
    let link = WizardLink {
        wizard: wizard.clone(),
        tx,
    };
    wire_wizard(ui, wizard, move |r| link.send(r));
}

/// Shows the implant worksheet on the export screen; returns the message to show ("" when it
/// worked).
async fn load_export(
    proxy: &Pump1Proxy<'_>,
    token: &str,
    weak: &slint::Weak<MainWindow>,
) -> String {
    match proxy.export_preview(token).await {
        Ok((lines, has_proposal, confirmed)) => {
            let _ = weak.upgrade_in_event_loop(move |ui| {
                super::show_export(&ui, lines, has_proposal, confirmed);
            });
            String::new()
        }
        Err(e) => words(e),
    }
}

/// Shows the dose and pain since the start on the chart screen; returns the message to show
/// ("" when it worked).
async fn chart(proxy: &Pump1Proxy<'_>, weak: &slint::Weak<MainWindow>) -> String {
    match (proxy.history().await, proxy.status_json().await) {
        (Ok(h), Ok(status)) => {
            let unit = serde_json::from_str::<Status>(&status)
                .ok()
                .and_then(|s| s.dose_unit)
                .map_or_else(String::new, |u| u.to_string());
            let c = super::chart(&h, &unit);
            let _ = weak.upgrade_in_event_loop(move |ui| super::show_chart(&ui, &c));
            String::new()
        }
        (Err(e), _) => words(e),
        (_, Err(e)) => words(e.into()),
    }
}

/// Shows the pre-trial checklist; returns the message to show ("" when it worked).
async fn load_checklist(
    proxy: &Pump1Proxy<'_>,
    token: &str,
    weak: &slint::Weak<MainWindow>,
) -> String {
    match proxy.checklist(token).await {
        Ok(view) => {
            let _ = weak.upgrade_in_event_loop(move |ui| super::show_checklist(&ui, &view));
            String::new()
        }
        Err(e) => words(e),
    }
}

/// Records sedation and the vital signs taken (0 or an empty temperature: not taken).
async fn observe(
    proxy: &Pump1Proxy<'_>,
    token: &str,
    poss: u8,
    (rr, hr, spo2): (u16, u16, u8),
    temperature: &str,
) -> String {
    // A temperature that cannot be recorded stops everything before anything is recorded.
    let temperature_c = match super::temperature_entry(temperature) {
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
async fn site_check(
    proxy: &Pump1Proxy<'_>,
    token: &str,
    temperature: &str,
    findings: &[String],
) -> String {
    let celsius = match super::temperature_entry(temperature) {
        Ok(Some(t)) => t,
        Ok(None) => return "Enter the temperature first.".to_owned(),
        Err(e) => return e,
    };
    match proxy
        .record_site_check(token, celsius, findings.to_vec())
        .await
    {
        Ok(()) => super::site_check_recorded(celsius, findings),
        Err(e) => words(e),
    }
}

/// Carries out a wizard's request.
async fn ask(proxy: &Pump1Proxy<'_>, token: &str, request: &Request) -> Reply {
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

async fn connect(daemon: &Daemon) -> zbus::Result<Connection> {
    match daemon {
        Daemon::Connection(c) => Ok(c.clone()),
        Daemon::Bus(bus) => crate::service::dbus::bus_builder(bus).build().await,
    }
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

fn set_connected(weak: &slint::Weak<MainWindow>, connected: bool) {
    let _ = weak.upgrade_in_event_loop(move |ui| ui.global::<Pump>().set_connected(connected));
}

/// Follows the daemon until the window closes.
pub async fn follow(
    daemon: Daemon,
    weak: slint::Weak<MainWindow>,
    mut commands: UnboundedReceiver<UiCommand>,
) {
    loop {
        let proxy = match connect(&daemon).await {
            Ok(conn) => Pump1Proxy::new(&conn).await,
            Err(e) => Err(e),
        };
        let proxy = match proxy {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "cannot reach the pump daemon; retrying");
                set_connected(&weak, false);
                tokio::time::sleep(Duration::from_secs(2)).await;
                continue;
            }
        };
        // The diary's function question, asked after a prompted pain score.
        match proxy.diary_question().await {
            Ok((question, answers)) => {
                let _ = weak.upgrade_in_event_loop(move |ui| {
                    super::show_diary_question(&ui, &question, answers);
                });
            }
            Err(e) => tracing::warn!(error = %e, "no diary question"),
        }
        let mut refresh = tokio::time::interval(Duration::from_millis(500));
        let mut token = String::new();
        loop {
            tokio::select! {
                _ = refresh.tick() => {
                    let status = proxy.status_json().await.map(|j| serde_json::from_str::<Status>(&j));
                    match status {
                        Ok(Ok(s)) => {
                            let _ = weak.upgrade_in_event_loop(move |ui| apply_status(&ui, &s, true));
                        }
                        Ok(Err(e)) => tracing::error!(error = %e, "unreadable status"),
                        Err(e) => {
                            tracing::warn!(error = %e, "lost the pump daemon");
                            set_connected(&weak, false);
                            break;
                        }
                    }
                }
                command = commands.recv() => {
                    let Some(command) = command else { return };
                    let done = |r: Result<(), PumpError>, ok: &str| r.map(|()| ok.to_owned()).unwrap_or_else(words);
                    let message = match command {
                        UiCommand::Wizard(request, link) => {
                            let reply = ask(&proxy, &token, &request).await;
                            let _ = weak.upgrade_in_event_loop(move |ui| {
                                wizard_reply(&ui, &link.wizard, reply, &|r| link.send(r));
                            });
                            refresh.reset_immediately();
                            continue;
                        }
                        UiCommand::Bolus => proxy.request_bolus().await.unwrap_or_else(words),
                        UiCommand::Pain(n) => done(proxy.record_pain(n).await, &format!("Thank you — pain {n} recorded.")),
                        UiCommand::Function(n) => done(proxy.record_function(n).await, "Thank you — your answer is recorded."),
                        UiCommand::Pgic(n) => done(proxy.record_pgic(n).await, "Thank you — your answer is recorded."),
                        UiCommand::SideEffect(effect, severity) => done(
                            proxy.record_side_effect(&effect, &severity).await,
                            "Thank you — your nurse will see it.",
                        ),
                        UiCommand::Login(pin) => {
                            match proxy.login(&pin).await {
                                Ok((t, role, name)) => {
                                    token = t;
                                    let _ = weak.upgrade_in_event_loop(move |ui| set_staff(&ui, &name, &role));
                                }
                                Err(e) => {
                                    let text = words(e);
                                    let _ = weak.upgrade_in_event_loop(move |ui| ui.global::<Pump>().set_pin_message(text.into()));
                                }
                            }
                            refresh.reset_immediately();
                            continue;
                        }
                        UiCommand::Logout => {
                            let _ = proxy.logout(&token).await;
                            token.clear();
                            let _ = weak.upgrade_in_event_loop(move |ui| set_staff(&ui, "", ""));
                            continue;
                        }
                        UiCommand::Pause => done(proxy.pause(&token).await, "Delivery paused."),
                        UiCommand::Resume => {
                            let _ = proxy.acknowledge_alarms(&token).await;
                            done(proxy.resume(&token).await, "Delivery resumed.")
                        }
                        UiCommand::Silence => match proxy.silence_alarms(&token, 0).await {
                            Ok(s) => format!("Alarm tones paused for {} minutes.", s / 60),
                            Err(e) => words(e),
                        },
                        UiCommand::Acknowledge => done(proxy.acknowledge_alarms(&token).await, "Alarms acknowledged."),
                        UiCommand::ChangeReservoir(ml) => done(
                            proxy.change_reservoir(&token, &format!("{ml} mL")).await,
                            &format!("New syringe of {ml} mL recorded. Resume delivery when ready."),
                        ),
                        UiCommand::Observation(poss, rr, hr, spo2, temperature) => {
                            observe(&proxy, &token, poss, (rr, hr, spo2), &temperature).await
                        }
                        UiCommand::SiteCheck(temperature, findings) => site_check(&proxy, &token, &temperature, &findings).await,
                        UiCommand::Spasticity(score, muscles) => done(
                            proxy.record_spasticity(&token, &score, &muscles).await,
                            &super::spasticity_recorded(&score, &muscles),
                        ),
                        UiCommand::Decision { outcome, reasons, wish, implant } => done(
                            proxy.record_decision(&token, &outcome, &reasons, &wish, &implant).await,
                            "Decision recorded.",
                        ),
                        UiCommand::CatheterRemoval(note) => done(
                            proxy.record_catheter_removal(&token, &note).await,
                            "Catheter removal recorded.",
                        ),
                        UiCommand::LoadChecklist => load_checklist(&proxy, &token, &weak).await,
                        UiCommand::ConfirmItem(id) => match proxy.confirm_checklist_item(&token, &id).await {
                            Ok(open) => {
                                let shown = load_checklist(&proxy, &token, &weak).await;
                                if !shown.is_empty() {
                                    shown
                                } else if open.is_empty() {
                                    "Every item is confirmed: delivery can start.".to_owned()
                                } else {
                                    format!("Confirmed. {} still open.", open.len())
                                }
                            }
                            Err(e) => words(e),
                        },
                        UiCommand::ReviewSedation(note) => done(
                            proxy.review_sedation(&token, &note).await,
                            "Review recorded: the hold is lifted. A nurse may resume delivery.",
                        ),
                        UiCommand::CheckBasal(dose) => {
                            match proxy.check_basal(&dose).await {
                                Ok((class, findings, old, new)) => {
                                    let _ = weak.upgrade_in_event_loop(move |ui| {
                                        super::show_basal_check(&ui, &class, &findings, &old, &new);
                                    });
                                    String::new()
                                }
                                Err(e) => words(e),
                            }
                        }
                        UiCommand::ChangeBasal(dose, pin, confirm) => {
                            // `confirm` is what the clinician was shown: settings marked for
                            // confirmation on the screen. Anything the daemon finds beyond it
                            // is refused, never confirmed on the clinician's behalf.
                            match proxy.change_basal(&token, &dose, confirm, &pin).await {
                                Ok((old, new)) => {
                                    // Nothing left to confirm: the next change starts over.
                                    let _ = weak.upgrade_in_event_loop(|ui| super::show_basal_check(&ui, "", &[], "", ""));
                                    format!("Basal changed from {old} to {new}.")
                                }
                                Err(e) => words(e),
                            }
                        }
                        // A bolus trial's chart is the response to each bolus; a continuous
                        // trial's the dose and pain since the start.
                        UiCommand::Chart => match proxy.bolus_response().await {
                            Ok(r) if r.bolus_trial => {
                                let c = super::course_chart(&r);
                                let _ = weak.upgrade_in_event_loop(move |ui| super::show_course_chart(&ui, &c));
                                String::new()
                            }
                            _ => chart(&proxy, &weak).await,
                        },
                        UiCommand::LoadExport => load_export(&proxy, &token, &weak).await,
                        UiCommand::ConfirmImplant(dose, reason) => match proxy.confirm_implant_dose_with_reason(&token, &dose, &reason).await {
                            Ok((per_day, ml)) => {
                                let _ = load_export(&proxy, &token, &weak).await;
                                format!("Starting dose {per_day} ({ml}) confirmed.")
                            }
                            Err(e) => words(e),
                        },
                        UiCommand::SystemicOpioids(typed) => done(
                            proxy.record_systemic_opioids(&token, &super::opioids_entry(&typed)).await,
                            &super::opioids_recorded(&typed),
                        ),
                        UiCommand::Export => match proxy.export(&token, "pdf,json,csv", "a4").await {
                            Ok((to, files)) => format!("Saved {} files to {to}.", files.len()),
                            Err(e) => words(e),
                        },
                        UiCommand::EndTrial(outcome) => {
                            let assessed = if outcome.is_empty() {
                                Ok(())
                            } else {
                                proxy.record_assessment(&token, &outcome, "").await
                            };
                            match assessed {
                                Ok(()) => done(proxy.end_trial(&token).await, "The trial has ended. Disconnect the line from the catheter."),
                                Err(e) => words(e),
                            }
                        }
                    };
                    let _ = weak.upgrade_in_event_loop(move |ui| show_message(&ui, &message));
                    refresh.reset_immediately();
                }
            }
        }
        if matches!(daemon, Daemon::Connection(_)) {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
