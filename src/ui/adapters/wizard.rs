//! `WizardAdapter` (ui/pages/wizard.slint): the start-trial wizard's view, its buttons, and
//! its requests to the daemon and their answers.

use std::sync::{Arc, Mutex, MutexGuard};

use slint::ComponentHandle;

use super::{mark, model, strings};
use crate::core::tr;
use crate::core::units::Timestamp;
use crate::service::pump::{PumpService, ServiceError};
use crate::ui::command::{Commands, SharedWizard, WizardLink};
use crate::ui::present::wizard::{Layout, NoteKind, Reply, Request, Wizard, WizardView};
use crate::ui::{
    AppState, MainWindow, Nav, NoteKind as WNoteKind, StaffAdapter, WField, WGroup, WNote, WOption,
    WizardAdapter, WizardLayout,
};

fn lock(w: &SharedWizard) -> MutexGuard<'_, Wizard> {
    // A panic while holding the lock leaves a wizard that is still consistent enough to show.
    w.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn layout(layout: Layout) -> WizardLayout {
    match layout {
        Layout::Keyboard => WizardLayout::Keyboard,
        Layout::Choices => WizardLayout::Choices,
        Layout::Fields => WizardLayout::Fields,
        Layout::Review => WizardLayout::Review,
        Layout::Pin => WizardLayout::Pin,
        Layout::Action => WizardLayout::Action,
    }
}

fn note_kind(kind: NoteKind) -> WNoteKind {
    match kind {
        NoteKind::Info => WNoteKind::Info,
        NoteKind::Soft => WNoteKind::Soft,
        NoteKind::Hard => WNoteKind::Hard,
    }
}

/// Copies the wizard's view into the window.
pub fn show_wizard(ui: &MainWindow, v: &WizardView) {
    let w = ui.global::<WizardAdapter>();
    w.set_step(i32::try_from(v.step).unwrap_or(0));
    w.set_steps(i32::try_from(v.steps).unwrap_or(0));
    w.set_title(v.title.clone().into());
    w.set_layout(layout(v.layout));
    w.set_text(v.text.clone().into());
    w.set_groups(model(
        v.groups
            .iter()
            .map(|g| WGroup {
                key: g.key.clone().into(),
                title: g.title.clone().into(),
                value: g.value.clone().into(),
                rows: model(
                    crate::ui::present::wizard::option_rows(&g.options)
                        .into_iter()
                        .map(|row| {
                            model(
                                row.into_iter()
                                    .map(|o| WOption {
                                        key: o.key.into(),
                                        label: o.label.into(),
                                        selected: o.selected,
                                    })
                                    .collect(),
                            )
                        })
                        .collect(),
                ),
            })
            .collect(),
    ));
    w.set_fields(model(
        v.fields
            .iter()
            .map(|f| WField {
                key: f.key.clone().into(),
                label: f.label.clone().into(),
                value: f.value.clone().into(),
                unit: f.unit.clone().into(),
                mark: mark(f.mark),
                selected: f.selected,
            })
            .collect(),
    ));
    w.set_notes(model(
        v.notes
            .iter()
            .map(|n| WNote {
                kind: note_kind(n.kind),
                text: n.text.clone().into(),
            })
            .collect(),
    ));
    w.set_lines(strings(v.lines.clone()));
    w.set_can_next(v.can_next);
    w.set_next_label(v.next_label.clone().into());
    w.set_can_back(v.can_back);
    w.set_busy(v.busy);
}

/// Shows the wizard after a change and passes its request on; closing goes back to the staff
/// screen.
fn after(ui: &MainWindow, wizard: &SharedWizard, request: Option<Request>, send: &dyn Fn(Request)) {
    let view = lock(wizard).view();
    show_wizard(ui, &view);
    match request {
        Some(Request::Close) => {
            ui.global::<Nav>().invoke_go("staff".into());
            ui.global::<AppState>()
                .set_message(tr!("Delivery started.").into());
        }
        Some(r) => send(r),
        None => {}
    }
}

