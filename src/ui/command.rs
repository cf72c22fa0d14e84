//! What the screens ask of the daemon: a [`UiCommand`] per button, sent by the adapters
//! (src/ui/adapters/) and carried out by the client (src/ui/client/), which answers in the
//! window.

use std::sync::{Arc, Mutex};

use tokio::sync::mpsc::UnboundedSender;

use super::present::wizard::{Request, Wizard};

/// A button's call for the daemon.
#[derive(Debug, Clone)]
pub enum UiCommand {
    /// The start-trial wizard asks; the answer goes back to that wizard.
    Wizard(Request, WizardLink),
    Bolus,
    Pain(u8),
    /// The answer to the diary's function question (1 = the first).
    Function(u8),
    /// The patient left the function question for now ("Not now").
    SkipFunction,
    /// The patient's global impression of change, 1–7.
    Pgic(u8),
    SideEffect(String, String),
    /// The user ID picked on the PIN pad, and the PIN.
    Login(String, Pin),
    Logout,
    /// "Stop delivery" on the login screen: no login needed (resuming needs one).
    StopDelivery,
    Pause,
    Resume,
    /// The scheduled bolus held while delivery was stopped: give it (true) or skip it.
    DecideHeld(bool),
    Acknowledge,
    Silence,
    /// A new syringe of this many mL.
    ChangeReservoir(String),
    /// POSS (0: not taken), respiratory rate (None: not taken; 0 is apnoea), heart rate and
    /// SpO2 (0: not taken), the temperature as typed ("": not taken).
    Observation(u8, Option<u16>, u16, u8, String),
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
    /// The new basal dose, the second person's user ID and PIN, and whether the screen showed
    /// settings to confirm (which pressing Confirm confirms).
    ChangeBasal {
        dose: String,
        verifier: String,
        pin: Pin,
        confirm: bool,
    },
    /// A program change during the trial, as the program's own settings (TOML), checked before
    /// anyone confirms.
    CheckProgramChange(String),
    /// The change, the second person's user ID and PIN, and whether the screen showed settings
    /// to confirm (which pressing Confirm confirms).
    ChangeProgram {
        changes: String,
        verifier: String,
        pin: Pin,
        confirm: bool,
    },
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

/// A PIN on its way to the daemon. Its `Debug` shows no digit, so that a command or a request
/// written to a log never carries one.
#[derive(Clone, PartialEq, Eq)]
pub struct Pin(String);

impl Pin {
    pub fn new(pin: impl Into<String>) -> Pin {
        Pin(pin.into())
    }

    /// The digits, for the daemon only.
    pub fn digits(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Pin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pin(…)")
    }
}

/// Where the screens' commands go: the client's channel. A command sent after the client
/// stopped is dropped: the window is closing then.
#[derive(Clone)]
pub struct Commands(UnboundedSender<UiCommand>);

impl Commands {
    pub fn new(tx: UnboundedSender<UiCommand>) -> Commands {
        Commands(tx)
    }

    pub fn send(&self, command: UiCommand) {
        let _ = self.0.send(command);
    }

    /// A callback that sends `command` each time it is called.
    pub fn sender(&self, command: UiCommand) -> impl Fn() + 'static {
        let commands = self.clone();
        move || commands.send(command.clone())
    }
}

/// The wizard's state, shared by the window's callbacks and the task that talks to the daemon.
pub type SharedWizard = Arc<Mutex<Wizard>>;

/// A wizard and the way back to the daemon task, carried with each of its requests.
#[derive(Clone)]
pub struct WizardLink {
    wizard: SharedWizard,
    commands: Commands,
}

impl std::fmt::Debug for WizardLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WizardLink")
    }
}

impl WizardLink {
    pub fn new(wizard: SharedWizard, commands: Commands) -> WizardLink {
        WizardLink { wizard, commands }
    }

    /// The wizard whose request this is.
    pub fn wizard(&self) -> &SharedWizard {
        &self.wizard
    }

    /// Sends the wizard's request to the daemon task; its answer comes back to this wizard.
    pub fn send(&self, r: Request) {
        self.commands.send(UiCommand::Wizard(r, self.clone()));
    }
}
