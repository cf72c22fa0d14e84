//! Keeps the window in step with the daemon: refreshes the screen from `StatusJson` twice a
//! second, carries out the screens' [`UiCommand`]s, and shows "not connected" and reconnects
//! when the daemon goes away (delivery never depends on the UI).

mod staff;

use std::time::Duration;

use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::Interval;
use zbus::Connection;

use super::MainWindow;
use super::adapters::{app, apply_status, patient, wizard};
use super::command::{Pin, UiCommand, WizardLink};
use super::present::login::{staff_of_wire, stopped};
use super::present::staff::role_of;
use super::present::wizard::{Reply, Request};
use crate::core::lang::{self, Language};
use crate::core::tr;
use crate::service::dbus::{Pump1Proxy, PumpError};
use crate::service::wire::Status;

/// Where the daemon is.
pub enum Daemon {
    /// On a bus ("system", "session" or an address): reconnect when it goes away.
    Bus(String),
    /// An open (peer-to-peer) connection, for the desktop demo.
    Connection(Connection),
}

/// How long the daemon may be out of reach before every screen says the pump is not running:
/// longer than systemd takes to restart it (RestartSec=1s, and its start-up), short enough that
/// a nurse looking at the screen is not misled for long.
pub const GONE_AFTER: Duration = Duration::from_secs(5);

/// Since when the daemon has been out of reach; once that is longer than [`GONE_AFTER`], says
/// so on the screen.
fn note_lost(lost_since: &mut Option<tokio::time::Instant>, weak: &slint::Weak<MainWindow>) {
    let since = *lost_since.get_or_insert_with(tokio::time::Instant::now);
    if since.elapsed() >= GONE_AFTER {
        let _ = weak.upgrade_in_event_loop(|ui| app::show_daemon_gone(&ui));
    }
}

/// Follows the daemon until the window closes.
pub async fn follow(
    daemon: Daemon,
    weak: slint::Weak<MainWindow>,
    mut commands: UnboundedReceiver<UiCommand>,
) {
    let mut lost_since = None;
    loop {
        let Some(proxy) = reach(&daemon, &weak).await else {
            note_lost(&mut lost_since, &weak);
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        };
        show_diary_question(&proxy, &weak).await;
        show_staff(&proxy, &weak).await;
        let mut session = Session {
            proxy,
            token: String::new(),
            weak: weak.clone(),
            answered: false,
        };
        if session.serve(&mut commands).await == Served::WindowClosed {
            return;
        }
        if session.answered {
            lost_since = None;
        }
        note_lost(&mut lost_since, &weak);
        if matches!(daemon, Daemon::Connection(_)) {
            // Nothing to reconnect to: the screen still says, once the wait is over, that the
            // pump is not running.
            tokio::time::sleep(GONE_AFTER).await;
            note_lost(&mut lost_since, &weak);
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

/// The staff the PIN pads offer (fetched once per connection: the daemon reads its users at
/// start-up).
async fn show_staff(proxy: &Pump1Proxy<'_>, weak: &slint::Weak<MainWindow>) {
    match proxy.list_staff().await {
        Ok(list) => {
            let staff = staff_of_wire(list);
            let _ = weak.upgrade_in_event_loop(move |ui| app::show_staff(&ui, &staff));
        }
        Err(e) => tracing::warn!(error = %e, "no list of staff"),
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
    /// The daemon answered at least once on this connection.
    answered: bool,
}

/// The text of a D-Bus error, as the daemon wrote it for people.
fn words(e: PumpError) -> String {
    match e {
        PumpError::ZBus(zbus::Error::MethodError(_, Some(text), _)) => text,
        PumpError::ZBus(other) => tr!("The pump did not answer ({error}).", error = other),
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
    async fn refresh(&mut self) -> bool {
        let status = self
            .proxy
            .status_json()
            .await
            .map(|j| serde_json::from_str::<Status>(&j));
        match status {
            Ok(Ok(s)) => {
                self.answered = true;
                // The UI's own texts in the pump's language, from here on (the screens'
                // bundled translations follow in apply_status, on the UI's thread).
                if let Some(language) = s.language {
                    crate::core::lang::set(language);
                }
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
            UiCommand::Login(user, pin) => {
                self.login(&user, &pin).await;
                After::Refresh
            }
            UiCommand::Logout => {
                // The window forgets the login whatever the daemon says: a session it no longer
                // knows (ended after 3 minutes idle) has nothing left to end.
                if let Err(e) = self.proxy.logout(&self.token).await {
                    // The engineers' log is in English.
                    let error = lang::with(Language::English, || words(e));
                    tracing::info!(error = %error, "logout");
                }
                self.token.clear();
                let _ = self.weak.upgrade_in_event_loop(|ui| app::log_out(&ui));
                After::Nothing
            }
            UiCommand::StopDelivery => {
                let answer = done(self.proxy.stop_delivery().await, stopped());
                let _ = self
                    .weak
                    .upgrade_in_event_loop(move |ui| app::show_pin_answer(&ui, &answer));
                After::Refresh
            }
            UiCommand::Bolus
            | UiCommand::Pain(_)
            | UiCommand::Function(_)
            | UiCommand::SkipFunction
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
                verifier,
                verifier_pin,
            } => done(
                proxy
                    .start_trial(token, program, *confirm, verifier, verifier_pin.digits())
                    .await,
            ),
            Request::Prime => done(proxy.prime(token).await),
            Request::Start => done(proxy.start(token).await),
            Request::Close => Reply::Done,
        }
    }

    /// Logs user `user` in with their PIN: the staff screen, or the refusal.
    async fn login(&mut self, user: &str, pin: &Pin) {
        match self.proxy.login(user, pin.digits()).await {
            Ok((token, role, name)) => {
                self.token = token;
                let _ = self
                    .weak
                    .upgrade_in_event_loop(move |ui| match role_of(&role) {
                        Some(role) => app::log_in(&ui, &name, role),
                        None => app::show_pin_answer(&ui, &tr!("Unknown role \"{role}\".", role)),
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
                &tr!("Thank you — pain {n} recorded.", n),
            ),
            UiCommand::Function(n) => done(
                proxy.record_function(n).await,
                tr!("Thank you — your answer is recorded."),
            ),
            // Nothing to thank for: the screen has moved on already.
            UiCommand::SkipFunction => match proxy.skip_function().await {
                Ok(()) => String::new(),
                Err(e) => words(e),
            },
            UiCommand::Pgic(n) => done(
                proxy.record_pgic(n).await,
                tr!("Thank you — your answer is recorded."),
            ),
            UiCommand::SideEffect(effect, severity) => done(
                proxy.record_side_effect(&effect, &severity).await,
                tr!("Thank you — your nurse will see it."),
            ),
            other => misrouted(&other),
        }
    }
}