/// Hands a daemon's answer to the wizard and shows the result.
pub fn wizard_reply(ui: &MainWindow, wizard: &SharedWizard, reply: Reply, send: &dyn Fn(Request)) {
    let request = lock(wizard).reply(reply);
    after(ui, wizard, request, send);
}

/// Answers a wizard's request from a pump service in the same process (the UI tests and the
/// screenshots; the real UI goes through D-Bus, whose methods call the same service functions).
pub fn answer_directly(
    service: &mut PumpService,
    token: &str,
    now: Timestamp,
    request: &Request,
) -> Reply {
    let done = |r: Result<(), ServiceError>| {
        r.map_or_else(|e| Reply::Failed(e.to_string()), |()| Reply::Done)
    };
    match request {
        Request::Library => Reply::Library(service.library_choices()),
        Request::Validate {
            generation,
            program,
        } => match service.validate(program) {
            Ok(report) => {
                let (class, findings) = crate::service::wire::verdict_wire(&report.verdict);
                Reply::Findings {
                    generation: *generation,
                    class,
                    findings,
                }
            }
            Err(e) => Reply::Invalid {
                generation: *generation,
                message: e.to_string(),
            },
        },
        Request::StartTrial {
            program,
            confirm,
            verifier,
            verifier_pin,
        } => done(service.start_trial(
            token,
            program,
            *confirm,
            (verifier, verifier_pin.digits()),
            now,
        )),
        Request::Prime => done(service.prime(token, now)),
        Request::Start => done(service.start(token, now)),
        Request::Close => Reply::Done,
    }
}

/// Connects the wizard's buttons, and the staff screen's button that opens it; `send` carries
/// its requests to the daemon (whose answers come back through [`wizard_reply`]).
pub fn wire_wizard(
    ui: &MainWindow,
    wizard: SharedWizard,
    send: impl Fn(Request) + Clone + 'static,
) {
    let w = ui.global::<WizardAdapter>();
    // Each callback: change the wizard (lock released before anything is sent, as an answer
    // may come back at once), show it, send what it asks.
    macro_rules! on {
        ($set:ident, |$wz:ident $(, $arg:ident)*| $body:expr) => {{
            let wizard = wizard.clone();
            let send = send.clone();
            let weak = ui.as_weak();
            w.$set(move |$($arg),*| {
                let Some(ui) = weak.upgrade() else { return };
                let request = {
                    let mut $wz = lock(&wizard);
                    $body
                };
                after(&ui, &wizard, request, &send);
            });
        }};
    }
    on!(on_key, |wz, k| wz.key(&k));
    on!(on_choose, |wz, group, key| wz.choose(&group, &key));
    on!(on_stepper, |wz, group, delta| wz.stepper(&group, delta));
    on!(on_select_field, |wz, key| {
        wz.select_field(&key);
        None
    });
    on!(on_next, |wz| wz.go_on());
    on!(on_back, |wz| {
        wz.back();
        None
    });
    on!(on_verify, |wz, user, pin| wz.verify(&user, &pin));
    {
        let weak = ui.as_weak();
        w.on_cancel(move || {
            if let Some(ui) = weak.upgrade() {
                ui.global::<Nav>().invoke_go("staff".into());
            }
        });
    }
    let weak = ui.as_weak();
    ui.global::<StaffAdapter>().on_open_wizard(move || {
        let Some(ui) = weak.upgrade() else { return };
        let setup = ui.global::<StaffAdapter>().get_setup();
        *lock(&wizard) = Wizard::open(super::staff::state(&ui), &setup);
        ui.global::<Nav>().invoke_go("wizard".into());
        after(&ui, &wizard, Some(Request::Library), &send);
    });
}

/// Connects the wizard to the client: its requests go to the daemon with the way back.
pub fn wire(ui: &MainWindow, commands: &Commands) {
    let wizard: SharedWizard = Arc::new(Mutex::new(Wizard::new()));
    let link = WizardLink::new(wizard.clone(), commands.clone());
    wire_wizard(ui, wizard, move |r| link.send(r));
}
