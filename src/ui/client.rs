//! Keeps the window in step with the daemon: refreshes the screen from `StatusJson` twice a
//! second, carries the buttons' calls, and shows "not connected" and reconnects when the daemon
//! goes away (delivery never depends on the UI).

use std::time::Duration;

use slint::ComponentHandle;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use zbus::Connection;

use super::{MainWindow, Pump, apply_status, set_staff, show_message};
use crate::service::dbus::Pump1Proxy;
use crate::service::pump::Status;

/// A button's call for the daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UiCommand {
    Bolus,
    Pain(u8),
    SideEffect(String, String),
    Login(String),
    Logout,
    Pause,
    Resume,
    Silence,
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
}

async fn connect(daemon: &Daemon) -> zbus::Result<Connection> {
    match daemon {
        Daemon::Connection(c) => Ok(c.clone()),
        Daemon::Bus(bus) => crate::service::dbus::bus_builder(bus).build().await,
    }
}

/// The text of a D-Bus error, as the daemon wrote it for people.
fn words(e: zbus::Error) -> String {
    match e {
        zbus::Error::MethodError(_, Some(text), _) => text,
        other => format!("The pump did not answer ({other})."),
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
                    let done = |r: zbus::Result<()>, ok: &str| r.map(|()| ok.to_owned()).unwrap_or_else(words);
                    let message = match command {
                        UiCommand::Bolus => proxy.request_bolus().await.unwrap_or_else(words),
                        UiCommand::Pain(n) => done(proxy.record_pain(n).await, &format!("Thank you — pain {n} recorded.")),
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
